"""What-if replay speed: stored comments with their triage results, replayed under a draft rule set."""
from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

from bench.generate import import_rows
from moderation.domain.comments import CommentRecord, ImportBatch
from moderation.config import PROJECT_ROOT
from moderation.assess.pipeline import Pipeline
from moderation.services.jobs import triage_stored
from moderation.rules import load_ruleset
from moderation.scoring.lexicon import LexiconScorer
from moderation.store import Database
from moderation.store.loading import load_batch
from moderation.services.whatif import replay

RULES = PROJECT_ROOT / "rules"


def prepare(db: Database, n: int) -> None:
    """n generated comments, a fifth with a moderator decision, all triaged by the active rules."""
    batch = ImportBatch("bench", "generated")
    for i, row in enumerate(import_rows(n)):
        decision = ("rejected" if i % 10 == 0 else "approved") if i % 5 == 0 else None
        batch.comments.append(CommentRecord(row["id"], row["article_id"], row["text"], parent_id=row.get("parent_id"),
                                            author=row["author"], decision=decision))
    with db.session() as session:
        load_batch(session, batch)
    rs = load_ruleset(RULES)
    triage_stored(db, Pipeline(rs, [LexiconScorer(rs)]), batch_size=2000, workers=2)


def main(n: int = 100_000, postgres: str | None = None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(postgres or f"sqlite:///{tmp}/tuning.db")
        start = time.perf_counter()
        prepare(db, n)
        print(f"# what-if replay, n={n:,} on {db.dialect} (prepared in {time.perf_counter() - start:.0f} s)")
        draft_dir = Path(tmp) / "draft"
        shutil.copytree(RULES, draft_dir)
        site = draft_dir / "site.yaml"
        # The question an admin asks: what if new authors' comments were held until a few were approved?
        site.write_text(site.read_text(encoding="utf-8")
                        .replace("premoderation: flagged", "premoderation: new_authors"), encoding="utf-8")
        active, draft = load_ruleset(RULES), load_ruleset(draft_dir)
        result = replay(db, Pipeline(draft, [LexiconScorer(draft)]), Pipeline(active, [LexiconScorer(active)]),
                        workers=2)
        print(f"replay: {result.compared:,} comments in {result.seconds:.2f} s "
              f"({result.compared / result.seconds:,.0f}/s; CPU {result.cpu_seconds:.2f} s in all processes, "
              f"{result.compared / result.cpu_seconds:,.0f}/s per core of CPU time); "
              f"changed {sum(result.changes.values()):,} {dict(result.changes)}; "
              f"agreement {json.dumps(result.to_dict()['agreement']['draft'])}")
        db.dispose()
