"""The live API's one-comment result write (assess/live_result.py) stores what the general persist.save stores:
the same submissions through both, on SQLite and PostgreSQL, leave identical results, rule hits and comment states."""
from __future__ import annotations

from sqlalchemy import select, update

from bench.generate import import_rows
from moderation.assess import persist
from moderation.services import ingest
from moderation.store.models import Article, Comment, RuleHit, TriageResult
from tests.live import api_key, bearer, make_app

RESULT_FIELDS = ("decision", "priority", "risk", "language", "explanation", "ruleset_version", "scorer_versions",
                 "scores", "hits", "shadow_hits", "failures", "evidence", "applied")
COMMENT_FIELDS = ("status", "flagged", "priority", "risk", "language", "decided_by_human")


def _rows() -> list[dict]:
    rows = list(import_rows(60, seed=5, per_article=20))
    rows += [{"id": "x-insult", "article_id": "a0", "author": "user1", "text": "Du bist ein Idiot, verschwinde."},
             {"id": "x-reply", "article_id": "a0", "parent_id": "x-insult", "author": "user2",
              "text": "Halt den Mund, du Idiot! https://rumble.com/xyz"},
             {"id": "x-decided", "article_id": "a1", "author": "user3", "text": "Schon entschieden.",
              "decision": "approved"},
             {"id": "x-new-article", "article_id": "a9", "author": "user3", "text": "Du Idiot."},
             # An article without pre-moderation (set after its first comment): a hit publishes and flags.
             {"id": "x-open-first", "article_id": "open", "author": "user4", "text": "Guter Artikel."},
             {"id": "x-open-insult", "article_id": "open", "author": "user5", "text": "Du bist ein Idiot."}]
    return rows


def _prefixed(row: dict, run: str) -> dict:
    """The row in a thread world of its own: ids, articles and authors carry the run's prefix."""
    out = {**row, "id": f"{run}{row['id']}", "article_id": f"{run}{row['article_id']}",
           "author": f"{run}{row['author']}"}
    if "parent_id" in row:
        out["parent_id"] = f"{run}{row['parent_id']}"
    return out


def _stored(db, run: str) -> dict[str, tuple]:  # noqa: ANN001
    """Per comment of the run (by external id without the prefix): its state, its result's fields, its hits."""
    out = {}
    with db.session() as s:
        for c in s.scalars(select(Comment).where(Comment.external_id.startswith(run))):
            result = s.get(TriageResult, c.triage_id)
            hits = sorted((h.rule_id, h.action, h.shadow, h.comment_id == c.id) for h in s.scalars(
                select(RuleHit).where(RuleHit.triage_id == c.triage_id)))
            assert result is not None and result.comment_id == c.id, c.external_id
            out[c.external_id.removeprefix(run)] = (tuple(getattr(c, f) for f in COMMENT_FIELDS),
                                                    tuple(getattr(result, f) for f in RESULT_FIELDS), hits)
    return out


def _submit_all(db, client, keys: tuple[str, str], run: str) -> list[dict]:  # noqa: ANN001
    answers = []
    for row in _rows():
        r = client.post("/api/v1/comments", json=_prefixed(row, run),
                        headers=bearer(keys[1] if "decision" in row else keys[0]))
        assert r.status_code == 201, r.get_json()
        answer = r.get_json()
        answers.append({**answer, "id": answer["id"].removeprefix(run)})
        if row["id"] == "x-open-first":
            with db.session() as s:
                s.execute(update(Article).where(Article.external_id == f"{run}open").values(premoderation="none"))
    return answers


