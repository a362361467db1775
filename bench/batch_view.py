"""The batch view with many pending comments: time to bin the queue by risk and by a label, and the page for a range.

python -m bench.batch_view --n 20000   (a temporary SQLite database; prints one line per measurement)
"""
from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert, update

from moderation.services import batch
from moderation.store import Article, Comment, Database, TriageResult
from moderation.store import queue as q


def fill(db: Database, n: int, seed: int = 7) -> None:
    """n held comments with random risks and a random sklearn:insult score each."""
    rng = random.Random(seed)
    with db.session() as s:
        article = s.execute(insert(Article).values(source="bench", external_id="a1", title="Bench")
                            .returning(Article.id)).scalar()
        s.execute(insert(Comment), [{"source": "bench", "external_id": str(i), "article_id": article,
                                      "text": f"comment {i} " * 8, "status": "held", "risk": rng.random(),
                                      "version": 0, "meta": {}} for i in range(n)])
        ids = [c for (c,) in s.execute(Comment.__table__.select().with_only_columns(Comment.id))]
        s.execute(insert(TriageResult), [{"comment_id": c, "decision": "hold", "ruleset_version": "bench",
                                          "scores": {"sklearn": {"insult": rng.random()}}, "hits": [],
                                          "shadow_hits": [], "failures": [], "scorer_versions": {}}
                                         for c in ids])
        for c, t in s.execute(TriageResult.__table__.select().with_only_columns(TriageResult.comment_id,
                                                                                 TriageResult.id)):
            s.execute(update(Comment).where(Comment.id == c).values(triage_id=t))


def timed(fn, repeat: int = 3) -> float:  # noqa: ANN001
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=20000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'bench.db'}")
        fill(db, args.n)
        for measure in ("risk", "sklearn:insult"):
            def run(measure: str = measure) -> None:
                with db.session() as s:
                    batch.view(s, q.Filters(), measure, batch.Range(14, 19))
            print(f"view (bins + selection) by {measure}, {args.n} pending: best of 3 {timed(run) * 1000:.0f} ms")
        db.dispose()


if __name__ == "__main__":
    main()
