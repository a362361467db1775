"""The live API's write of one fresh comment's assessment: result, rule hits and the comment's state through Core.

The same rows as persist.save(fresh=True) writes for one comment, without the ORM's bulk machinery; on PostgreSQL
in one statement (data-modifying CTEs), elsewhere the result insert, the hits insert and the comment update.
"""
from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import Boolean, Integer, String, bindparam, insert, select, union_all, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert, Update

from moderation.assess import persist
from moderation.store.models import Comment, RuleHit, TriageResult, utcnow

if TYPE_CHECKING:
    from moderation.assess.pipeline import Assessment

RESULTS, HITS, COMMENTS = TriageResult.__table__, RuleHit.__table__, Comment.__table__
_RESULT_FIELDS = ("comment_id", "created_at", "decision", "priority", "risk", "language", "explanation",
                  "ruleset_version", "scorer_versions", "scores", "hits", "shadow_hits", "failures", "evidence",
                  "applied")


def save_one(session: Session, comment: Comment, assessment: "Assessment", *, fresh: bool) -> list[int]:
    """persist.save(session, [comment], [assessment], fresh=fresh), in fewer round trips for a comment this
    transaction inserted in state "new" (the live API's case); any other comment takes persist.save."""
    if not fresh or comment.status != "new" or comment in session:
        # A change of a told state needs the event path, and a comment the session holds (the general import
        # path stored it) is kept current by the ORM's update.
        return persist.save(session, [comment], [assessment], fresh=fresh)
    a = assessment
    applies = not comment.decided_by_human
    now = utcnow()
    result = {"comment_id": comment.id, "created_at": now, "decision": a.decision.value, "priority": a.priority,
              "risk": a.risk, "language": a.language.language, "explanation": a.explanation,
              "ruleset_version": a.ruleset_version, "scorer_versions": a.scorer_versions, "scores": a.scores,
              "hits": [h.to_dict() for h in a.hits], "shadow_hits": [h.to_dict() for h in a.shadow_hits],
              "failures": a.failures, "evidence": a.evidence, "applied": applies}
    state: dict[str, Any] = {"c_id": comment.id, "c_priority": a.priority, "c_risk": a.risk,
                             "c_language": comment.language or a.language.language}
    if applies:
        state["c_status"] = a.decision.status.value
        state["c_flagged"] = max(comment.flagged or 0, int(a.flagged))
    hits = [(h.rule_id, h.action, h.experimental) for h in a.hits + a.shadow_hits]
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        params = {**{f"r_{name}": value for name, value in result.items()}, **state}
        for i, (rule_id, action, shadow) in enumerate(hits):
            params.update({f"h{i}_rule": rule_id, f"h{i}_action": action, f"h{i}_shadow": shadow})
        triage_id = connection.execute(_one_statement(len(hits), applies), params).scalar_one()
    else:
        triage_id = connection.execute(_INSERT_RESULT, result).scalar_one()
        if hits:
            connection.execute(_INSERT_HIT, [{"triage_id": triage_id, "comment_id": comment.id, "rule_id": rule_id,
                                              "action": action, "shadow": shadow, "created_at": now}
                                             for rule_id, action, shadow in hits])
        connection.execute(_update_comment(applies), {**state, "c_triage": triage_id})
    return []


_INSERT_RESULT = insert(RESULTS).returning(RESULTS.c.id)
_INSERT_HIT = insert(HITS)


@lru_cache(maxsize=4)
def _update_comment(applies: bool, triage: Any = None) -> Update:
    values: dict[str, Any] = {"priority": bindparam("c_priority", type_=Integer()), "risk": bindparam("c_risk"),
                              "language": bindparam("c_language", type_=String()),
                              "triage_id": triage if triage is not None else bindparam("c_triage", type_=Integer())}
    if applies:
        values.update(status=bindparam("c_status", type_=String()), flagged=bindparam("c_flagged", type_=Integer()))
    return update(COMMENTS).where(COMMENTS.c.id == bindparam("c_id", type_=Integer())).values(**values)


@lru_cache(maxsize=64)
def _one_statement(n_hits: int, applies: bool) -> Update:
    """PostgreSQL: insert the result, insert its hits and point the comment at it, returning the result's id."""
    added = (insert(RESULTS).values({name: bindparam(f"r_{name}", type_=RESULTS.c[name].type) for name in _RESULT_FIELDS})
             .returning(RESULTS.c.id).cte("added"))
    statement = _update_comment(applies, select(added.c.id).scalar_subquery()).returning(COMMENTS.c.triage_id)
    if n_hits:
        parts = [select(added.c.id, bindparam("r_comment_id", type_=Integer()),
                                  bindparam(f"h{i}_rule", type_=String()), bindparam(f"h{i}_action", type_=String()),
                                  bindparam(f"h{i}_shadow", type_=Boolean()),
                                  bindparam("r_created_at", type_=HITS.c.created_at.type)) for i in range(n_hits)]
        rows = parts[0] if n_hits == 1 else union_all(*parts)
        hits: Insert = insert(HITS).from_select(["triage_id", "comment_id", "rule_id", "action", "shadow",
                                                 "created_at"], rows)
        statement = statement.add_cte(hits.cte("hit_rows"))
    return statement