def test_the_live_write_stores_what_the_general_save_stores(db, tmp_path, monkeypatch):
    written: list[str] = []
    original = persist.save

    def general(session, comment, assessment, *, fresh):  # noqa: ANN001, ANN202
        written.append(comment.external_id)
        return original(session, [comment], [assessment], fresh=fresh)

    client = make_app(db, tmp_path).test_client()
    keys = api_key(db), api_key(db, scopes=("submit", "import"))
    fast_answers = _submit_all(db, client, keys, "fast-")
    monkeypatch.setattr(ingest, "save_one", general)
    slow_answers = _submit_all(db, client, keys, "slow-")
    assert len(written) == len(_rows())  # the second run really took the general path
    fast, slow = _stored(db, "fast-"), _stored(db, "slow-")
    assert len(fast) == len(_rows())
    assert fast == slow
    assert fast_answers == slow_answers
    assert any(hits for _, _, hits in fast.values())  # rule hits were compared, not only empty lists
    assert {state[0] for state, _, _ in fast.values()} >= {"approved", "held"}
    assert fast["x-open-insult"][0][:2] == ("approved", 1)  # published and flagged
    assert fast["x-decided"][0][0] == "approved" and fast["x-decided"][0][-1]  # the site's decision stood


def _fresh_comment(session, ext: str, language: str | None):  # noqa: ANN001, ANN202
    """A comment this transaction inserted through the live path's insert_one, as the API holds it."""
    from moderation.domain.comments import CommentRecord, ImportBatch  # noqa: PLC0415
    from moderation.store.loading import insert_one, load_batch, look_up  # noqa: PLC0415

    load_batch(session, ImportBatch("s", "f.jsonl", comments=[
        CommentRecord(f"root-{ext}", "a", "root", article_title="Artikel", location="f.jsonl:1")]))
    record = CommentRecord(ext, "a", "Du Idiot.", parent_id=f"root-{ext}", language=language, location="api")
    placed = insert_one(session, record, "s", look_up(session, record, "s"))
    assert placed is not None
    return placed[0]


def _hit(i: int, action: str, experimental: bool):  # noqa: ANN202
    from moderation.rules.engine import Hit  # noqa: PLC0415

    return Hit(f"r{i}", f"Regel {i}", action, None, i, 0.5, [], 1.0, None, "", experimental)


def test_crafted_assessments_store_the_same_through_both_writes(db):
    """Many hits, shadow hits only, flagged, no language anywhere, empty evidence: both writes store the same."""
    from moderation.assess.live_result import save_one  # noqa: PLC0415
    from moderation.assess.pipeline import Assessment  # noqa: PLC0415
    from moderation.domain.comments import Action  # noqa: PLC0415
    from moderation.domain.language import LanguageResult  # noqa: PLC0415

    cases = [(70, 0, True, None, {}), (0, 3, False, "de", {"risk": 0.5}), (1, 1, True, None, {"x": None}),
             (0, 0, False, None, {})]
    stored = {}
    for how, write in (("one", lambda s, c, a: save_one(s, c, a, fresh=True)),
                       ("save", lambda s, c, a: persist.save(s, [c], [a], fresh=True))):
        for n, (hits, shadow, flagged, language, evidence) in enumerate(cases):
            with db.session() as s:
                comment = _fresh_comment(s, f"{how}{n}", language)
                a = Assessment(Action.HOLD if hits else Action.APPROVE, 3, 0.25, "weil",
                               LanguageResult(None, 0.0, "default"),
                               [_hit(i, "hold", False) for i in range(hits)],
                               [_hit(100 + i, "reject", True) for i in range(shadow)], ["sentiment"],
                               {"m": {"toxicity": 0.1}}, {"m": "1"}, "rs1", flagged, evidence=evidence)
                write(s, comment, a)
            with db.session() as s:
                c = s.scalars(select(Comment).where(Comment.external_id == f"{how}{n}")).one()
                result = s.get(TriageResult, c.triage_id)
                hit_rows = sorted((h.rule_id, h.action, h.shadow, h.comment_id == c.id) for h in s.scalars(
                    select(RuleHit).where(RuleHit.triage_id == c.triage_id)))
                stored[how, n] = (tuple(getattr(c, f) for f in COMMENT_FIELDS),
                                  tuple(getattr(result, f) for f in RESULT_FIELDS), hit_rows)
    for n in range(len(cases)):
        assert stored["one", n] == stored["save", n], n
