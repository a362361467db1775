"""Per-site author states (banned, suspended, pre-moderated, trusted) and their append-only action log."""
from __future__ import annotations

from datetime import datetime
from typing import Iterable

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, select, tuple_, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from moderation.store.database import lock_for_write, upsert
from moderation.store.models import Base, Json, UTCDateTime, utcnow

STATES = ("normal", "banned", "suspended", "premoderated", "trusted")
# Actions that set a state, and the state each sets; "note", "reject-pending" and "undo" leave it alone.
SETS = {"ban": "banned", "suspend": "suspended", "premoderate": "premoderated", "trust": "trusted",
        "clear": "normal"}
ACTIONS = (*SETS, "note", "reject-pending", "undo")


class AuthorState(Base):
    """An author's current state on one site; `version` counts the state changes (undo included)."""

    __tablename__ = "author_states"
    __table_args__ = (UniqueConstraint("source", "author", name="uq_author_states_source_author"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(200))
    author: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(20), default="normal")
    until: Mapped[datetime | None] = mapped_column(UTCDateTime())  # suspensions end by themselves
    version: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(Text, default="")  # why, as the action that set the state said
    actor: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AuthorAction(Base):
    """One moderator action on an author, never changed; an undo is an action of its own pointing back."""

    __tablename__ = "author_actions"
    __table_args__ = (Index("ix_author_actions_author", "source", "author", "id"),
                      Index("uq_author_actions_undoes", "undoes_id", unique=True))

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(200))
    author: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")  # the moderator's reason, or the note itself
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    state_before: Mapped[str] = mapped_column(String(20))
    until_before: Mapped[datetime | None] = mapped_column(UTCDateTime())
    state_after: Mapped[str] = mapped_column(String(20))
    until_after: Mapped[datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer)  # the state's version after this action
    undoes_id: Mapped[int | None] = mapped_column(ForeignKey("author_actions.id"))
    decision_ids: Mapped[list] = mapped_column(Json, default=list)  # rejections made with this action


class AuthorError(ValueError):
    """An author action that cannot be recorded as asked."""


class AuthorChanged(AuthorError):
    """Someone changed the author's state first; the message says who and what."""


def effective(state: str, until: datetime | None, now: datetime | None = None) -> str:
    """The state that applies now: a suspension that has run out is no state at all."""
    if state == "suspended" and until is not None and until <= (now or utcnow()):
        return "normal"
    return state


def current(session: Session, source: str, author: str) -> AuthorState | None:
    return session.scalar(select(AuthorState).where(AuthorState.source == source, AuthorState.author == author)
                          .execution_options(populate_existing=True))


def states_for(session: Session, pairs: Iterable[tuple[str, str]],
               now: datetime | None = None) -> dict[tuple[str, str], tuple[str, str]]:
    """(source, author) -> (state in force now, who set it and why), for the authors not in the normal state."""
    wanted = sorted({p for p in pairs if p[0] and p[1]})
    out: dict[tuple[str, str], tuple[str, str]] = {}
    for i in range(0, len(wanted), 500):
        rows = session.execute(select(AuthorState).where(
            tuple_(AuthorState.source, AuthorState.author).in_(wanted[i:i + 500]), AuthorState.state != "normal"))
        for row in rows.scalars():
            if (described := in_force(row, now)) is not None:
                out[(row.source, row.author)] = described
    return out


def in_force(row: AuthorState, now: datetime | None = None) -> tuple[str, str] | None:
    """A state row (or any row with its state, until, actor, reason) as (state in force now, who set it and why);
    None in the normal state."""
    if (state := effective(row.state, row.until, now)) == "normal":
        return None
    until = f" until {row.until:%Y-%m-%d %H:%M} UTC" if state == "suspended" and row.until else ""
    return state, f"by {row.actor}{until}" + (f": {row.reason}" if row.reason else "")


def _row(session: Session, source: str, author: str) -> AuthorState:
    """The author's state row, created in the normal state the first time anyone acts on them."""
    session.execute(upsert(session, AuthorState).values(source=source, author=author, state="normal", version=0,
                                                        updated_at=utcnow())
                    .on_conflict_do_nothing(index_elements=["source", "author"]))
    return current(session, source, author)


def _last_change(session: Session, row: AuthorState) -> AuthorAction | None:
    return session.scalar(select(AuthorAction).where(
        AuthorAction.source == row.source, AuthorAction.author == row.author, AuthorAction.version == row.version,
        AuthorAction.action.in_([*SETS, "undo"])).order_by(AuthorAction.id.desc()).limit(1))


