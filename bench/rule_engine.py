"""Rule engine throughput on real One Million Posts comments: CPU time of one core, warm caches.

Run: python -m bench.rule_engine [N] [--parts]   (MODERATION_DATA points at the corpora)
The first N comments warm the per-process caches (a served worker is warm); the next N are timed.
--parts also prints the CPU time per comment of each stage the engine runs, measured alone.
"""
from __future__ import annotations

import csv
import lzma
import os
import sys
import time
from pathlib import Path

from bench.corpora import default_root
from moderation.rules import CommentContext, load_ruleset

RULES = Path(os.environ.get("BENCH_RULES", Path(__file__).resolve().parents[1] / "rules"))


def posts(n: int, root: Path | None = None) -> list[str]:
    """The first n non-empty One Million Posts bodies (headline + body, as the corpus reader joins them)."""
    texts: list[str] = []
    path = (root or default_root()) / "one-million-posts" / "posts_labeled.csv.xz"
    with lzma.open(path, "rt", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            text = " ".join(x for x in (row["Headline"], row["Body"]) if x and x.strip())
            if text.strip():
                texts.append(text)
                if len(texts) == n:
                    break
    return texts


def run(texts: list[str], rs: object) -> tuple[float, int]:
    """CPU seconds to evaluate every text (context built inside the loop), and how many had a hit."""
    zeros = {label: 0.0 for label in rs.model_labels}  # model scores are inputs here, as in bench.core
    hits = 0
    start = time.process_time()
    for text in texts:
        result = rs.evaluate(CommentContext(text, language="de", scores=zeros))
        hits += bool(result.hits or result.shadow_hits)
    return time.process_time() - start, hits


def parts(texts: list[str], rs: object) -> None:
    """CPU time per comment of the stages, each run alone over the same comments (second, warm pass)."""
    from moderation.domain.links import find_links  # noqa: PLC0415
    from moderation.domain.text import caps_ratio, repeated_run  # noqa: PLC0415
    from moderation.rules.plaintext import plain_words  # noqa: PLC0415

    words = [plain_words(t) for t in texts]
    stages = {
        "plain-text signs and folded words": lambda: [plain_words(t) for t in texts],
        "automaton pass (plain texts)": lambda: [rs.lists.marks(w[0]) for w in words if w],
        "find_links with its prefilter": lambda: [find_links(t, rs.hosts) for t in texts],
        "caps_ratio (shouting rule)": lambda: [caps_ratio(t, 21) for t in texts],
        "repeated_run (shouting rule)": lambda: [repeated_run(t, 9) for t in texts],
    }
    print(f"plain texts (no full look): {sum(w is not None for w in words) / len(texts):.1%}")
    for name, stage in stages.items():
        stage()
        start = time.process_time()
        stage()
        print(f"  {name}: {(time.process_time() - start) / len(texts) * 1e6:.1f} µs per comment")


def main(n: int = 20_000, show_parts: bool = False) -> None:
    texts = posts(2 * n)
    warm, timed = texts[:n], texts[n:]
    rs = load_ruleset(RULES)
    run(warm, rs)
    cpu, hits = run(timed, rs)
    chars = sum(map(len, timed)) / len(timed)
    print(f"rule engine: {len(timed) / cpu:,.0f} comments/s CPU ({cpu:.2f} s for {len(timed):,} One Million Posts "
          f"comments, mean {chars:.0f} characters, {hits / len(timed):.1%} with a hit); load {os.getloadavg()[0]:.2f}")
    if show_parts:
        parts(timed, rs)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(int(args[0]) if args else 20_000, "--parts" in sys.argv)
