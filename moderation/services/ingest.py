"""Live ingestion: a comment from a site's CMS is validated, stored, assessed on the fast path, and answered.

The fast path is the pipeline's configured scorers (rules, language, the shipped model); slow scorers run
afterwards in a worker (moderation/services/jobs.py) and may flag a published comment, never silently unpublish it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from moderation.domain.comments import ImportBatch
from moderation.importers import ImportFormatError
from moderation.importers.jsonl import load_object
from moderation.importers.rows import RowReader
from moderation.assess import persist as repo
from moderation.assess.live_result import save_one
from moderation.store.events import decision_of, reasons
from moderation.store.authors import in_force
from moderation.store.loading import ImportConflict, check_storable, insert_one, load_batch, look_up
from moderation.store.models import Article, Comment, TriageResult

if TYPE_CHECKING:
    from moderation.assess.pipeline import Pipeline
    from moderation.store import Database

WHERE = "request body"
HISTORIC_FIELDS = ("decision", "status")  # a decision (or removal) taken at the source: it would stand unjudged
# A string (to its end, or to the text's end when unterminated, so no scan restarts inside one), or a bracket.
_RECORDED: set[tuple[str, str]] = set()  # (database, rule-set version) already kept in rule_sets


class Refused(ValueError):
    """A submission refused as a whole, with the HTTP status and error code the API answers with."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Verdict:
    """The answer for one comment: what the CMS should do with it now, and why."""

    comment_id: int
    external_id: str
    status: str
    flagged: bool
    reasons: list[dict]
    explanation: str
    language: str | None
    created: bool = False  # False: the comment was known already and this is its stored verdict

    @property
    def decision(self) -> str:
        return decision_of(self.status)

    def to_dict(self) -> dict:
        return {"id": self.external_id, "decision": self.decision, "reasons": self.reasons, "status": self.status,
                "flagged": self.flagged, "explanation": self.explanation, "language": self.language}


def parse(body: bytes, site: str, *, historic: bool = False) -> ImportBatch:
    """The request body as a one-comment batch of the site, validated like an import row."""
    try:
        text = body.decode("utf-8")
        row = load_object(text.removeprefix("\ufeff"), WHERE, 1)
    except UnicodeDecodeError:
        raise Refused(400, "invalid_json", "the body is not UTF-8") from None
    except ImportFormatError as exc:
        raise Refused(400, "invalid_json", exc.message) from None
    return parse_row(row, site, historic=historic)


def parse_row(row: dict[str, object], site: str, *, historic: bool = False) -> ImportBatch:
    """One import-schema row as a one-comment batch of the site; `historic` allows a decision taken elsewhere."""
    named = row.get("source")
    if named not in (None, "", site):
        raise Refused(403, "wrong_site", f"this key is for site {site!r}, not {named!r}")
    for field in HISTORIC_FIELDS:
        if not historic and row.get(field) not in (None, ""):
            raise Refused(403, "import_scope_required",
                          f"field {field!r} records a decision taken elsewhere and needs a key with the import "
                          f"scope (for migrating history); live submissions are always judged")
    reader = RowReader(WHERE, site)
    try:
        reader.add(row, 1)
        batch = reader.finish()[0]
        check_storable(batch.comments[0], WHERE)  # before the lookups: PostgreSQL refuses NUL even in a WHERE
    except ImportFormatError as exc:
        raise Refused(422, "invalid_comment", exc.message) from None
    except ImportConflict as exc:
        raise Refused(422, "invalid_comment", str(exc)) from None
    return batch


def find(session: Session, site: str, external_id: str) -> Comment | None:
    if "\x00" in external_id:  # no stored id holds one, and PostgreSQL refuses it in a query
        return None
    return session.scalars(select(Comment).where(Comment.source == site,
                                                 Comment.external_id == external_id)).first()


def record_ruleset(session: Session, pipeline: "Pipeline") -> None:
    """Keep the rule set's files once per database and version (a lookup per request would cost a query)."""
    key = (str(session.get_bind().url), pipeline.ruleset.version)
    if key not in _RECORDED:
        repo.record_ruleset(session, pipeline.ruleset)
        _RECORDED.add(key)


def submit(session: Session, pipeline: "Pipeline", batch: ImportBatch) -> Verdict:
    """Store the comment (idempotent on site and id) and assess it; a known comment gets its stored verdict.

    A concurrent twin of the same comment makes the insert fail with IntegrityError; the caller retries
    the transaction once and then finds the comment stored.
    """
    record = batch.comments[0]
    found = look_up(session, record, batch.source)
    comment, created, known = None, False, {}
    if found.existing is None:
        try:
            placed = insert_one(session, record, batch.source, found)
            if placed is None:  # a new article, an orphan, a comment decided at its source: the general path
                # Zero stored: a twin committed it after the lookup above (PostgreSQL reads what is committed).
                created = load_batch(session, batch).comments == 1
                comment = find(session, batch.source, record.external_id)
            else:
                (comment, article, parent), created = placed, True
                state = in_force(found) if found.state not in (None, "normal") else None
                known = {"articles": {article.id: article}, "parents": {parent.id: parent} if parent else {},
                         "states": {(batch.source, record.author): state} if state else {},
                         "reported": {}}  # stored a moment ago: no reader has reported it yet
        except ImportConflict as exc:
            raise Refused(422, "invalid_comment", str(exc)) from None
    else:
        comment = session.get(Comment, found.existing)
    if not created:
        article = session.get(Article, comment.article_id)
        if comment.text != record.text or article.external_id != record.article_id:
            raise Refused(409, "conflict", f"comment {record.external_id!r} exists with another text or "
                                           f"article; comments are not edited through the API")
        if comment.triage_id is not None:
            return stored_verdict(session, comment)
    assessment = pipeline.assess(repo.items_for(session, [comment], **known))[0]
    record_ruleset(session, pipeline)
    human = comment.decided_by_human  # a decision sent with the comment stands, as in imports
    save_one(session, comment, assessment, fresh=created)
    return Verdict(comment.id, comment.external_id, comment.status if human else assessment.decision.status.value,
                   bool(comment.flagged) or assessment.flagged,
                   reasons([h.to_dict() for h in assessment.hits], assessment.failures, assessment.evidence),
                   assessment.explanation,
                   comment.language or assessment.language.language, created)


def stored_verdict(session: Session, comment: Comment) -> Verdict:
    """The comment's current state with the reasons of its newest assessment."""
    result = session.get(TriageResult, comment.triage_id) if comment.triage_id else None
    return Verdict(comment.id, comment.external_id, comment.status, bool(comment.flagged),
                   reasons(result.hits, result.failures, result.evidence) if result else [],
                   result.explanation if result else "not assessed yet", comment.language)


def rehearse(db: "Database", pipeline: "Pipeline") -> None:
    """Submit two built-in comments (a new article, then a reply on it) in a transaction that is rolled back:
    a fresh process compiles the submission's statements before its first real comment. Nothing is kept."""
    recorded = set(_RECORDED)
    site = "warm-up.invalid"
    with db.sessions() as session:
        try:
            for i, parent in enumerate((None, "warm-up-0")):
                row = {"id": f"warm-up-{i}", "article_id": "warm-up", "parent_id": parent, "author": "warm-up",
                       "text": "Guten Morgen, danke für den Artikel. Good morning, thanks."}
                submit(session, pipeline, parse_row(row, site))
        finally:
            session.rollback()
            _RECORDED.intersection_update(recorded)  # the rule set row written here was rolled back too
