"""Readers for the labelled corpora in ../shared/data, each into a Dataset with the shared label names."""
from __future__ import annotations

import csv
import gzip
import json
import lzma
import os
from pathlib import Path
from typing import Callable

import numpy as np

from moderation.learning.training import Dataset

NAN = np.nan
_ROOT = Path(__file__).resolve().parent.parent


def default_root() -> Path:
    """MODERATION_DATA, else ../shared/data next to the checkout (or next to its worktree folder)."""
    if os.environ.get("MODERATION_DATA"):
        return Path(os.environ["MODERATION_DATA"])
    candidates = [_ROOT.parent / "shared" / "data", _ROOT.parent.parent / "shared" / "data"]
    return next((c for c in candidates if c.is_dir()), candidates[0])


def _ds(name: str, rows: list[tuple[str, dict[str, float]]], labels: tuple[str, ...]) -> Dataset:
    y = np.array([[r.get(lb, NAN) for lb in labels] for _, r in rows], dtype=np.float64)
    return Dataset([t for t, _ in rows], labels, y, [name] * len(rows))


def germeval2018(root: Path) -> Dataset:
    """German tweets: OFFENSE -> toxicity; INSULT -> insult; PROFANITY -> obscene (CC BY 4.0)."""
    rows = []
    with open(root / "germeval2018" / "germeval2018.training.txt", encoding="utf-8") as fh:
        for line in fh:
            text, coarse, fine = line.rstrip("\n").split("\t")
            rows.append((text, {"toxicity": float(coarse == "OFFENSE"), "insult": float(fine == "INSULT"),
                                "obscene": float(fine == "PROFANITY")}))
    return _ds("germeval2018", rows, ("toxicity", "insult", "obscene"))


def gahd(root: Path) -> Dataset:
    """German adversarial hate speech (train+dev; test withheld): hate -> toxicity and identity_attack (CC BY 4.0)."""
    with gzip.open(root / "gahd" / "gahd.csv.gz", "rt", encoding="utf-8") as fh:
        rows = [(r["text"], {"toxicity": float(r["label"]), "identity_attack": float(r["label"])})
                for r in csv.DictReader(fh)]
    return _ds("gahd", rows, ("toxicity", "identity_attack"))


def davidson(root: Path) -> Dataset:
    """English tweets: hate -> toxicity+identity_attack, offensive -> toxicity (MIT)."""
    with gzip.open(root / "davidson-hate-offensive" / "labeled_data.csv.gz", "rt", encoding="utf-8") as fh:
        rows = [(r["tweet"], {"toxicity": float(r["class"] in ("0", "1")), "identity_attack": float(r["class"] == "0")})
                for r in csv.DictReader(fh)]
    return _ds("davidson", rows, ("toxicity", "identity_attack"))


def fox_news(root: Path) -> Dataset:
    """English news comments: hateful -> toxicity (MIT)."""
    with gzip.open(root / "fox-news-comments" / "fox-news-comments.json.gz", "rt", encoding="utf-8") as fh:
        rows = [(o["text"], {"toxicity": float(o["label"])}) for o in map(json.loads, filter(str.strip, fh))]
    return _ds("fox-news", rows, ("toxicity",))


def wiki_talk(root: Path) -> Dataset:
    """English Wikipedia talk comments, CAT-LARGE gc+gn: toxic -> toxicity (Apache-2.0; texts CC BY-SA 3.0)."""
    rows = []
    for name in ("gc", "gn"):
        with gzip.open(root / "wiki-talk-context-toxicity" / "CAT_LARGE" / f"{name}.csv.gz", "rt",
                       encoding="utf-8") as fh:
            rows += [(r["text"], {"toxicity": float(r["label"])}) for r in csv.DictReader(fh) if r["text"].strip()]
    return _ds("wiki-talk-context", rows, ("toxicity",))


