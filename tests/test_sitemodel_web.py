"""Retraining the site model from the admin page: train, see new vs old, activate; admins only."""
from __future__ import annotations

import re

from moderation.assess.pipeline import Pipeline

from moderation.services.jobs import triage_stored
from moderation.rules import load_ruleset
from moderation.scoring.lexicon import LexiconScorer
from moderation.store import models_registry as registry
from tests.conftest import RULES
from tests.test_admin import admin, app, token  # noqa: F401
from tests.test_models import decided
from tests.test_web_auth import login


def test_retrain_compare_activate(admin, app, db):  # noqa: F811
    page = admin.get("/admin/model/").get_data(as_text=True)
    assert "0 decided comments" in page and "disabled" in page  # nothing to learn from yet
    refused = admin.post("/admin/model/train", data={"csrf_token": token(admin)}, follow_redirects=True)
    assert "Not trained: only 0 decided comments" in refused.get_data(as_text=True)

    decided(db)
    before = app.extensions["desk"].pipeline.scorer_versions.get("sklearn")
    response = admin.post("/admin/model/train", data={"csrf_token": token(admin)})
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/model/?version=site-1")
    page = admin.get("/admin/model/?version=site-1").get_data(as_text=True)
    comparison = re.search(r'<section class="card" id="comparison">(.*?)</section>', page, re.S).group(1)
    assert "active (old)" in comparison and "candidate (new)" in comparison
    with db.session() as s:
        metrics = registry.get(s, "site-1").metrics
        assert not registry.get(s, "site-1").active
    assert metrics["candidate"]["n"] > 0 and app.extensions["desk"].pipeline.scorer_versions.get("sklearn") == before
    assert metrics["candidate_not_worse"]  # learnt from this site's own decisions, it beats the shipped model here
    admin.post("/admin/model/site-1/activate", data={"csrf_token": token(admin)})
    with db.session() as s:
        assert registry.get(s, "site-1").active
        assert [(a["action"], a["actor"]) for a in registry.history(s)] == [("activate", "ad")]
    assert app.extensions["desk"].pipeline.scorer_versions["sklearn"].startswith("site-1")
    page = admin.get("/admin/model/").get_data(as_text=True)
    assert "activate site-1 (was shipped model)" in page and "Roll back to the shipped model" in page
    admin.post("/admin/model/rollback", data={"csrf_token": token(admin)})
    with db.session() as s:
        assert registry.active(s) is None
        assert [(a["action"], a["actor"]) for a in registry.history(s)][0] == ("rollback", "ad")
    assert app.extensions["desk"].pipeline.scorer_versions["sklearn"] == before


def test_model_page_is_for_admins_only(app):  # noqa: F811
    client = app.test_client()
    login(client, "mo", "moderator-pass")
    assert client.get("/admin/model/").status_code == 403
    assert client.post("/admin/model/train").status_code in (400, 403)


def test_a_worse_version_cannot_be_activated(admin, db):  # noqa: F811
    decided(db)
    admin.post("/admin/model/train", data={"csrf_token": token(admin)})
    with db.session() as s:
        row = registry.get(s, "site-1")
        row.metrics = {**row.metrics, "candidate_not_worse": False}
    page = admin.get("/admin/model/?version=site-1").get_data(as_text=True)
    assert "stays inactive" in page and "/admin/model/site-1/activate" not in page
    refused = admin.post("/admin/model/site-1/activate", data={"csrf_token": token(admin)}, follow_redirects=True)
    assert "Not activated: site-1 scored worse" in refused.get_data(as_text=True)
    with db.session() as s:
        assert not registry.get(s, "site-1").active


def test_whatif_replays_a_trained_version(admin, db):  # noqa: F811
    decided(db)
    rs = load_ruleset(RULES)
    triage_stored(db, Pipeline(rs, [LexiconScorer(rs)]))
    admin.post("/admin/model/train", data={"csrf_token": token(admin)})
    page = admin.get("/admin/whatif").get_data(as_text=True)
    assert ">site-1</option>" in page
    replayed = admin.post("/admin/whatif", data={"csrf_token": token(admin), "revision": "1", "model": "site-1"})
    body = replayed.get_data(as_text=True)
    assert replayed.status_code == 200 and "with model site-1" in body and 'id="whatif-summary"' in body
    assert admin.post("/admin/whatif", data={"csrf_token": token(admin), "revision": "1",
                                             "model": "nope"}).status_code == 400


