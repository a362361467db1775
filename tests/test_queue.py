"""The review queue over the Flask test client, on SQLite and PostgreSQL: listing, filters, card, decisions,
undo, claims, no reshuffling, reject-with-replies, the public thread view, and the demo's accounts."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from moderation.store import Comment, Decision
from moderation.store.claims import Claim
from moderation.store.models import utcnow
from tests.browser import csrf, make_app, seed
from tests.test_web_auth import login


@pytest.fixture
def app(db, tmp_path):
    seed(db)
    return make_app(db, tmp_path, TESTING=True)


def client_for(app, username):
    client = app.test_client()
    password = {"mo": "moderator-pass", "mo2": "moderator2-pass", "ad": "admin-pass-1", "re": "researcher-pass"}
    assert login(client, username, password[username]).status_code == 302
    return client


@pytest.fixture
def mo(app):
    return client_for(app, "mo")


@pytest.fixture
def mo2(app):
    return client_for(app, "mo2")


def token(client):
    return csrf(client.get("/queue").get_data(as_text=True))


def rows(page: str) -> list[tuple[int, int]]:
    return [(int(i), int(s)) for i, s in re.findall(r'class="row[^"]*" id="row-\d+"\s+data-id="(\d+)" data-seen="(\d+)"',
                                                    page)]


def by_ext(db, ext: str) -> Comment:
    with db.session() as s:
        return s.scalars(select(Comment).where(Comment.external_id == ext)).one()


def decide(client, comment_id, action, seen=0, reason=None, **extra):
    data = {"action": action, "seen": seen, "csrf_token": token(client), **extra}
    if reason:
        data["reason"] = reason
    return client.post(f"/queue/comments/{comment_id}/decide", data=data, headers={"Accept": "application/json"})


def test_queue_needs_login_and_the_moderator_role(app):
    anonymous = app.test_client().get("/queue")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    researcher = client_for(app, "re")
    for path in ("/queue", "/queue/counts", "/queue/claims?ids=1", "/queue/bulk", "/queue/comments/1"):
        assert researcher.get(path).status_code == 403, path
    page = researcher.get("/account").get_data(as_text=True)
    assert researcher.post("/queue/comments/1/decide", data={"action": "approve", "seen": 0,
                                                             "csrf_token": csrf(page)}).status_code == 403
    assert client_for(app, "ad").get("/queue").status_code == 200


def test_pending_queue_lists_held_comments_by_risk_with_counts(mo, db):
    page = mo.get("/queue").get_data(as_text=True)
    listed = [i for i, _ in rows(page)]
    with db.session() as s:
        held = list(s.execute(select(Comment.id, Comment.priority, Comment.risk).where(Comment.status == "held")))
        counts = {st: len(list(s.scalars(select(Comment.id).where(Comment.status == st))))
                  for st in ("held", "approved")}
    assert sorted(listed) == sorted(r.id for r in held) and len(listed) >= 5
    expected = [r.id for r in sorted(held, key=lambda r: (-r.priority, -r.risk, -r.id))]
    assert listed == expected
    assert f'Pending <span class="count">{counts["held"]}</span>' in page
    assert f'Approved <span class="count">{counts["approved"]}</span>' in page
    oldest = [i for i, _ in rows(mo.get("/queue?order=oldest").get_data(as_text=True))]
    assert oldest == sorted(listed, key=lambda i: (by_ext_id_time(db, i), i))


def by_ext_id_time(db, comment_id):
    with db.session() as s:
        return s.get(Comment, comment_id).created_at


def test_filters_narrow_the_listing_and_bad_input_is_a_400(mo, db):
    video = rows(mo.get("/queue?rule=no-video-links").get_data(as_text=True))
    with db.session() as s:
        from moderation.store import RuleHit
        expected = set(s.scalars(select(Comment.id).join(RuleHit, RuleHit.triage_id == Comment.triage_id).where(
            RuleHit.rule_id == "no-video-links", Comment.status == "held")))
    assert {i for i, _ in video} == expected and expected
    en = rows(mo.get("/queue?language=en").get_data(as_text=True))
    with db.session() as s:
        assert {i for i, _ in en} == set(s.scalars(select(Comment.id).where(Comment.language == "en",
                                                                             Comment.status == "held")))
    some = by_ext(db, "de-039")  # "V o l l p f o s t e n", held
    by_author = rows(mo.get("/queue", query_string={"author": some.author}).get_data(as_text=True))
    assert [i for i, _ in by_author] == [some.id]
    other_article = rows(mo.get(f"/queue?article={some.article_id + 1}").get_data(as_text=True))
    assert some.id not in [i for i, _ in other_article]
    assert rows(mo.get("/queue?q=V%20o%20l%20l").get_data(as_text=True))[0][0] == some.id
    assert rows(mo.get("/queue?min_score=2").get_data(as_text=True)) == []
    assert mo.get("/queue?min_score=lots").status_code == 400


def test_label_score_range_filter(mo, db):
    from moderation.store import TriageResult
    with db.session() as s:
        held = list(s.scalars(select(Comment).where(Comment.status == "held").order_by(Comment.id)))
        for i, c in enumerate(held):
            result = s.get(TriageResult, c.triage_id)
            result.scores = {"lexicon": {**result.scores.get("lexicon", {}), "insult": [0.93, 0.2, 0.55][i % 3]}}
    hits = {i for i, _ in rows(mo.get("/queue?label=lexicon:insult&min_score=0.5&max_score=0.9").get_data(
        as_text=True))}
    assert hits == {c.id for i, c in enumerate(held) if i % 3 == 2} and hits
    high = {i for i, _ in rows(mo.get("/queue?label=lexicon:insult&min_score=0.9").get_data(as_text=True))}
    assert high == {c.id for i, c in enumerate(held) if i % 3 == 0}
    assert mo.get("/queue?label=insult&min_score=0.5").status_code == 400
    assert mo.get("/queue?min_score=lots").status_code == 400
    assert mo.get("/queue?queue=everything").status_code == 400


def test_card_shows_evidence_history_and_thread(mo, db):
    comment = by_ext(db, "de-019")  # a video link in a reply
    page = mo.get(f"/queue/comments/{comment.id}").get_data(as_text=True)
    assert "<mark" in page and "youtu be/Lk3v9QpZx2E" in page
    assert "Keine Video-Links." in page  # the site's stated rule
    assert "rs-" in page and "lexicon-" in page  # rule-set and model versions
    assert "approved</span>" in page and "rejected</span>" in page  # author history counts
    with db.session() as s:
        parent = s.get(Comment, comment.parent_id)
    assert f'data-id="{parent.id}"' in page and "ancestor" in page
    assert page.count('class="decide') >= 2  # its own actions and the thread's


def test_comment_text_is_escaped_and_links_inert(mo, db):
    comment = by_ext(db, "de-019")
    with db.session() as s:
        s.execute(update(Comment).where(Comment.id == comment.id).values(
            text='<script>alert(1)</script> see https://evil.example/x <a href="https://evil.example">x</a>',
            triage_id=None))
    page = mo.get(f"/queue/comments/{comment.id}").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page
    assert 'href="https://evil.example' not in page
    assert '<span class="link" title="link (not followed)">https://evil.example/x</span>' in page


def test_approve_then_second_moderator_gets_a_clear_conflict(mo, mo2, db):
    listed = rows(mo.get("/queue").get_data(as_text=True))
    comment_id, seen = listed[0]
    first = decide(mo, comment_id, "approve", seen)
    assert first.status_code == 200 and first.json["status"] == "approved"
    second = decide(mo2, comment_id, "reject", seen, reason="spam")
    assert second.status_code == 409
    assert "mo approved this comment first" in second.json["error"]
    with db.session() as s:
        log = list(s.scalars(select(Decision).where(Decision.comment_id == comment_id)))
    assert [(d.action, d.actor) for d in log] == [("approve", "mo")]
    assert comment_id not in [i for i, _ in rows(mo.get("/queue").get_data(as_text=True))]


def test_reject_needs_a_reason_and_csrf(mo, db):
    comment_id, seen = rows(mo.get("/queue").get_data(as_text=True))[0]
    assert decide(mo, comment_id, "reject", seen).status_code == 400
    no_token = mo.post(f"/queue/comments/{comment_id}/decide", data={"action": "approve", "seen": seen})
    assert no_token.status_code == 400
    ok = decide(mo, comment_id, "reject", seen, reason="personal-attack")
    assert ok.status_code == 200
    with db.session() as s:
        entry = s.get(Decision, ok.json["decisions"][0])
        assert (entry.action, entry.reason_code, entry.actor) == ("reject", "personal-attack", "mo")
        assert s.get(Comment, comment_id).status == "rejected"


def test_undo_restores_within_seconds_and_only_for_the_decider(app, mo, mo2, db):
    comment_id, seen = rows(mo.get("/queue").get_data(as_text=True))[0]
    ids = decide(mo, comment_id, "approve", seen).json["decisions"]
    refused = mo2.post("/queue/undo", data={"decisions": ",".join(map(str, ids)), "csrf_token": token(mo2)},
                       headers={"Accept": "application/json"})
    assert refused.status_code == 409
    undone = mo.post("/queue/undo", data={"decisions": ",".join(map(str, ids)), "csrf_token": token(mo)},
                     headers={"Accept": "application/json"})
    assert undone.status_code == 200 and undone.json["restored"] == {str(comment_id): "held"}
    with db.session() as s:
        assert s.get(Comment, comment_id).status == "held"
        assert [d.action for d in s.scalars(select(Decision).where(Decision.comment_id == comment_id))] == [
            "approve", "undo"]
    # After the undo a decision must be based on the new state.
    assert decide(mo, comment_id, "approve", seen).status_code == 409
    again = decide(mo, comment_id, "approve", undone.json["seen"][str(comment_id)])
    assert again.status_code == 200
    app.config["QUEUE_UNDO_SECONDS"] = 0  # the window has passed
    late = mo.post("/queue/undo", data={"decisions": str(again.json["decisions"][0]), "csrf_token": token(mo)},
                   headers={"Accept": "application/json"})
    assert late.status_code == 409 and "too late" in late.json["error"]
    with db.session() as s:
        assert s.get(Comment, comment_id).status == "approved"


def test_reject_with_replies_rejects_the_subtree_and_undoes_together(mo, db):
    root = by_ext(db, "de-014")  # held, with replies below
    with db.session() as s:
        from moderation.store.threads import descendants
        below = descendants(s, root.id)
        seen = s.scalar(select(Decision.id).where(Decision.comment_id == root.id).order_by(Decision.id.desc())) or 0
    assert below
    response = decide(mo, root.id, "reject", seen, reason="offensive", with_replies="1")
    assert response.status_code == 200
    with db.session() as s:
        assert {s.get(Comment, i).status for i in [root.id, *below]} == {"rejected"}
    undone = mo.post("/queue/undo", data={"decisions": ",".join(map(str, response.json["decisions"])),
                                          "csrf_token": token(mo)}, headers={"Accept": "application/json"})
    assert undone.status_code == 200
    with db.session() as s:
        assert s.get(Comment, root.id).status == "held"


def test_claims_are_visible_to_others_and_lapse(mo, mo2, db):
    comment_id, _ = rows(mo.get("/queue").get_data(as_text=True))[0]
    t = token(mo)
    assert mo.post(f"/queue/comments/{comment_id}/claim", data={"csrf_token": t}).json == {"holder": "mo", "mine": True}
    theirs = mo2.post(f"/queue/comments/{comment_id}/claim", data={"csrf_token": token(mo2)}).json
    assert theirs == {"holder": "mo", "mine": False}
    assert "claimed by mo" in mo2.get("/queue").get_data(as_text=True)
    assert mo2.get(f"/queue/claims?ids={comment_id}").json["claims"] == {str(comment_id): "mo"}
    assert mo.get(f"/queue/claims?ids={comment_id}").json["claims"] == {}  # one's own claim is not a warning
    with db.session() as s:
        s.execute(update(Claim).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert mo2.post(f"/queue/comments/{comment_id}/claim", data={"csrf_token": token(mo2)}).json["mine"] is True


def test_new_arrivals_do_not_reshuffle_the_list(mo, db):
    page = mo.get("/queue").get_data(as_text=True)
    as_of = int(re.search(r'as_of=(\d+)', page).group(1))
    before = rows(page)
    top = by_ext(db, "de-014")
    with db.session() as s:
        clone = Comment(source="test", external_id="late-1", article_id=top.article_id, text="Neu und giftig",
                        status="held", priority=999, risk=1.0, author="late")
        s.add(clone)
    snapshot = rows(mo.get(f"/queue?as_of={as_of}").get_data(as_text=True))
    assert snapshot == before
    tabs = mo.get(f"/queue/counts?queue=pending&as_of={as_of}").get_data(as_text=True)
    assert "1 new comment · load" in tabs
    fresh = rows(mo.get("/queue").get_data(as_text=True))
    assert fresh[0][0] == clone.id


def test_other_queues_hold_what_they_say(mo, db):
    flagged, auto = by_ext(db, "de-004"), by_ext(db, "de-011")
    with db.session() as s:
        s.execute(update(Comment).where(Comment.id == flagged.id).values(flagged=1, decided_by_human=False))
        s.execute(update(Comment).where(Comment.id == auto.id).values(status="rejected", decided_by_human=False))
    assert [i for i, _ in rows(mo.get("/queue?queue=reported").get_data(as_text=True))] == [flagged.id]
    assert [i for i, _ in rows(mo.get("/queue?queue=auto-rejected").get_data(as_text=True))] == [auto.id]
    assert auto.id not in [i for i, _ in rows(mo.get("/queue?queue=rejected").get_data(as_text=True))]
    # Approving a reported comment takes it out of the reported queue.
    assert decide(mo, flagged.id, "approve", rows(mo.get("/queue?queue=reported").get_data(as_text=True))[0][1]
                  ).status_code == 200
    assert rows(mo.get("/queue?queue=reported").get_data(as_text=True)) == []


def test_public_thread_keeps_replies_under_placeholders(app, db):
    reader = app.test_client()
    rejected = by_ext(db, "de-016")  # rejected by a moderator, no replies yet
    with db.session() as s:
        article = s.get(Comment, rejected.id).article_id
        held_leaf = s.scalars(select(Comment).where(Comment.article_id == article, Comment.status == "held")).first()
        s.execute(update(Comment).where(Comment.id == held_leaf.id).values(text="HELD-SECRET-TEXT"))
        child = Comment(source="test", external_id="child", article_id=article, parent_id=rejected.id, depth=2,
                        text="Antwort <b>sichtbar</b>", status="approved", author="reader")
        s.add(child)
    page = reader.get(f"/threads/{article}").get_data(as_text=True)
    assert reader.get(f"/threads/{article}").status_code == 200
    assert rejected.text[:25] not in page
    assert "Dieser Kommentar wurde von der Moderation entfernt." in page  # a German article (issue 14)
    assert "Antwort &lt;b&gt;sichtbar&lt;/b&gt;" in page
    assert page.index(f'id="c{rejected.id}"') < page.index(f'id="c{child.id}"')
    assert "HELD-SECRET-TEXT" not in page
    assert reader.get("/threads/a-de-1").status_code == 200  # by the source system's id too
    assert reader.get("/threads/nope").status_code == 404


def test_demo_creates_accounts_and_prints_them(tmp_path):
    from click.testing import CliRunner

    from moderation.cli import main
    result = CliRunner().invoke(main, ["demo", "--no-serve"], env={"MODERATION_INSTANCE_PATH": str(tmp_path)})
    assert result.exit_code == 0, result.output
    found = re.findall(r"(moderator|admin|researcher)\s+(demo-\w+)\s+password (\S+)", result.output)
    assert {role for role, _, _ in found} == {"moderator", "admin", "researcher"}
    from moderation.store import Database
    from moderation.store.accounts import authenticate
    with Database(f"sqlite:///{tmp_path / 'demo.db'}").session() as s:
        for role, name, password in found:
            assert authenticate(s, name, password).role == role