# Evaluation-only corpora (not trained on: held out, NC, or no licence).
def wiki_toxicity_testset(root: Path) -> Dataset:
    with open(root / "wiki-toxicity-testset" / "toxicity_nonfuzzed_testset.csv", encoding="utf-8") as fh:
        rows = [(r["comment"], {"toxicity": float(r["toxic"] == "True")}) for r in csv.DictReader(fh)]
    return _ds("wiki-toxicity-testset", rows, ("toxicity",))


def germeval2021(root: Path) -> Dataset:
    with open(root / "germeval2021-toxic" / "GermEval21_TrainData.csv", encoding="utf-8") as fh:
        rows = [(r["comment_text"], {"toxicity": float(r["Sub1_Toxic"])}) for r in csv.DictReader(fh)]
    return _ds("germeval2021", rows, ("toxicity",))


def rp_mod(root: Path) -> Dataset:
    with gzip.open(root / "rp-mod-crowd" / "RP-Mod-train.csv.gz", "rt", encoding="utf-8") as fh:
        rows = [(r["text"], {"toxicity": float(r["label"])}) for r in csv.DictReader(fh) if r["text"].strip()]
    return _ds("rp-mod", rows, ("toxicity",))


def one_million_posts(root: Path) -> Dataset:
    """Der Standard posts: deleted by moderators -> 1 (status is the moderators' decision)."""
    seen: dict[str, tuple[str, float]] = {}
    with lzma.open(root / "one-million-posts" / "posts_labeled.csv.xz", "rt", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            text = " ".join(x for x in (r["Headline"], r["Body"]) if x and x.strip())
            if text.strip():
                seen[r["ID_Post"]] = (text, float(r["Status"] == "deleted"))
    return _ds("one-million-posts", [(t, {"toxicity": v}) for t, v in seen.values()], ("toxicity",))


def iwg_refugees(root: Path) -> Dataset:
    """German tweets on refugees, hate speech per expert 1 (CC BY-SA 3.0: evaluation only here)."""
    with open(root / "iwg-hatespeech-refugees" / "german_hatespeech_refugees.csv", encoding="utf-8") as fh:
        rows = [(r["Tweet"], {"toxicity": float(r["HatespeechOrNot (Expert 1)"].strip().upper() == "YES")})
                for r in csv.DictReader(fh)]
    return _ds("iwg-refugees", rows, ("toxicity",))


# name -> (reader, licence, language); TRAIN is what the shipped model learns from: permissive licences only.
TRAIN: dict[str, tuple[Callable[[Path], Dataset], str, str]] = {
    "germeval2018": (germeval2018, "CC BY 4.0", "de"),
    "gahd": (gahd, "CC BY 4.0", "de"),
    "davidson-hate-offensive": (davidson, "MIT", "en"),
    "fox-news-comments": (fox_news, "MIT", "en"),
    "wiki-talk-context-toxicity": (wiki_talk, "Apache-2.0 (texts CC BY-SA 3.0)", "en"),
}
EVALUATE: dict[str, tuple[Callable[[Path], Dataset], str, str]] = {
    "germeval2021-toxic": (germeval2021, "none stated (research use)", "de"),
    "rp-mod-crowd": (rp_mod, "CC BY-NC-SA 4.0", "de"),
    "one-million-posts": (one_million_posts, "CC BY-NC-SA 4.0", "de"),
    "iwg-hatespeech-refugees": (iwg_refugees, "CC BY-SA 3.0", "de"),
    "wiki-toxicity-testset": (wiki_toxicity_testset, "Apache-2.0", "en"),
}


def load(name: str, root: Path) -> Dataset:
    reader = (TRAIN.get(name) or EVALUATE[name])[0]
    return reader(root)


# -- held-out splits: the official test files are withheld, so each corpus' training portion is split once,
# deterministically, into rows to fit and rows to measure on (the official dev/fold split where one exists).
def _gahd_heldout(root: Path) -> np.ndarray:
    with gzip.open(root / "gahd" / "gahd.csv.gz", "rt", encoding="utf-8") as fh:
        return np.array([r["split"] == "dev" for r in csv.DictReader(fh)])


def _rp_mod_heldout(root: Path) -> np.ndarray:
    with gzip.open(root / "rp-mod-crowd" / "RP-Mod-train.csv.gz", "rt", encoding="utf-8") as fh:
        return np.array([r["five_folds"] == "3" for r in csv.DictReader(fh) if r["text"].strip()])


def _stratified_fifth(data: Dataset) -> np.ndarray:
    from sklearn.model_selection import train_test_split  # noqa: PLC0415

    y = data.column("toxicity")
    _, held = train_test_split(np.arange(len(data)), test_size=0.2, random_state=0, stratify=y)
    mask = np.zeros(len(data), dtype=bool)
    mask[held] = True
    return mask


# name -> (how the held-out rows are chosen, function giving the held-out mask in the reader's row order)
HELDOUT: dict[str, tuple[str, Callable[[Path, Dataset], np.ndarray]]] = {
    "germeval2018": ("stratified 20 % of the training file (random_state 0); official test withheld",
                     lambda root, data: _stratified_fifth(data)),
    "gahd": ("the official dev split (1,649 rows); fit on the official train split; test withheld",
             lambda root, data: _gahd_heldout(root)),
    "germeval2021-toxic": ("stratified 20 % of the training file (random_state 0); official test withheld",
                           lambda root, data: _stratified_fifth(data)),
    "rp-mod-crowd": ("the authors' fold five_folds = 3 of the train portion (2,856 rows); official test withheld",
                     lambda root, data: _rp_mod_heldout(root)),
    # Its Fold column is per annotation category, not per post (folds 9-10 hold 29 % deletions, the corpus 15 %).
    "one-million-posts": ("stratified 20 % of the labelled posts (random_state 0); no official post-level split",
                          lambda root, data: _stratified_fifth(data)),
}


def split(name: str, root: Path) -> tuple[Dataset, Dataset]:
    """(rows to fit, held-out rows) of a corpus, as HELDOUT describes; the whole corpus is fit where none is named."""
    data = load(name, root)
    if name not in HELDOUT:
        return data, data.take(np.zeros(len(data), dtype=bool))
    held = HELDOUT[name][1](root, data)
    if len(held) != len(data):
        raise ValueError(f"{name}: held-out mask has {len(held)} rows, the corpus {len(data)}")
    return data.take(~held), data.take(held)


def write_csv(data: Dataset, path: Path) -> Path:
    """text,label CSV (the evaluation contract's format) of the toxicity column."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["text", "label"])
        for text, value in zip(data.texts, data.column("toxicity")):
            if value == value:  # not NaN
                out.writerow([text, int(value)])
    return path


def real_comments(root: Path, n: int) -> dict[str, list[str]]:
    """Up to n real comments (non-empty texts, in file order) from each corpus the speed benchmarks read:
    One Million Posts bodies and RP-Mod (German), Civil Comments toxic spans and Fox News comments (English)."""
    out: dict[str, list[str]] = {}
    with lzma.open(root / "one-million-posts" / "posts_labeled.csv.xz", "rt", encoding="utf-8") as fh:
        out["one-million-posts"] = _first(n, (r["Body"] for r in csv.DictReader(fh)))
    with gzip.open(root / "rp-mod-crowd" / "RP-Mod-train.csv.gz", "rt", encoding="utf-8") as fh:
        out["rp-mod-crowd"] = _first(n, (r["text"] for r in csv.DictReader(fh)))
    with gzip.open(root / "civil-comments-toxic-spans" / "semeval2021" / "tsd_train.csv.gz", "rt",
                   encoding="utf-8") as fh:
        out["civil-comments-toxic-spans"] = _first(n, (r["text"] for r in csv.DictReader(fh)))
    with gzip.open(root / "fox-news-comments" / "fox-news-comments.json.gz", "rt", encoding="utf-8") as fh:
        out["fox-news-comments"] = _first(n, (json.loads(line)["text"] for line in fh if line.strip()))
    return out


def _first(n: int, texts) -> list[str]:  # noqa: ANN001 - any iterable of str
    out: list[str] = []
    for text in texts:
        if text and text.strip():
            out.append(text.replace("|LBR|", "\n"))
            if len(out) == n:
                break
    return out
