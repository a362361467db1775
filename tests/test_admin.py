"""Rule tuning in the browser: editor errors at the line, revisions, activation, playground, what-if, roles."""
from __future__ import annotations

import re

import pytest

from moderation.config import Config
from moderation.assess.pipeline import Pipeline
from moderation.services.jobs import triage_stored
from moderation.scoring.lexicon import LexiconScorer
from moderation.store import revisions
from moderation.store.accounts import add_user
from tests.conftest import RULES
from tests.test_store import batch, load
from tests.test_web_auth import login
from web import create_app


@pytest.fixture
def app(db, tmp_path):
    app = create_app(Config(database_url=db.url, instance_path=tmp_path, rules_path=RULES), TESTING=True)
    with db.session() as s:
        add_user(s, "ad", "admin-pass-1", "admin")
        add_user(s, "mo", "moderator-pass", "moderator")
    return app


@pytest.fixture
def admin(app):
    client = app.test_client()
    login(client, "ad", "admin-pass-1")
    return client


def token(client, path="/admin/"):
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def test_admin_pages_are_for_admins_only(app):
    client = app.test_client()
    login(client, "mo", "moderator-pass")
    for path in ("/admin/", "/admin/rules/edit", "/admin/playground", "/admin/whatif"):
        assert client.get(path).status_code == 403


def test_invalid_edit_shows_the_line_and_saves_nothing(admin, db):
    page = admin.get("/admin/rules/edit?file=site.yaml").get_data(as_text=True)
    text = re.search(r"<textarea name=\"text\"[^>]*>(.*?)</textarea>", page, re.S).group(1)
    import html
    broken = html.unescape(text).replace("priority: 60", "priority: sixty")
    response = admin.post("/admin/rules/edit", data={"csrf_token": token(admin), "file": "site.yaml",
                                                     "text": broken, "intent": "save", "message": "x"})
    body = response.get_data(as_text=True)
    line = broken.splitlines().index("    priority: sixty") + 1
    assert response.status_code == 422
    assert f'href="#L{line}">site.yaml:{line}</a> · rule <code>no-video-links</code>' in body
    assert f'<li id="L{line}" class="bad">' in body
    with db.session() as s:
        assert [r.id for r, _ in revisions.history(s)] == [1]


