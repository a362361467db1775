"""An author on one site: profile (comments, rejection rate, notes, identities), actions, undo, reject-pending."""
from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from moderation.domain.comments import REASON_CODES, Action
from moderation.store import authors as states
from moderation.store.authors import AuthorAction, AuthorChanged, AuthorError
from moderation.store.decisions import AlreadyDecided, DecisionError, decide
from moderation.store.database import lock_for_write
from moderation.store.decisions import undo as undo_decision
from moderation.store.models import Article, Comment, Decision

PENDING = ("new", "held")  # not yet published nor refused: what "reject all pending" takes
PROFILE_COMMENTS = 200  # the newest ones listed; the counts cover all

__all__ = ["AuthorChanged", "AuthorError", "PreviewChanged", "act", "pending_count", "profile", "undo"]


class PreviewChanged(AuthorChanged):
    """The pending comments are no longer the number the moderator confirmed; nothing was written."""

    def __init__(self, expected: int, now: int) -> None:
        super().__init__(f"the author has {now} pending comments now, not {expected}; check and confirm again")
        self.expected, self.now = expected, now


@dataclass
class Result:
    """What an action or undo did: its log entry, and the comments it decided or could not."""

    action: dict
    rejected: list[int] = field(default_factory=list)  # comment ids rejected (or un-rejected by an undo)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # changed by someone else meanwhile

    def to_dict(self) -> dict:
        return {"action": self.action, "rejected": self.rejected,
                "skipped": [{"comment_id": c, "reason": r} for c, r in self.skipped]}


def describe(entry: AuthorAction, undone: set[int] = frozenset()) -> dict:
    """An action as the log, the API and the CLI show it."""
    when = (lambda t: t.isoformat() if t else None)
    return {"id": entry.id, "action": entry.action, "actor": entry.actor, "reason": entry.reason,
            "at": when(entry.created_at), "state_before": entry.state_before, "state_after": entry.state_after,
            "until": when(entry.until_after), "undoes": entry.undoes_id, "undone": entry.id in undone,
            "decisions": list(entry.decision_ids or [])}


