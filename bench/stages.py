"""Every triage stage on real comments, each beside a peer measured in the same run (issue 13).

CPU time (time.process_time; children's for the CLI runs) per stage, its rate, and its ratio to the peer. Real
comments from ../shared/data: One Million Posts bodies and RP-Mod (German), Civil Comments spans and Fox News
comments (English). Generated text only for the length scale test.
"""
from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.corpora import default_root, real_comments
from bench.generate import texts as generated
from moderation.assess.pipeline import Item, Pipeline
from moderation.config import PROJECT_ROOT, Config
from moderation.domain import detector
from moderation.domain.language import LanguageDetector
from moderation.rules import CommentContext, load_ruleset
from moderation.rules.plaintext import plain_words
from moderation.scoring.lexicon import LexiconScorer
from moderation.scoring.sklearn import PACKAGE_MODEL, SklearnScorer, lexicon_from_ruleset

RULES = Path(os.environ.get("BENCH_RULES", PROJECT_ROOT / "rules"))
GERMAN = ("one-million-posts", "rp-mod-crowd")
IMPORT_N = 12_500  # comments per corpus for the import rows: enough that start-up is a small share


def _cpu(fn, items) -> float:  # noqa: ANN001 - a callable over the items
    start = time.process_time()
    fn(items)
    return time.process_time() - start


def _row(name: str, n: int, cpu: float, peer: str | None = None, peer_cpu: float | None = None) -> str:
    line = f"{name}: {n / cpu:,.0f}/s of CPU ({n:,} in {cpu:.2f} s)"
    if peer:
        line += f"; peer {peer}: {n / peer_cpu:,.0f}/s; ours/peer speed {peer_cpu / cpu:.2f}x"
    return line


def _plain_langdetect(texts: list[str]) -> None:
    from langdetect.detector import Detector  # noqa: PLC0415
    from langdetect.lang_detect_exception import LangDetectException  # noqa: PLC0415

    factory = detector._factory(("de", "en"), 0)  # the same restricted, seeded profiles, unmodified Detector
    for text in texts:
        d = Detector(factory)
        d.set_max_text_length(600)
        d.append(text)
        try:
            d.get_probabilities()
        except LangDetectException:
            pass


def language(texts: list[str]) -> list[str]:
    ours = LanguageDetector(["de", "en"])
    detector.cache_clear()
    cold = _cpu(lambda ts: [ours.detect(t) for t in ts], texts)
    warm = _cpu(lambda ts: [ours.detect(t) for t in ts], texts)
    plain = _cpu(_plain_langdetect, texts)
    return [_row("language detection (cold cache)", len(texts), cold, "plain langdetect, same profiles+seed", plain),
            _row("language detection (second pass, cached)", len(texts), warm)]


