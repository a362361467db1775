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
