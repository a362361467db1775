"""The per-comment research download: one row per stored comment with its scores, versions and decisions, streamed."""
from __future__ import annotations

import csv
import io
import json
import re
from typing import TYPE_CHECKING, Callable, Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from moderation.domain.messages import N_
from moderation.research.frame import top_score
from moderation.research.sources import first_decisions, waited

if TYPE_CHECKING:
    from moderation.store import Database

LABELS = ("toxicity", "severe_toxicity", "insult", "obscene", "identity_attack", "threat")
TEXT_MODES = ("full", "pseudonymised", "none")
CHUNK = 2000  # rows per query page and per sentiment batch: memory stays flat at a million comments
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
LINK = re.compile(r"(?i)\b(?:https?://|www\.)\S+")
HANDLE = re.compile(r"(?<![\w@])@([\w.-]{2,40})")

# (column, what it is, how reliable it is): shown on the research page and downloadable as CSV.
DICTIONARY = (
    ("comment_id", N_("Source and the source's comment id."), N_("Exact.")),
    ("article_id", N_("The article's id at the source."), N_("Exact.")),
    ("parent_id", N_("The comment replied to (empty: a comment on the article)."),
     N_("Exact where the source kept threads; a missing parent makes the reply a thread start.")),
    ("author", N_("Keyed-hash pseudonym of the author (stable within this project)."),
     N_("Exact for the same spelling; one person with two names counts as two.")),
    ("created_at", N_("When the comment was written (UTC)."), N_("As the source gave it.")),
    ("language", N_("Language detected per comment (site languages only)."),
     N_("Reliable for sentences; very short or emoji-only comments may carry the context's language or none.")),
    ("text", N_("The comment (full), or with e-mail addresses, links and @names masked (pseudonymised), or empty."),
     N_("Pseudonymised text still contains names written without @.")),
    *((f"score_{label}", N_("Highest score any model gave this label (0-1); empty when no model scored it."),
       N_("Model estimates, not facts: the shipped model reaches ROC-AUC 0.91 on its own held-out data but only "
          "0.54-0.63 on German news-comment moderation (README, per-measure reliability); compare with the "
          "moderator decisions before relying on them.")) for label in LABELS),
    ("scores", N_("Every scorer's scores as JSON (scorer -> label -> score)."), N_("As for the score columns.")),
    ("sentiment", N_("Sentiment from -1 (negative) to 1 (positive)."),
     N_("Lexicon and classifier estimate; irony and sarcasm are often missed.")),
    ("sentiment_model", N_("Which sentiment model scored the language."), N_("Exact.")),
    ("model_versions", N_("Each scorer's name and version at the newest triage (JSON)."), N_("Exact.")),
    ("ruleset_version", N_("Hash of the rule files at the newest triage."), N_("Exact.")),
    ("rules_hit", N_("Rules that matched (semicolon-separated)."),
     N_("Exact for the listed words and links; rules catch only what they list.")),
    ("model_decision", N_("The desk's triage verdict: approve, hold or reject."), N_("Exact (what the desk did).")),
    ("risk", N_("The desk's graded risk (0-1) that orders the queue."),
     N_("Ranking quality against moderator rejections is shown on the model page (ROC-AUC).")),
    ("human_decision", N_("Final moderator decision: approved or rejected; empty when none."),
     N_("Exact; imported decisions are the source site's.")),
    ("reason_code", N_("The reason a moderator gave with the final decision."), N_("As the moderator chose it.")),
    ("decisions", N_("Approvals, rejections and undos in the decision log."), N_("Exact.")),
    ("seconds_to_decision", N_("Seconds from arrival on the desk to a moderator's first decision here."),
     N_("Exact; empty for decisions imported with the comment (their waiting time is unknown).")),
)
COLUMNS = tuple(name for name, _, _ in DICTIONARY)


def pseudonymised_text(text: str, pseudonym: Callable[[str], str], names: tuple[str | None, ...] = ()) -> str:
    """E-mail addresses and links masked; @names and the thread's known names replaced by their pseudonyms."""
    out = LINK.sub("[link]", EMAIL.sub("[email]", text))
    out = HANDLE.sub(lambda m: "@" + pseudonym(m.group(1)), out)
    for name in sorted({n for n in names if n and len(n) >= 3}, key=len, reverse=True):
        out = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", pseudonym(name), out)
    return out


