"""Triage persistence: comments awaiting assessment with their context, and writing the results."""
from __future__ import annotations

from collections import defaultdict
from functools import lru_cache
from typing import TYPE_CHECKING, Sequence

from sqlalchemy import BindParameter, Row, Select, String, bindparam, cast, func, literal, select, union_all, update
from sqlalchemy.orm import Session, aliased

from moderation.assess.risk import thread_heat
from moderation.domain.comments import Action
from moderation.store import authors, events, reports
from moderation.store.bulk import insert_rows
from moderation.store.database import lock_for_write, upsert
from moderation.store.models import Article, Comment, RuleHit, RuleSetVersion, TriageResult, utcnow

if TYPE_CHECKING:
    from moderation.assess.pipeline import Assessment, Item
    from moderation.rules import RuleSet

MAX_THREAD_AUTHORS = 300  # enough to recognise names in a thread without loading a huge one


# What items_for, save and the triage counts read of a comment: rows of these cost a seventh of ORM objects.
_PENDING = (Comment.id, Comment.source, Comment.text, Comment.language, Comment.status, Comment.author,
            Comment.parent_id, Comment.parent_external_id, Comment.article_id, Comment.decided_by_human)


def pending(session: Session, *, after_id: int = 0, limit: int = 500, rescore: bool = False) -> list[Row]:
    """The next comments to triage in id order (rows of _PENDING): untriaged ones, or all of them when re-scoring."""
    query = select(*_PENDING).where(Comment.id > after_id).order_by(Comment.id).limit(limit)
    if not rescore:
        query = query.where(Comment.triage_id.is_(None))
    return list(session.execute(query))


