"""The learning curve: prefixes of one shuffle, measured on held-out rows; published figures on the model page."""
from __future__ import annotations

import json
import re

import numpy as np
from babel.numbers import format_decimal
from markupsafe import escape

from moderation.learning import training as learning
from moderation.learning.curve import PUBLISHED, SIZES, averaged, learning_curve, published
from tests.test_admin import admin, app  # noqa: F401
from tests.test_models import SMALL, synthetic


def dataset(n: int, seed: int) -> learning.Dataset:
    texts, y = synthetic(n, seed=seed)
    return learning.Dataset(texts, ("toxicity",), np.array(y, dtype=float)[:, None], ["s"] * n)


def test_curve_trains_on_growing_prefixes_and_measures_on_held_out_rows():
    pool, held = dataset(300, seed=1), dataset(80, seed=2)
    seen = []

    def baseline(part, test):
        seen.append(list(part.texts))
        assert test is held
        return {"n": len(test)}

    curve = learning_curve(pool, held, (6, 40, 120, 300, 301), seed=0, baseline=baseline, **SMALL)
    assert [r["decisions"] for r in curve] == [6, 40, 120, 300]  # a size beyond the pool is left out
    assert "error" in curve[0] and "site_model" not in curve[0]  # 6 rows: too few of a class to train
    assert all(r["site_model"]["n"] == len(held) for r in curve[1:])
    assert [len(t) for t in seen] == [40, 120, 300] and seen[1][:40] == seen[0] and sorted(seen[2]) == sorted(pool.texts)
    assert curve[-1]["site_model"]["roc_auc"] > 0.9 and curve[-1]["positives"] == int(pool.column().sum())
    assert learning_curve(pool, held, (40,), seed=0, **SMALL) == [{k: v for k, v in curve[1].items() if k != "baseline"}]


def test_published_curve_is_package_data_and_on_the_model_page(admin, tmp_path):  # noqa: F811
    assert published(tmp_path / "absent.json") == {}
    data = published()
    assert data["sizes"] == list(SIZES) and set(data["corpora"]) == {"rp-mod-crowd", "one-million-posts"}
    page = admin.get("/admin/model/").get_data(as_text=True)
    section = re.search(r'<section class="card" id="learning-curve">(.*?)</section>', page, re.S).group(1)
    def shown(value: float) -> str:  # as the page writes it: Babel rounds the decimal half to even (0.6985 -> 0.698)
        return format_decimal(value, format="#,##0.000", locale="en")

    for c in data["corpora"].values():
        assert str(escape(c["title"])) in section and shown(c["shipped"]["roc_auc"]) in section
        for r in c["curve"]:
            assert f'{r["decisions"]:,}' in section
            assert "site_model" not in r or shown(r["site_model"]["roc_auc"]) in section
            assert "site_model" not in r or shown(r["from_scratch"]["roc_auc"]) in section
    assert f"mean over {data['seeds']} orders" in section
    assert json.loads(PUBLISHED.read_text(encoding="utf-8")) == data


def test_few_positive_decisions_train_without_nb_ratios_and_many_with_them():
    """NB log-count ratios estimated from a handful of rejections are noise: below the floor, plain LR (issue 12)."""
    few = dataset(120, seed=3)
    many = dataset(2 * learning.NB_MIN_POSITIVES + 40, seed=4)
    assert few.column().sum() < learning.NB_MIN_POSITIVES <= many.column().sum()
    assert learning.train(few, **SMALL)[0].nb_alpha is None
    assert learning.train(many, **SMALL)[0].nb_alpha == 0.5
    assert learning.train(few, nb_alpha=2.0, **SMALL)[0].nb_alpha == 2.0  # an explicit choice is kept


def test_curves_of_several_shuffles_average_per_size_with_their_range():
    def run(auc, f1, positives, error=None):
        first = {"decisions": 100, "positives": positives, **({"error": error} if error else
                 {"site_model": {"n": 50, "roc_auc": auc, "f1_official": f1, "threshold": 0.5}})}
        return [first, {"decisions": 250, "positives": 2 * positives,
                        "site_model": {"n": 50, "roc_auc": auc + 0.1, "f1_official": f1, "threshold": 0.25},
                        "baseline": {"n": 50, "roc_auc": None}}]

    rows = averaged([run(0.6, 0.5, 10), run(0.7, 0.5, 13), run(0.8, 0.6, 16, error="too few")])
    assert rows[0] == {"decisions": 100, "positives": 13, "error": "too few"}  # one shuffle could not train: said
    site = rows[1]["site_model"]
    assert site["roc_auc"] == 0.8 and (site["roc_auc_min"], site["roc_auc_max"]) == (0.7, 0.9)
    assert site["f1_official"] == round((0.5 + 0.5 + 0.6) / 3, 4) and site["threshold"] == 0.25 and site["n"] == 50
    assert "threshold_min" not in site and rows[1]["baseline"] == {"n": 50, "roc_auc": None}  # missing stays missing
    assert averaged([run(0.6, 0.5, 10)])[1]["site_model"] == run(0.6, 0.5, 10)[1]["site_model"]  # one run: as it was