def test_save_then_activate_then_rollback(admin, app, db):
    page = admin.get("/admin/rules/edit?file=wordlists/de/insults.txt").get_data(as_text=True)
    import html
    text = html.unescape(re.search(r"<textarea name=\"text\"[^>]*>(.*?)</textarea>", page, re.S).group(1))
    response = admin.post("/admin/rules/edit", data={"csrf_token": token(admin), "file": "wordlists/de/insults.txt",
                                                     "text": text + "kartoffelkopf\n", "intent": "save",
                                                     "message": "new insult"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/revisions/2")
    assert "+kartoffelkopf" in admin.get("/admin/revisions/2").get_data(as_text=True)
    assert app.extensions["desk"].pipeline.ruleset.version == _version(db, 1)  # saved, not live
    admin.post("/admin/revisions/2/activate", data={"csrf_token": token(admin)})
    assert app.extensions["desk"].pipeline.ruleset.version == _version(db, 2)
    judged = admin.post("/admin/playground", data={"csrf_token": token(admin), "text": "Du Kartoffelkopf!"})
    assert "HOLD" in judged.get_data(as_text=True)
    admin.post("/admin/revisions/1/activate", data={"csrf_token": token(admin), "note": "rollback"})
    assert app.extensions["desk"].pipeline.ruleset.version == _version(db, 1)


def _version(db, revision_id: int) -> str:
    with db.session() as s:
        return s.get(revisions.RuleRevision, revision_id).version


def test_policy_form_changes_only_the_edited_values(admin, db):
    admin.get("/admin/")
    response = admin.post("/admin/policy", data={"csrf_token": token(admin), "premoderation": "new_authors",
                                                 "reject_at": "0.95", "new_author_approvals": "5",
                                                 "threshold:insult:hold": "0.7", "message": "stricter"})
    assert response.status_code == 302
    with db.session() as s:
        patch = revisions.diff(s, s.get(revisions.RuleRevision, 2))
    changed = [line for line in patch.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert len(changed) == 8  # four lines out, four in: nothing else moved
    assert any("premoderation: new_authors" in line for line in changed)


def test_playground_escapes_and_highlights(admin):
    body = admin.post("/admin/playground", data={"csrf_token": token(admin),
                                                "text": "<script>x</script> Du bist ein Idiot"}).get_data(as_text=True)
    assert "<script>x</script>" not in body and "&lt;script&gt;" in body
    assert '<mark title="disrespectful-language, personal-attack">Idiot</mark>' in body


def test_whatif_page_compares_a_saved_revision(admin, db, ruleset):
    load(db, batch([("c1", None, "Schaut mal https://youtu.be/abc", "approved"), ("c2", None, "Du Idiot", "rejected")]))
    triage_stored(db, Pipeline(ruleset, [LexiconScorer(ruleset)]))
    admin.get("/admin/")
    admin.post("/admin/wordlists", data={"csrf_token": token(admin), "file": "wordlists/de/insults.txt",
                                         "add": "", "remove": "idiot"})
    body = admin.post("/admin/whatif", data={"csrf_token": token(admin), "revision": "2"}).get_data(as_text=True)
    assert "of 2 decisions would change" in body


def test_rule_page_shows_shadow_effect_and_recent_hits(admin, db, ruleset):
    load(db, batch([("c1", None, "WIR WOLLEN ENDLICH EHRLICHE ZAHLEN VOM VORSTAND SEHEN", "rejected"),
                    ("c2", None, "DAS IST DOCH ALLES NUR THEATER UND NIEMAND GLAUBT ES MEHR", "approved"),
                    ("c3", None, "Du bist wirklich ein Idiot <b>fett</b>")]))
    triage_stored(db, Pipeline(ruleset, [LexiconScorer(ruleset)]))
    body = admin.get("/admin/rules/shouting").get_data(as_text=True)
    assert "It would newly hold <strong>2</strong>" in body
    assert "rejected <strong>1</strong> of them and approved <strong>1</strong>" in body
    attack = admin.get("/admin/rules/personal-attack").get_data(as_text=True)
    assert "&lt;b&gt;fett&lt;/b&gt;" in attack and "<mark>Idiot</mark>" in attack
    assert admin.get("/admin/rules/no-such-rule").status_code == 404


def test_calibration_page_saves_an_inactive_revision(admin, db, ruleset):
    from tests.test_calibration import seeded

    seeded(db, ruleset)
    page = admin.get("/admin/calibrate?target=0.9").get_data(as_text=True)
    assert '<td>insult</td><td class="num">0.75</td>' in page
    response = admin.post("/admin/calibrate", data={"csrf_token": token(admin), "target": "0.9", "level": "hold"})
    assert response.status_code == 302
    with db.session() as s:
        assert revisions.active(s).id == 1 and len(revisions.history(s)) == 2


def test_playground_and_whatif_judge_with_the_revisions_own_word_lists(admin, db, ruleset):
    """A revision without "idiot": the lexicon scorer must not still score with the active lists."""
    load(db, batch([("c1", None, "Du bist ein Idiot.", "rejected")]))
    triage_stored(db, Pipeline(ruleset, [LexiconScorer(ruleset)]))
    admin.get("/admin/")
    admin.post("/admin/wordlists", data={"csrf_token": token(admin), "file": "wordlists/de/insults.txt",
                                         "add": "", "remove": "*idiot*"})
    judged = admin.post("/admin/playground", data={"csrf_token": token(admin), "text": "Du bist ein Idiot.",
                                                   "revision": "2"}).get_data(as_text=True)
    assert "<h2>APPROVE" in judged
    body = admin.post("/admin/whatif", data={"csrf_token": token(admin), "revision": "2"}).get_data(as_text=True)
    assert "1 of 1 decisions would change" in body


def test_a_revision_whose_examples_fail_warns_and_activates_only_when_forced(admin, app, db):
    admin.get("/admin/")
    saved = admin.post("/admin/wordlists", data={"csrf_token": token(admin), "file": "wordlists/de/insults.txt",
                                                 "add": "", "remove": "*idiot*"}, follow_redirects=True)
    assert "examples fail" in saved.get_data(as_text=True)
    refused = admin.post("/admin/revisions/2/activate", data={"csrf_token": token(admin)}, follow_redirects=True)
    assert "examples fail" in refused.get_data(as_text=True)
    assert app.extensions["desk"].pipeline.ruleset.version == _version(db, 1)
    admin.post("/admin/revisions/2/activate", data={"csrf_token": token(admin), "force": "1"})
    assert app.extensions["desk"].pipeline.ruleset.version == _version(db, 2)