def test_decision_counts_match_the_training_split(db):
    from moderation.learning import training as learning, sitemodel

    decided(db)
    assert sitemodel.decision_counts(db) == (len(learning.from_decisions(db)),
                                             len(learning.from_decisions(db, heldout=True)))


def test_the_activation_log_is_shown_once_in_the_page_body(admin):  # noqa: F811
    page = admin.get("/admin/model/").get_data(as_text=True)
    title = page[page.index("<title>"):page.index("</title>")]
    assert "<section" not in title and page.count('id="activations"') == 1


def _visible(page: str) -> str:
    """The text a person sees: tags removed (URLs in href and src are not shown)."""
    body = page[page.index("<main"):] if "<main" in page else page
    return re.sub(r"<script[^>]*>.*?</script>|<[^>]+>", " ", body, flags=re.S)


def test_the_model_page_shows_each_versions_accuracy_and_the_risk_orders_auc(admin, app, db):  # noqa: F811
    from moderation.research import aggregates
    from moderation.research.pseudonyms import for_config

    decided(db)
    triage_stored(db, Pipeline.from_config(app.extensions["desk"].config))
    admin.post("/admin/model/train", data={"csrf_token": token(admin)})
    aggregates.refresh(db, for_config(app.extensions["desk"].config))
    page = admin.get("/admin/model/").get_data(as_text=True)
    table = re.search(r'id="accuracy-table">(.*?)</table>', page, re.S).group(1)
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)[1:]
    assert len(rows) == 2 and "shipped-2-" in rows[0] and "site-1-" in rows[1]
    with db.session() as s:
        site = registry.get(s, "site-1").metrics["candidate"]
    cells = re.findall(r'<td class="num"[^>]*>([^<]*)</td>', rows[1])
    assert cells[-1] == str(site["n"]) and cells[-3] == f"{site['roc_auc']:.3f}"  # the comparison's own figure
    assert re.findall(r'<td class="num"[^>]*>([^<]*)</td>', rows[0])[0] == "0.906"  # from the shipped model's card
    auc = aggregates.read(db, aggregates.RISK_ORDER)[0]["auc"]
    assert re.search(r'id="risk-auc">([^<]+)<', page).group(1) == f"{auc:.3f}"
    assert 'data-chart="spec-learning-curve"' in page  # the learning curve as an interactive chart


def test_the_active_version_is_named_as_on_the_queue_cards(admin, app, db):  # noqa: F811
    decided(db)
    triage_stored(db, Pipeline.from_config(app.extensions["desk"].config))
    with db.session() as s:
        from sqlalchemy import select

        from moderation.store import TriageResult

        recorded = s.scalars(select(TriageResult.scorer_versions)).first()["sklearn"]
    page = admin.get("/admin/model/").get_data(as_text=True)
    assert re.search(r'id="active-name">([^<]+)<', page).group(1) == recorded


def test_the_model_page_shows_no_filesystem_path(admin, app, db, tmp_path):  # noqa: F811
    """Neither the card's sources, nor a load error, nor a comparison on a file name where files lie."""
    decided(db)
    admin.post("/admin/model/train", data={"csrf_token": token(admin)})
    with db.session() as s:
        row = registry.get(s, "site-1")
        row.metrics = {**row.metrics, "data": str(tmp_path / "private" / "labelled.csv")}
    for url in ("/admin/model/", "/admin/model/?version=site-1"):
        seen = _visible(admin.get(url).get_data(as_text=True))
        assert not re.search(r"(?:^|\s)(?:~|\.{1,2})?/[\w.-]+/", seen), re.search(r"\S*/\S*/\S*", seen)
        assert str(tmp_path) not in seen and "SOURCE.md" not in seen
    assert "labelled.csv" in _visible(admin.get("/admin/model/?version=site-1").get_data(as_text=True))
    the_desk = app.extensions["desk"]
    the_desk.config = the_desk.config.model_copy(update={"model_path": tmp_path / "private" / "missing.npz"})
    seen = _visible(admin.get("/admin/model/").get_data(as_text=True))
    assert "missing.npz" in seen and str(tmp_path) not in seen