def _move(session: Session, row: AuthorState, state: str, until: datetime | None, actor: str, reason: str) -> None:
    """Move the state on by one version; the conditional UPDATE is the database's guard under the write lock."""
    done = session.execute(update(AuthorState).where(AuthorState.id == row.id, AuthorState.version == row.version)
                           .values(state=state, until=until, version=row.version + 1, updated_at=utcnow(),
                                   actor=actor, reason=reason)
                           .returning(AuthorState.id).execution_options(synchronize_session=False)).scalar()
    if done is None:
        raise AuthorChanged("the author's state changed meanwhile; look again")


def act(session: Session, source: str, author: str, action: str, actor: str, *, reason: str = "",
        until: datetime | None = None, seen: int | None = None) -> AuthorAction:
    """Record an action and apply its state; with `seen` (the state version the moderator saw), refuse with
    AuthorChanged if anyone changed the state since. Setting the state the author is in already is refused."""
    if action not in ACTIONS or action in ("undo",):
        raise AuthorError(f"unknown author action {action!r} (known: {', '.join(a for a in ACTIONS if a != 'undo')})")
    if not author:
        raise AuthorError("an author action needs an author name")
    if action == "suspend" and (until is None or until <= utcnow()):
        raise AuthorError("a suspension needs an end in the future")
    if action in ("note",) and not reason.strip():
        raise AuthorError("a note needs text")
    lock_for_write(session)  # one writer at a time: author actions and the decisions they make
    row = _row(session, source, author)
    if seen is not None and row.version != seen:
        last = _last_change(session, row)
        who = f"{last.actor} ({last.action})" if last else "someone"
        raise AuthorChanged(f"{who} changed this author first; the state is now {row.state}")
    state, new_until = row.state, row.until
    if action in SETS:
        state, new_until = SETS[action], until if action == "suspend" else None
        if (state, new_until) == (effective(row.state, row.until), row.until if state == "suspended" else None):
            last = _last_change(session, row)
            raise AuthorChanged(f"the author is {state} already" + (f" (by {last.actor})" if last else ""))
        _move(session, row, state, new_until, actor, reason)
    entry = AuthorAction(source=source, author=author, action=action, reason=reason, actor=actor,
                         state_before=row.state, until_before=row.until, state_after=state, until_after=new_until,
                         version=row.version + (action in SETS), decision_ids=[])
    session.add(entry)
    session.flush()
    return entry


def undo(session: Session, action_id: int, actor: str, *, reason: str = "") -> AuthorAction:
    """Restore the state before an action, as a new action pointing at it; only while no change came after.
    The rejections an action made are undone by the caller (services.authors), through the decision log."""
    lock_for_write(session)
    original = session.get(AuthorAction, action_id, populate_existing=True)
    if original is None:
        raise AuthorError(f"no author action with id {action_id}")
    if original.action == "undo":
        raise AuthorError("an undo cannot be undone; act again instead")
    if session.scalar(select(AuthorAction.id).where(AuthorAction.undoes_id == action_id)) is not None:
        raise AuthorChanged(f"author action {action_id} is already undone")
    row = _row(session, original.source, original.author)
    state, until = row.state, row.until
    if original.action in SETS:
        later = list(session.scalars(select(AuthorAction).where(
            AuthorAction.source == row.source, AuthorAction.author == row.author, AuthorAction.id > original.id,
            AuthorAction.action.in_([*SETS, "undo"]))))
        # Changes after it that were all undone since bring its state back: it may be undone in turn.
        if any(a.action in SETS and a.id not in undone_ids(later) for a in later):
            last = _last_change(session, row)
            raise AuthorChanged(f"the author's state was changed since (by {last.actor if last else 'someone'}, "
                                f"{last.action if last else 'unknown'}); undo that instead")
        state, until = original.state_before, original.until_before
        setter = session.scalar(select(AuthorAction).where(
            AuthorAction.source == row.source, AuthorAction.author == row.author,
            AuthorAction.version == original.version - 1, AuthorAction.action.in_([*SETS, "undo"]))
            .order_by(AuthorAction.id.desc()).limit(1))  # the action whose state comes back, and its reason
        _move(session, row, state, until, setter.actor if setter else "", setter.reason if setter else "")
    entry = AuthorAction(source=original.source, author=original.author, action="undo", reason=reason, actor=actor,
                         state_before=row.state, until_before=row.until, state_after=state, until_after=until,
                         version=row.version + (original.action in SETS), undoes_id=original.id, decision_ids=[])
    session.add(entry)
    session.flush()
    return entry


def log(session: Session, source: str, author: str) -> list[AuthorAction]:
    """Every action on the author, oldest first."""
    return list(session.scalars(select(AuthorAction).where(AuthorAction.source == source,
                                                           AuthorAction.author == author).order_by(AuthorAction.id)))


def undone_ids(actions: Iterable[AuthorAction]) -> set[int]:
    return {a.undoes_id for a in actions if a.undoes_id is not None}