def ip_prefix(address: str) -> str | None:
    """The network an address belongs to (IPv4 /24, IPv6 /48): enough to link, too coarse to locate a person."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    return str(ipaddress.ip_network(f"{ip}/{24 if ip.version == 4 else 48}", strict=False))


def _pending(session: Session, source: str, author: str) -> list[tuple[int, int]]:
    return [tuple(r) for r in session.execute(select(Comment.id, Comment.version).where(
        Comment.source == source, Comment.author == author, Comment.status.in_(PENDING)).order_by(Comment.id))]


def pending_count(session: Session, source: str, author: str) -> int:
    """How many comments "reject all pending" (or a ban with it) would reject now: the preview."""
    return session.scalar(select(func.count()).select_from(Comment).where(
        Comment.source == source, Comment.author == author, Comment.status.in_(PENDING))) or 0


def _reject_all(session: Session, source: str, author: str, actor: str, reason_code: str,
                note: str) -> tuple[list[int], list[tuple[int, str]]]:
    """Reject each pending comment through the decision log, on the version read under the write lock:
    a moderator deciding one of them at the same moment wins or loses that version as a whole."""
    decided, skipped = [], []
    for comment_id, version in _pending(session, source, author):
        try:
            entry = decide(session, comment_id, Action.REJECT, actor, reason_code=reason_code, note=note,
                           expected_version=version)
            decided.append(entry.id)
        except AlreadyDecided as exc:  # refused before anything was written
            skipped.append((comment_id, str(exc)))
    return decided, skipped


def act(session: Session, source: str, author: str, action: str, actor: str, *, reason: str = "",
        until: datetime | None = None, seen: int | None = None, reject_pending: bool = False,
        reason_code: str = "other", expect_pending: int | None = None) -> Result:
    """Ban, suspend, pre-moderate, trust, clear, note or reject-pending; a ban may reject the pending comments
    too (reject_pending). Every rejection is a decision of its own, listed on the action for undo.
    expect_pending: the preview count the moderator confirmed; another count now raises PreviewChanged."""
    if reason_code not in REASON_CODES:
        raise DecisionError(f"unknown reason code {reason_code!r} (known: {', '.join(REASON_CODES)})")
    if action == "reject-pending" or (action == "ban" and reject_pending):
        lock_for_write(session)  # before reading what to reject
        # Counted under the write lock: what is rejected below is exactly what was counted here.
        if expect_pending is not None and (now := pending_count(session, source, author)) != expect_pending:
            raise PreviewChanged(expect_pending, now)
    entry = states.act(session, source, author, action, actor, reason=reason, until=until, seen=seen)
    result = Result({})
    if action == "reject-pending" or (action == "ban" and reject_pending):
        note = f"author {action} by {actor}" + (f": {reason}" if reason else "")
        decision_ids, result.skipped = _reject_all(session, source, author, actor, reason_code, note)
        entry.decision_ids = decision_ids
        session.flush()
        result.rejected = _comments_of(session, decision_ids)
    result.action = describe(entry)
    return result


def _comments_of(session: Session, decision_ids: list[int]) -> list[int]:
    if not decision_ids:
        return []
    return list(session.scalars(select(Decision.comment_id).where(Decision.id.in_(decision_ids))
                                .order_by(Decision.id)))


def undo(session: Session, action_id: int, actor: str, *, reason: str = "") -> Result:
    """Undo an action: the state before it comes back (while nothing changed since) and each rejection it made
    is undone in the decision log, except on comments someone decided again since (reported, left alone)."""
    entry = states.undo(session, action_id, actor, reason=reason)
    original = session.get(AuthorAction, action_id)
    result = Result({})
    undone = []
    for comment_id, decision_id in zip(_comments_of(session, original.decision_ids or []),
                                       original.decision_ids or []):
        try:
            undone.append(undo_decision(session, decision_id, actor).id)
            result.rejected.append(comment_id)
        except DecisionError as exc:
            result.skipped.append((comment_id, str(exc)))
    entry.decision_ids = undone
    session.flush()
    result.action = describe(entry)
    return result


@dataclass
class Profile:
    source: str
    author: str
    state: str  # in force now
    until: str | None
    version: int  # what an action's `seen` names
    counts: dict[str, int]
    rejection_rate: float | None  # rejected / (approved + rejected); None before any of either
    first_seen: str | None
    last_seen: str | None
    pending: int  # the preview count of "reject all pending"
    comments: list[dict]
    notes: list[dict]
    actions: list[dict]
    emails: list[str]
    ip_prefixes: list[str]
    other_names: list[str]  # names the same e-mail or account used on this site

    def to_dict(self) -> dict:
        return asdict(self)


def _identities(session: Session, source: str, author: str, metas: list[dict]) -> tuple[list, list, list]:
    emails = sorted({str(m["author_email"]).strip().lower() for m in metas if m.get("author_email")})
    prefixes = sorted({p for m in metas if m.get("author_ip") and (p := ip_prefix(str(m["author_ip"])))})
    accounts = {(k, str(m[k])) for m in metas for k in ("user_id", "author_username") if m.get(k)}
    names: set[str] = set()
    if emails or accounts:
        # JSON fields are compared in Python: the two backends spell JSON paths differently.
        for name, meta in session.execute(select(Comment.author, Comment.meta).where(
                Comment.source == source, Comment.author.is_not(None), Comment.author != author)):
            meta = meta or {}
            if str(meta.get("author_email", "")).strip().lower() in emails or any(
                    str(meta.get(k, "")) == v for k, v in accounts):
                names.add(name)
    return emails, prefixes, sorted(names)


def profile(session: Session, source: str, author: str) -> Profile:
    """Everything a moderator needs about an author on one site."""
    when = (lambda t: t.isoformat() if t else None)
    counts = dict(session.execute(select(Comment.status, func.count()).where(
        Comment.source == source, Comment.author == author).group_by(Comment.status)).all())
    first, last = session.execute(select(func.min(func.coalesce(Comment.created_at, Comment.imported_at)),
                                         func.max(func.coalesce(Comment.created_at, Comment.imported_at)))
                                  .where(Comment.source == source, Comment.author == author)).one()
    rows = session.execute(select(Comment.id, Comment.external_id, Comment.status, Comment.created_at,
                                  Comment.text, Comment.risk, Comment.version, Comment.meta, Article.title)
                           .join(Article, Article.id == Comment.article_id)
                           .where(Comment.source == source, Comment.author == author)
                           .order_by(Comment.created_at.desc(), Comment.id.desc()).limit(PROFILE_COMMENTS)).all()
    log = states.log(session, source, author)
    undone = states.undone_ids(log)
    row = states.current(session, source, author)
    state = states.effective(row.state, row.until) if row else "normal"
    decided = counts.get("approved", 0) + counts.get("rejected", 0)
    emails, prefixes, names = _identities(session, source, author, [r.meta or {} for r in rows])
    return Profile(
        source, author, state, when(row.until) if row and state == "suspended" else None, row.version if row else 0,
        {s: counts.get(s, 0) for s in ("new", "approved", "held", "rejected")},
        counts.get("rejected", 0) / decided if decided else None, when(first), when(last),
        counts.get("new", 0) + counts.get("held", 0),
        [{"id": r.id, "external_id": r.external_id, "status": r.status, "created_at": when(r.created_at),
          "text": r.text[:280], "risk": round(r.risk or 0.0, 4), "version": r.version, "article": r.title}
         for r in rows],
        [describe(a, undone) for a in log if a.action == "note" and a.id not in undone],
        [describe(a, undone) for a in log], emails, prefixes, names)

