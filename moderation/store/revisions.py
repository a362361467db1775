"""Rule-set revisions: every save is a new version (author, time, message, diff); activation is logged."""
from __future__ import annotations

import difflib
from datetime import datetime
from pathlib import Path

from sqlalchemy import ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from moderation.rules import RuleSet, compile_ruleset, read_files
from moderation.store.database import BOOTSTRAP_LOCK, serialize
from moderation.store.models import Base, RuleSetVersion, UTCDateTime, utcnow


class RuleRevision(Base):
    """One saved state of the rule files; its content lives in rule_sets under the content hash."""

    __tablename__ = "rule_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(ForeignKey("rule_sets.version"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("rule_revisions.id"))
    author: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Activation(Base):
    """Append-only: which revision went live, when, by whom. The newest row is the active rule set."""

    __tablename__ = "rule_activations"

    id: Mapped[int] = mapped_column(primary_key=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("rule_revisions.id"))
    actor: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ExamplesFail(ValueError):
    """Activation refused: the revision's own rule examples fail (force to activate anyway)."""

    def __init__(self, revision_id: int, failures: list[str]) -> None:
        super().__init__(f"revision {revision_id}: {len(failures)} rule examples fail: " + "; ".join(failures[:5]))
        self.failures = failures


def files_of(session: Session, revision: RuleRevision) -> dict[str, str]:
    return dict(session.get(RuleSetVersion, revision.version).files)


def compile_revision(session: Session, revision: RuleRevision, cache: Path | None = None) -> RuleSet:
    return compile_ruleset(files_of(session, revision), f"revision {revision.id}", f"revision {revision.id}",
                           cache)


def failing_examples(session: Session, revision: RuleRevision) -> list[str]:
    """The revision's rule examples that do not behave as written (each rule's match / no_match cases)."""
    return [str(f) for f in compile_revision(session, revision).test_examples()[1]]


def save(session: Session, files: dict[str, str], author: str, message: str = "",
         parent_id: int | None = None) -> RuleRevision:
    """Validate and store a new revision; an invalid rule set raises RuleError and nothing is saved.

    Failing rule examples do not stop a save (callers warn with failing_examples); they stop activation.
    """
    ruleset = compile_ruleset(files, "draft")
    if session.get(RuleSetVersion, ruleset.version) is None:
        session.add(RuleSetVersion(version=ruleset.version, source_path="editor", files=dict(ruleset.files)))
    revision = RuleRevision(version=ruleset.version, parent_id=parent_id, author=author, message=message)
    session.add(revision)
    session.flush()
    return revision


def activate(session: Session, revision_id: int, actor: str, note: str = "", *,
             force: bool = False) -> Activation:
    """Make a revision live (it compiled when saved; compiled again here, in case the engine changed).

    A revision whose own rule examples fail raises ExamplesFail unless forced.
    """
    revision = session.get(RuleRevision, revision_id)
    if revision is None:
        raise LookupError(f"no rule revision {revision_id}")
    failures = failing_examples(session, revision)
    if failures and not force:
        raise ExamplesFail(revision_id, failures)
    entry = Activation(revision_id=revision_id, actor=actor, note=note)
    session.add(entry)
    session.flush()
    return entry


def active(session: Session) -> RuleRevision | None:
    newest = session.scalars(select(Activation).order_by(Activation.id.desc()).limit(1)).first()
    return session.get(RuleRevision, newest.revision_id) if newest else None


def active_ruleset(session: Session, bootstrap: Path, cache: Path | None = None) -> RuleSet:
    """The live rule set; on first use, the files at `bootstrap` become revision 1 and go live. `cache`: a
    folder that keeps the parsed rules for the next process (moderation/rules/cache.py)."""
    revision = active(session)
    if revision is None:  # processes starting together: one makes revision 1, the others then find it
        serialize(session, BOOTSTRAP_LOCK)
        revision = active(session)
    if revision is None:
        revision = save(session, read_files(bootstrap), "system", f"imported from {bootstrap}")
        activate(session, revision.id, "system", "first rule set", force=True)  # the site's own files, as given
    return compile_revision(session, revision, cache)


def history(session: Session, limit: int = 100) -> list[tuple[RuleRevision, list[Activation]]]:
    revisions = session.scalars(select(RuleRevision).order_by(RuleRevision.id.desc()).limit(limit)).all()
    activations = session.scalars(select(Activation).where(
        Activation.revision_id.in_([r.id for r in revisions]))).all()
    return [(r, [a for a in activations if a.revision_id == r.id]) for r in revisions]


def diff(session: Session, revision: RuleRevision, against: RuleRevision | None = None) -> str:
    """Unified diff of every file against another revision (default: the one it was edited from)."""
    other = against or (session.get(RuleRevision, revision.parent_id) if revision.parent_id else None)
    old = files_of(session, other) if other else {}
    new = files_of(session, revision)
    out: list[str] = []
    for name in sorted(set(old) | set(new)):
        out += difflib.unified_diff(old.get(name, "").splitlines(keepends=True),
                                    new.get(name, "").splitlines(keepends=True),
                                    f"a/{name}", f"b/{name}")
    return "".join(out)
