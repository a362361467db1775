"""Learning from day one: imported archives give labelled decisions; retraining activates only a better model."""
from __future__ import annotations

import json
import random
from pathlib import Path

from click.testing import CliRunner

from moderation.cli import main
from moderation.importers import parse
from moderation.learning import training as learning
from moderation.scoring.estimator import load_model
from moderation.scoring.sklearn import PACKAGE_MODEL
from moderation.store import models_registry as registry
from tests.conftest import RULES
from tests.test_store import batch, load

FIXTURES = Path(__file__).parent / "fixtures" / "importers"


def labels_by_text(data: learning.Dataset) -> dict[str, int]:
    return {t: int(v) for t, v in zip(data.texts, data.column("toxicity"))}


def everything(db) -> learning.Dataset:
    return learning.Dataset.concat([learning.from_decisions(db), learning.from_decisions(db, heldout=True)])


def test_archive_statuses_become_labelled_decisions(db):
    wxr, disqus = parse(FIXTURES / "wxr_1_1_mixed.xml"), parse(FIXTURES / "disqus.xml")
    load(db, wxr)
    load(db, disqus)
    got = everything(db)
    expected, empty = {}, 0
    for record in wxr.comments + disqus.comments:
        status = record.source_status
        if not record.text.strip() and status in ("spam", "trash", "post-trashed", "deleted", "approved"):
            empty += 1  # a labelled comment without text: skipped and counted
        elif status in ("spam", "trash", "post-trashed", "deleted"):
            expected[record.text] = 1
        elif status == "approved":
            expected[record.text] = 0  # published at the source: approved from day one
    assert {1, 0} <= set(expected.values()) and any(r.source_status == "pending" for r in wxr.comments)
    assert got.skipped_empty == empty == 1
    assert labels_by_text(got) == expected  # pending (WXR 0) comments carry no decision and are left out


def test_csv_decisions_are_labels_and_a_later_human_decision_wins(db):
    load(db, parse(FIXTURES / "comments.csv"))
    decided = {r.text: r.decision for r in parse(FIXTURES / "comments.csv").comments if r.decision}
    assert labels_by_text(everything(db)) == {t: int(d == "rejected") for t, d in decided.items()}


def test_empty_texts_are_skipped_and_counted(db, tmp_path):
    rows = [(f"e{i}", None, text, decision) for i, (text, decision) in
            enumerate([("Du Depp", "rejected"), ("", "approved"), ("  ", "rejected"), ("Danke", "approved")])]
    load(db, batch(rows))
    data = everything(db)
    assert sorted(data.texts) == ["Danke", "Du Depp"] and data.skipped_empty == 2
    path = tmp_path / "train.csv"
    path.write_text("text,label\nDu Depp,1\n,0\n\"  \",1\nDanke,0\n", encoding="utf-8")
    labelled = learning.read_labelled(path)
    assert labelled.texts == ["Du Depp", "Danke"] and labelled.skipped_empty == 2
    only_empty = tmp_path / "empty.csv"
    only_empty.write_text("text,label\n,0\n", encoding="utf-8")
    try:
        learning.read_labelled(only_empty)
    except learning.DataError as exc:
        assert "no rows with text (1 empty)" in str(exc)
    else:
        raise AssertionError("a file without any text must be refused")


def off_topic(n: int, seed: int) -> list[tuple[str, int]]:
    """This site's moderators reject football talk under politics articles: no toxic words, so the shipped
    toxicity model cannot know it, a site model can."""
    rnd = random.Random(seed)
    ball = ["Der {c} hat gestern wieder verloren, der Trainer muss weg.", "Tor in der {m}. Minute, was für ein Spiel!",
            "Wer hat das Derby gesehen? Der {c} war stark."]
    topic = ["Die Reform der {p} kommt viel zu spät.", "Gute Analyse zur {p}, danke für den Artikel.",
             "Ich sehe die {p} skeptisch, die Zahlen überzeugen nicht."]
    rows = []
    for i in range(n):
        label = i % 3 == 0
        template = rnd.choice(ball if label else topic)
        rows.append((template.format(c=rnd.choice(["FC", "BVB", "HSV", "VfB"]), m=rnd.randint(1, 90),
                                     p=rnd.choice(["Rente", "Steuer", "Pflege", "Bahn"])) + f" #{i}", int(label)))
    return rows


def test_train_from_decisions_activates_only_a_model_that_beats_the_active_one(db, tmp_path, monkeypatch):
    monkeypatch.setenv("MODERATION_INSTANCE_PATH", str(tmp_path / "instance"))
    rows = off_topic(240, seed=1) + [("", 0), (" ", 1)]
    load(db, batch([(f"d{i}", None, text, "rejected" if label else "approved") for i, (text, label) in enumerate(rows)]))
    base = ["--database", db.url, "--rules", str(RULES), "model"]

    def run(*args):
        out = CliRunner().invoke(main, [*base, *args], catch_exceptions=False)
        assert out.exit_code == 0, out.output
        return out

    first = json.loads(run("train", "--from-decisions", "--json").output)
    assert everything(db).skipped_empty == 2  # of the training part, the held-out fifth skips its own
    assert first["skipped_empty"] == learning.from_decisions(db).skipped_empty > 0 and first["rows"] > 150
    cmp = first["comparison"]
    shipped = load_model(PACKAGE_MODEL)[1]["version"]
    assert cmp["active"]["model"] == shipped and cmp["candidate"]["roc_auc"] > cmp["active"]["roc_auc"]
    assert first["activated"] and cmp["candidate_beats"]
    # The same decisions again: an equal model does not beat the active one, so it stays inactive.
    second = run("train", "--from-decisions")
    assert "does not beat site-1 on held-out decisions: kept inactive" in second.output
    listed = {r["version"]: r["active"] for r in json.loads(run("list", "--json").output)}
    assert listed == {"site-1": True, "site-2": False}
    kept = json.loads(run("train", "--from-decisions", "--keep-inactive", "--json").output)
    assert "comparison" not in kept and kept["version"] == "site-3"


def test_a_site_model_takes_the_shipped_models_score_as_prior_and_trains_without_it_when_it_cannot(
        db, tmp_path, monkeypatch):
    monkeypatch.setenv("MODERATION_INSTANCE_PATH", str(tmp_path / "instance"))
    rows = off_topic(150, seed=2)
    load(db, batch([(f"p{i}", None, text, "rejected" if label else "approved")
                    for i, (text, label) in enumerate(rows)]))
    base = ["--database", db.url, "--rules", str(RULES), "model", "train", "--from-decisions", "--keep-inactive"]

    def train(*args):
        out = CliRunner().invoke(main, [*base, *args], catch_exceptions=False)
        assert out.exit_code == 0, out.output
        return out.output

    shipped = load_model(PACKAGE_MODEL)[1]["version"]
    stacked = json.loads(train("--json"))["prior"]
    assert stacked["model"] == shipped and isinstance(stacked["weights"]["toxicity"], float)
    assert f"weight of {shipped}'s score in it:" in train()
    assert json.loads(train("--no-prior", "--json"))["prior"] == {"model": None, "why": "not asked for"}
    broken = tmp_path / "default.npz"
    broken.write_bytes(b"PK\x03\x04 not a model")
    monkeypatch.setattr("moderation.learning.sitemodel.PACKAGE_MODEL", broken)
    output = train()
    assert "trained site-" in output and "no prior: the shipped model could not be loaded" in output
    with db.session() as session:
        cards = {row.version: row.card for row in registry.all_versions(session)}
    assert cards["site-1"]["prior"]["model"] == shipped and cards["site-4"]["prior"]["model"] is None