def _trie_regex(words: list[str]) -> re.Pattern:
    """A regex compiled from a trie of the words (shared prefixes factored), word-bounded."""
    trie: dict = {}
    for w in words:
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = True

    def render(node: dict) -> str:
        alts = [re.escape(ch) + render(child) for ch, child in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 and "" not in node else "(?:" + "|".join(alts) + ")"
        return body + ("?" if "" in node and alts else "")

    return re.compile(r"\b" + render(trie) + r"\w*")


def rules(texts: list[str], langs: list[str]) -> list[str]:
    import ahocorasick  # noqa: PLC0415 - bench extra

    rs = load_ruleset(RULES)
    zeros = {label: 0.0 for label in rs.model_labels}
    ours = _cpu(lambda ts: [rs.evaluate(CommentContext(t, language=lg, scores=zeros)) for t, lg in ts],
                list(zip(texts, langs)))
    words = sorted({e.strip("*=").lower() for es in lexicon_from_ruleset(rs).values() for e in es if e.strip("*=")})
    automaton = ahocorasick.Automaton()
    for w in words:
        automaton.add_word(w, w)
    automaton.make_automaton()

    def aho(ts: list[str]) -> None:
        for t in ts:
            low = t.lower()
            [w for end, w in automaton.iter(low) if end + 1 - len(w) == 0 or not low[end - len(w)].isalnum()]

    trie = _trie_regex(words)
    floor = re.compile(r"\w+")
    return [_row("rule engine alone (default rules, model scores given)", len(texts), ours,
                 f"pyahocorasick over the same {len(words):,} list words, word-start check", _cpu(aho, texts)),
            _row("rule engine alone", len(texts), ours, "trie-compiled regex over the same words",
                 _cpu(lambda ts: [trie.findall(t.lower()) for t in ts], texts)),
            _row("rule engine alone", len(texts), ours, "floor: lower-case + regex word split",
                 _cpu(lambda ts: [floor.findall(t.lower()) for t in ts], texts))]


def models(texts: list[str], batch: int = 1000) -> list[str]:
    from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: PLC0415
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415
    from sklearn.pipeline import make_pipeline  # noqa: PLC0415

    scorer = SklearnScorer.from_file(PACKAGE_MODEL)
    lexicon = LexiconScorer(load_ruleset(RULES))

    def run(fn):  # noqa: ANN001, ANN202
        return lambda ts: [fn(ts[i:i + batch]) for i in range(0, len(ts), batch)]

    cold = _cpu(run(scorer.score), texts)
    warm = _cpu(run(scorer.score), texts)
    # The peer learns from labels the shipped model gives (speed is what is compared here, not accuracy).
    labels = [s["toxicity"] >= 0.5 for s in scorer.score(texts[:4000])]
    peer = make_pipeline(TfidfVectorizer(ngram_range=(1, 2)), LogisticRegression(max_iter=200))
    peer.fit(texts[:4000], labels)
    peer_cpu = _cpu(run(peer.predict_proba), texts)
    lex = _cpu(run(lexicon.score), texts)
    floor = re.compile(r"\w+")
    return [_row("sklearn model (shipped, numpy scoring path), cold word cache", len(texts), cold,
                 "TF-IDF(1-2 grams)+LogisticRegression pipeline", peer_cpu),
            _row("sklearn model, second pass (word cache warm)", len(texts), warm,
                 "TF-IDF(1-2 grams)+LogisticRegression pipeline", peer_cpu),
            _row("lexicon scorer", len(texts), lex, "floor: lower-case + regex word split",
                 _cpu(lambda ts: [floor.findall(t.lower()) for t in ts], texts))]


def triage(texts: list[str], batch: int = 1000) -> list[str]:
    """The default configuration's pipeline (language, lexicon + sklearn scorers, rules, policy), in memory."""
    pipeline = Pipeline.from_config(Config(), load_ruleset(RULES))
    detector.cache_clear()
    items = [Item(t) for t in texts]
    cpu = _cpu(lambda xs: [pipeline.assess(xs[i:i + batch]) for i in range(0, len(xs), batch)], items)
    names = "+".join(s.name for s in pipeline.scorers)
    return [_row(f"full triage in memory, default configuration (scorers {names})", len(texts), cpu)]


def scale(n: int = 300) -> list[str]:
    """Cost against comment length: generated comments joined to ~200 and ~2,000 characters."""
    rs = load_ruleset(RULES)
    pipeline = Pipeline.from_config(Config(), rs)
    zeros = {label: 0.0 for label in rs.model_labels}
    pool = [t for t, _ in generated(40 * n)]
    out, per = [], {}
    for size in (200, 2000):
        docs, buf = [], ""
        for t in pool:
            buf = f"{buf} {t}" if buf else t
            if len(buf) >= size:
                docs.append(buf[:size])
                buf = ""
                if len(docs) == n:
                    break
        per[size] = (_cpu(lambda ds: [rs.evaluate(CommentContext(d, language="de", scores=zeros)) for d in ds], docs)
                     / len(docs), _cpu(lambda ds: pipeline.assess([Item(d) for d in ds]), docs) / len(docs))
        # The engine's two paths apart: a longer text more often shows some dodge sign and takes the full look.
        by_path = {True: [], False: []}
        for d in docs:
            by_path[plain_words(d) is not None].append(d)
        for plain, part in by_path.items():
            per[(size, plain)] = (len(part), _cpu(lambda ds: [rs.evaluate(CommentContext(d, language="de",
                                                                                        scores=zeros)) for d in ds],
                                                  part) / max(len(part), 1))
    for i, stage in enumerate(("rule engine", "full triage")):
        out.append(f"scale, {stage}: {per[200][i] * 1e6:,.0f} µs at 200 chars, {per[2000][i] * 1e6:,.0f} µs at "
                   f"2,000 chars: {per[2000][i] / per[200][i]:.1f}x (target <= 12x)")
    for plain, name in ((True, "plain path"), (False, "full look")):
        (n1, a), (n2, b) = per[(200, plain)], per[(2000, plain)]
        out.append(f"scale, rule engine, texts on the {name}: {a * 1e6:,.0f} µs at 200 chars ({n1} of {n}), "
                   f"{b * 1e6:,.0f} µs at 2,000 chars ({n2} of {n}): {b / a if a else float('nan'):.1f}x")
    return out


def write_import_file(path: Path, comments: dict[str, list[str]]) -> int:
    """The comments as an import JSONL file, 200 to an article; every third one replies to the one before it."""
    n = 0
    with open(path, "w", encoding="utf-8") as fh:
        for name, texts in comments.items():
            for i, text in enumerate(texts):
                parent = f"{name}-{i - 1}" if i % 3 == 2 else None  # i % 3 == 2 never starts an article
                fh.write(json.dumps({"id": f"{name}-{i}", "article_id": f"{name}-a{i // 200}", "parent_id": parent,
                                     "author": f"u{i % 997}", "created_at": "2026-01-01T10:00:00+00:00",
                                     "text": text}, ensure_ascii=False) + "\n")
                n += 1
    return n


def _child_cpu(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """CPU seconds (user + system) and wall seconds of one child process."""
    before, wall = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run(args, env=env, check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime), time.perf_counter() - wall


def importing(comments: dict[str, list[str]], runs: int = 3) -> list[str]:
    """`moderation import FILE` into a new SQLite database, a child process per run: the whole process, and per
    comment with the start-up (the same command on a one-comment file) taken out. Median of `runs`."""
    import statistics  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as tmp:
        path, one = Path(tmp) / "real.jsonl", Path(tmp) / "one.jsonl"
        n = write_import_file(path, comments)
        with open(path, encoding="utf-8") as fh:
            one.write_text(fh.readline(), encoding="utf-8")
        base = [sys.executable, "-m", "moderation", "--rules", str(RULES), "import"]
        whole, start, walls = [], [], []
        for run in range(runs):
            env = {**os.environ, "PYTHONDONTWRITEBYTECODE": ""}
            start.append(_child_cpu([*base, str(one)], {**env, "MODERATION_DATABASE_URL":
                                                        f"sqlite:///{tmp}/one{run}.db"})[0])
            cpu, wall = _child_cpu([*base, str(path)], {**env, "MODERATION_DATABASE_URL": f"sqlite:///{tmp}/all{run}.db"})
            whole.append(cpu)
            walls.append(wall)
    cpu, up, wall = statistics.median(whole), statistics.median(start), statistics.median(walls)
    return [f"import (moderation import, SQLite, whole process incl. start-up): {n / cpu:,.0f}/s of CPU, "
            f"{n / wall:,.0f}/s wall ({n:,} comments, a third replies; median of {runs}: {cpu:.2f} s CPU)",
            f"import per comment (start-up taken out: a one-comment import took {up:.2f} s CPU): "
            f"{(n - 1) / (cpu - up):,.0f}/s of CPU ({(cpu - up) / (n - 1) * 1e6:.0f} µs a comment)"]


def end_to_end(comments: dict[str, list[str]]) -> list[str]:
    """`moderation triage --workers 1|2` on SQLite after `moderation import`, as separate processes (the import
    itself is measured by importing())."""
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "real.jsonl"
        n = 0
        with open(path, "w", encoding="utf-8") as fh:
            for name, texts in comments.items():
                for i, text in enumerate(texts):
                    fh.write(json.dumps({"id": f"{name}-{i}", "article_id": f"{name}-a{i // 200}", "parent_id": None,
                                         "author": f"u{i % 997}", "created_at": "2026-01-01T10:00:00+00:00",
                                         "text": text}, ensure_ascii=False) + "\n")
                    n += 1
        for workers in (1, 2):
            env = {**os.environ, "MODERATION_DATABASE_URL": f"sqlite:///{tmp}/w{workers}.db",
                   "PYTHONDONTWRITEBYTECODE": ""}
            base = [sys.executable, "-m", "moderation", "--rules", str(RULES)]
            subprocess.run([*base, "import", str(path)], env=env, check=True, capture_output=True)
            cpu1, wall1 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
            subprocess.run([*base, "triage", "--workers", str(workers)], env=env, check=True, capture_output=True)
            cpu2, wall2 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
            tri = (cpu2.ru_utime + cpu2.ru_stime) - (cpu1.ru_utime + cpu1.ru_stime)
            out.append(f"moderation triage --workers {workers} (SQLite, whole process incl. start-up): "
                       f"{n / (wall2 - wall1):,.0f}/s wall, {n / tri:,.0f}/s of CPU summed over processes")
    return out


def accuracy(comments: dict[str, list[str]]) -> list[str]:
    """Share of comments given their corpus' language: ours (langdetect) beside lingua and fastText."""
    truth = [(t, "de" if name in GERMAN else "en") for name, ts in comments.items() for t in ts]
    ours = LanguageDetector(["de", "en"])
    rows = [f"language accuracy, langdetect (ours, restricted de/en, fallback counted as given): "
            f"{sum(ours.detect(t).language == lg for t, lg in truth) / len(truth):.2%}"]
    try:
        from lingua import Language, LanguageDetectorBuilder  # noqa: PLC0415
    except ImportError:
        rows.append("lingua: not installed (pip install 'moderation-desk[bench]')")
    else:
        lingua = LanguageDetectorBuilder.from_languages(Language.GERMAN, Language.ENGLISH).build()
        codes = {Language.GERMAN: "de", Language.ENGLISH: "en"}
        start = time.process_time()
        right = sum(codes.get(lingua.detect_language_of(t)) == lg for t, lg in truth)
        cpu = time.process_time() - start
        rows.append(f"language accuracy, lingua (de/en): {right / len(truth):.2%}, {len(truth) / cpu:,.0f}/s of CPU")
    rows.append("fastText lid.176: not measured (its model file cannot be downloaded on this machine)")
    return rows


def import_main(n: int = IMPORT_N, postgres: str | None = None) -> None:  # noqa: ARG001 - the suites' signature
    """`python -m bench.run import --n N`: the import rows alone, N real comments per corpus (at most IMPORT_N)."""
    comments = real_comments(default_root(), min(n, IMPORT_N))
    print(f"# import on real comments: {', '.join(f'{k} {len(v):,}' for k, v in comments.items())}; "
          f"load average {os.getloadavg()[0]:.2f}; python {sys.version.split()[0]}")
    for line in importing(comments):
        print(line, flush=True)
    print(f"# load average at the end {os.getloadavg()[0]:.2f}")


def main(n: int = 2500, postgres: str | None = None) -> None:  # noqa: ARG001 - the suites' common signature
    n = min(n, 5000)
    comments = real_comments(default_root(), n)
    texts = [t for ts in comments.values() for t in ts]
    langs = [("de" if name in GERMAN else "en") for name, ts in comments.items() for _ in ts]
    print(f"# stages on real comments: {', '.join(f'{k} {len(v):,}' for k, v in comments.items())}; "
          f"load average {os.getloadavg()[0]:.2f}; python {sys.version.split()[0]}")
    for part in (lambda: language(texts), lambda: rules(texts, langs), lambda: models(texts),
                 lambda: triage(texts), lambda: scale(), lambda: importing(real_comments(default_root(), IMPORT_N)),
                 lambda: end_to_end(comments), lambda: accuracy(comments)):
        for line in part():
            print(line, flush=True)
    print(f"# load average at the end {os.getloadavg()[0]:.2f}")