def author_history(session: Session, authors: Sequence[str]) -> dict[str, dict[str, int]]:
    """Per author: how many of their comments stand approved, rejected, held (items_for leaves out the comment
    being assessed)."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    names = sorted({a for a in authors if a})
    for i in range(0, len(names), 2000):
        rows = session.execute(select(Comment.author, Comment.status, func.count()).where(
            Comment.author.in_(names[i:i + 2000])).group_by(Comment.author, Comment.status))
        for author, status, count in rows:
            out[author][status] = count
    return out


def items_for(session: Session, comments: Sequence[Comment], *, parents: dict | None = None,
              articles: dict | None = None, states: dict | None = None,
              reported: dict | None = None) -> list["Item"]:
    """Pipeline items with what rules need: parent, thread participants, author history, article settings.

    The one definition of a stored comment's context, for triage, the workers, the API and what-if alike.
    `comments` may be rows with the columns used here (source, text, language, status, author, parent_id,
    parent_external_id, article_id). Parent and article rows (by id: text, author, language / language,
    premoderation) the caller has read already can be passed in, and so can the authors' states (as
    store.authors.states_for answers) and the comments' weighted reader reports (none for a comment just stored).
    The author's history counts their other comments: the comment's own decision says nothing about whether its
    author is new.
    """
    from moderation.assess.pipeline import Item  # noqa: PLC0415 - the pipeline imports the store, not vice versa

    parent = aliased(Comment)
    parent_ids = {c.parent_id for c in comments if c.parent_id}
    if parents is None:
        parents = {row.id: row for row in session.execute(
            select(parent.id, parent.text, parent.author, parent.language).where(parent.id.in_(parent_ids)))
        } if parent_ids else {}
    article_ids = {c.article_id for c in comments}
    if articles is None:
        articles = {row.id: row for row in session.execute(
            select(Article.id, Article.language, Article.premoderation).where(Article.id.in_(article_ids)))}
    if len(article_ids) == 1 and len({c.author for c in comments}) == 1:  # the live API's case: one statement
        participants, history, heat = _thread_context(session, next(iter(article_ids)), comments[0].author)
    else:
        participants = {art_id: _participants(session, art_id) for art_id in article_ids}
        history = author_history(session, [c.author for c in comments])
        heat = _thread_statuses(session, article_ids)
    where = {art_id: {name: i for i, name in enumerate(names)} for art_id, names in participants.items()}
    if states is None:
        states = authors.states_for(session, [(c.source, c.author) for c in comments])
    if reported is None:
        reported = reports.weights(session, [c.id for c in comments if getattr(c, "id", None) is not None])
    items = []
    for c in comments:
        p = parents.get(c.parent_id)
        art = articles.get(c.article_id)
        stats = history.get(c.author or "", {})
        own = c.status if c.author else None
        names, i = participants[c.article_id], where[c.article_id].get(c.author)
        state, note = states.get((c.source, c.author), (None, ""))
        counts = heat.get(c.article_id, {})
        judged = sum(n for status, n in counts.items() if status != "new") - (c.status != "new")
        troubled = counts.get("held", 0) + counts.get("rejected", 0) - (c.status in ("held", "rejected"))
        items.append(Item(
            text=c.text, language=c.language,
            context_language=(p.language if p and p.language else None) or (art.language if art else None),
            is_reply=c.parent_id is not None or c.parent_external_id is not None,
            parent_text=p.text if p else None, parent_author=p.author if p else None, author=c.author,
            thread_authors=names if i is None else names[:i] + names[i + 1:],  # everyone but the author
            author_approved=stats.get("approved", 0) - (own == "approved"),
            author_rejected=stats.get("rejected", 0) - (own == "rejected"),
            premoderation=art.premoderation if art else None, author_state=state, author_state_note=note,
            thread_heat=thread_heat(troubled, judged), reports=reported.get(getattr(c, "id", None), 0.0)))
    return items


def _participants_query(article_id: int | BindParameter) -> Select:
    return (select(Comment.author).where(Comment.article_id == article_id, Comment.author.is_not(None))
            .distinct().order_by(Comment.author).limit(MAX_THREAD_AUTHORS))  # the same names every time


def _participants(session: Session, article_id: int) -> tuple[str, ...]:
    return tuple(session.scalars(_participants_query(article_id)))


def _thread_context(session: Session, article_id: int, author: str | None) -> tuple[dict, dict, dict]:
    """Participants, the author's history and the thread's statuses of one article in one statement (UNION ALL),
    the same answers as _participants, author_history and _thread_statuses give."""
    rows = session.execute(_thread_context_query(bool(author)), {"article": article_id, "author": author}).all()
    history: dict[str, dict[str, int]] = {author: {}} if author else {}
    heat: dict[int, dict[str, int]] = {article_id: {}}
    for kind, _, status, n in rows:
        if kind == 1:
            heat[article_id][status] = n
        elif kind == 2:
            history[author][status] = n
    return {article_id: tuple(name for kind, name, _, _ in rows if kind == 0)}, history, heat


@lru_cache(maxsize=2)
def _thread_context_query(author_known: bool) -> Select:
    """_thread_context's statement, built once and bound per call."""
    none, zero, article = cast(None, String), literal(0), bindparam("article")
    names = _participants_query(article).subquery()
    parts = [select(literal(0).label("kind"), names.c.author.label("name"), none.label("status"), zero.label("n")),
             select(literal(1), none, Comment.status, func.count()).where(Comment.article_id == article)
             .group_by(Comment.status)]
    if author_known:
        parts.append(select(literal(2), none, Comment.status, func.count())
                     .where(Comment.author == bindparam("author")).group_by(Comment.status))
    union = union_all(*parts).subquery()
    return select(union).order_by(union.c.kind, union.c.name)  # names in the database's order


def _thread_statuses(session: Session, article_ids: set[int]) -> dict[int, dict[str, int]]:
    """Per article: how many of its comments stand in each status (the thread's heat, without the comment)."""
    out: dict[int, dict[str, int]] = defaultdict(dict)
    ids = sorted(article_ids)
    for i in range(0, len(ids), 2000):
        for art_id, status, count in session.execute(select(Comment.article_id, Comment.status, func.count())
                                                     .where(Comment.article_id.in_(ids[i:i + 2000]))
                                                     .group_by(Comment.article_id, Comment.status)):
            out[art_id][status] = count
    return out


