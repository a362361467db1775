"""`python -m bench.links [--show]`: which real comments the site's link rules hold, to watch false positives.

Two samples from the corpora in ../shared/data (fixed seed): 2,000 comments drawn at random (German and English
news comments), and up to 2,000 "risky" ones whose text has a spaced slash or dot (" / ", " . ") or "www", the
shapes the obfuscated-link patterns look for. Prints the hits per rule; --show lists each hit's text to judge
by hand. Run it on two checkouts to compare a change (bench/FUZZ.md has the figures).
"""
from __future__ import annotations

import argparse
import random
import re
from collections import Counter
from pathlib import Path

from bench import corpora
from moderation.rules import CommentContext, load_ruleset

ROOT = Path(__file__).resolve().parent.parent
LINK_RULES = ("no-video-links", "channel-promotion")
SOURCES = {"one-million-posts": "de", "rp-mod-crowd": "de", "germeval2021-toxic": "de", "fox-news-comments": "en",
           "wiki-toxicity-testset": "en"}
RISKY = re.compile(r" / | \. |www", re.IGNORECASE)


def samples(root: Path, size: int = 2000, seed: int = 0) -> dict[str, list[tuple[str, str]]]:
    """{"random": [(text, language)], "risky": [...]}, each at most `size` comments."""
    texts = [(t, lang) for name, lang in SOURCES.items() for t in corpora.load(name, root).texts]
    rng = random.Random(seed)
    risky = [item for item in texts if RISKY.search(item[0])]
    return {"random": rng.sample(texts, min(size, len(texts))), "risky": rng.sample(risky, min(size, len(risky)))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", action="store_true", help="print every hit's text")
    args = parser.parse_args()
    ruleset = load_ruleset(ROOT / "rules")
    for name, comments in samples(corpora.default_root()).items():
        hits: Counter[str] = Counter()
        for text, language in comments:
            for hit in ruleset.evaluate(CommentContext(text, language=language)).hits:
                if hit.rule_id in LINK_RULES:
                    hits[hit.rule_id] += 1
                    if args.show:
                        print(f"[{name}] {hit.rule_id}: {text[:200]!r}")
        print(f"{name}: {len(comments)} comments, " + ", ".join(f"{r} {hits[r]}" for r in LINK_RULES))


if __name__ == "__main__":
    main()