def _query():  # noqa: ANN202 - a SQLAlchemy select
    from moderation.store import Article, Comment, Decision, TriageResult  # noqa: PLC0415

    counts = (select(Decision.comment_id, func.count().label("n"))
              .where(Decision.action.in_(("approve", "reject", "undo"))).group_by(Decision.comment_id).subquery())
    last = select(Decision.comment_id, func.max(Decision.id).label("decision_id")) \
        .where(Decision.action.in_(("approve", "reject"))).group_by(Decision.comment_id).subquery()
    first = first_decisions()
    parent = aliased(Comment)
    return (select(Comment.id, Comment.source, Comment.external_id, Article.external_id, parent.external_id,
                   Comment.author, parent.author, Comment.created_at, Comment.language, Comment.text,
                   Comment.status, Comment.decided_by_human, TriageResult.scores, TriageResult.scorer_versions,
                   TriageResult.ruleset_version, TriageResult.hits, TriageResult.decision, TriageResult.risk,
                   Decision.reason_code, counts.c.n, Comment.imported_at, first.c.decided_at)
            .join(Article, Comment.article_id == Article.id)
            .outerjoin(parent, Comment.parent_id == parent.id)
            .outerjoin(TriageResult, TriageResult.id == Comment.triage_id)
            .outerjoin(counts, counts.c.comment_id == Comment.id)
            .outerjoin(last, last.c.comment_id == Comment.id)
            .outerjoin(Decision, Decision.id == last.c.decision_id)
            .outerjoin(first, first.c.comment_id == Comment.id))


def rows(db: "Database", pseudonym: Callable[[str], str], text: str = "pseudonymised",
         sentiment: object | None = None) -> Iterator[dict]:
    """Every stored comment as a dict of COLUMNS, in id order, read in keyset pages of CHUNK rows."""
    from moderation.store import Comment  # noqa: PLC0415

    if text not in TEXT_MODES:
        raise ValueError(f"text must be one of {', '.join(TEXT_MODES)}")
    if sentiment is None:
        from moderation.research.sentimentmodel import default  # noqa: PLC0415 - loads lexicons

        sentiment = default()
    versions = sentiment.versions
    after = 0
    while True:
        with db.session() as session:
            page = session.execute(_query().where(Comment.id > after).order_by(Comment.id).limit(CHUNK)).all()
        if not page:
            return
        after = page[-1][0]
        moods = sentiment.score([r[9] or "" for r in page], [r[8] for r in page])
        for r, mood in zip(page, moods):
            yield _row(r, float(mood), versions, pseudonym, text)


def _row(r: tuple, mood: float, versions: dict, pseudonym: Callable[[str], str], mode: str) -> dict:
    (_, source, ext, article, parent_ext, author, parent_author, created, language, body, status, human, scores,
     scorer_versions, ruleset, hits, verdict, risk, reason, n_decisions, arrived, decided) = r
    shown = body if mode == "full" else pseudonymised_text(body or "", pseudonym, (author, parent_author)) \
        if mode == "pseudonymised" else ""
    row = {"comment_id": f"{source}/{ext}", "article_id": article,
           "parent_id": f"{source}/{parent_ext}" if parent_ext else "", "author": pseudonym(author) or "",
           "created_at": created.isoformat() if created else "", "language": language or "", "text": shown}
    for label in LABELS:
        value = top_score(scores, label)
        row[f"score_{label}"] = "" if value is None else round(value, 4)
    seconds = waited(arrived, decided)
    row.update(scores=json.dumps(scores or {}, sort_keys=True), sentiment=round(mood, 4) if mood == mood else "",
               sentiment_model=versions.get(language or "", ""),
               model_versions=json.dumps(scorer_versions or {}, sort_keys=True), ruleset_version=ruleset or "",
               rules_hit=";".join(dict.fromkeys(h.get("rule", "") for h in hits or ())),
               model_decision=verdict or "", risk="" if risk is None else round(risk, 4),
               human_decision=status if human and status in ("approved", "rejected") else "",
               reason_code=reason or "", decisions=n_decisions or 0,
               seconds_to_decision="" if seconds is None else round(seconds))
    return row


def csv_chunks(records: Iterator[dict]) -> Iterator[str]:
    """CSV text in pieces (header first) for a streamed download."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    for k, record in enumerate(records, 1):
        writer.writerow(record)
        if k % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def dictionary_csv(translate: Callable[[str], str] = str) -> str:
    """The data dictionary as CSV: column, meaning, reliability."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["column", "meaning", "reliability"])
    writer.writerows((name, translate(meaning), translate(note)) for name, meaning, note in DICTIONARY)
    return buffer.getvalue()