def record_ruleset(session: Session, ruleset: "RuleSet") -> None:
    """Keep the rule set's files under its version, once, so every stored decision stays explainable."""
    if session.get(RuleSetVersion, ruleset.version) is None:
        # Several processes meeting a new rule set at once (app instances, workers) each try to insert it.
        session.execute(upsert(session, RuleSetVersion).values(
            version=ruleset.version, source_path=ruleset.path, files=dict(ruleset.files)).on_conflict_do_nothing(
            index_elements=["version"]))


def save(session: Session, comments: Sequence[Comment], assessments: Sequence["Assessment"], *,
         keep_verdict: bool = False, fresh: bool = False) -> list[int]:
    """Store each assessment; the comment's state follows it unless a human has decided.

    The comments are locked and read afresh first, so a moderator deciding meanwhile is never overwritten
    (not with fresh: comments this transaction inserted, which no one else can see yet).
    With keep_verdict (a deep score after the live verdict) the state stays what the site was told, except
    that a published comment the new result would hold or reject is flagged for review after publication.
    A comment whose told state (not "new") changes gets an event for the change feed and webhooks.
    Returns the ids of those comments.
    """
    if not comments:
        return []
    if not fresh:
        lock_for_write(session)  # SQLite: a moderator's decision cannot slip in between this read and the write
    current = {c.id: c for c in comments} if fresh else {row.id: row for row in session.execute(
        select(Comment.id, Comment.status, Comment.decided_by_human, Comment.flagged)
        .where(Comment.id.in_([c.id for c in comments])).order_by(Comment.id).with_for_update())}
    rows, updates, changed = [], [], []
    for c, a in zip(comments, assessments):
        now = current[c.id]
        applies = not now.decided_by_human and not (keep_verdict and now.status != "new")
        rows.append({"comment_id": c.id, "decision": a.decision.value, "priority": a.priority, "risk": a.risk,
                     "language": a.language.language, "explanation": a.explanation,
                     "ruleset_version": a.ruleset_version, "scorer_versions": a.scorer_versions,
                     "scores": a.scores, "hits": [h.to_dict() for h in a.hits],
                     "shadow_hits": [h.to_dict() for h in a.shadow_hits], "failures": a.failures,
                     "evidence": a.evidence, "applied": applies, "created_at": utcnow()})
        values = {"id": c.id, "priority": a.priority, "risk": a.risk, "language": c.language or a.language.language}
        if applies:
            values["status"] = a.decision.status.value
            values["flagged"] = max(now.flagged or 0, int(a.flagged))
        elif keep_verdict and not now.decided_by_human and now.status == "approved" and (
                a.decision != Action.APPROVE or a.flagged):
            values["flagged"] = max(now.flagged, 1)
        updates.append(values)
        status, flagged = values.get("status", now.status), values.get("flagged", now.flagged)
        if now.status != "new" and (status != now.status or bool(flagged) != bool(now.flagged)):
            changed.append((c.id, a, "comment.retriaged" if status != now.status else "comment.flagged"))
    # Multi-row INSERTs through the driver (store/bulk.py): the ORM's bulk INSERT built a parameter dict per row.
    # A batch holds each comment once, so the new rows' ids are told apart by their comment.
    if len({c.id for c in comments}) != len(comments):
        raise ValueError("save: a comment appears twice in one batch")
    made = dict((comment_id, triage_id) for triage_id, comment_id in
                insert_rows(session, TriageResult.__table__, rows, ("id", "comment_id")))
    ids = [made[c.id] for c in comments]
    hit_rows = [{"triage_id": triage_id, "comment_id": c.id, "rule_id": h.rule_id, "action": h.action,
                 "shadow": h.experimental, "created_at": utcnow()}
                for c, a, triage_id in zip(comments, assessments, ids) for h in a.hits + a.shadow_hits]
    insert_rows(session, RuleHit.__table__, hit_rows)
    for values, triage_id in zip(updates, ids):
        values["triage_id"] = triage_id
    session.execute(update(Comment), updates)
    for comment_id, a, kind in changed:
        comment = session.get(Comment, comment_id, populate_existing=True)
        events.record(session, comment, kind, explanation=a.explanation,
                      reasons=events.reasons([h.to_dict() for h in a.hits], a.failures, a.evidence))
    return [comment_id for comment_id, _, _ in changed]
