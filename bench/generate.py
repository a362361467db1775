"""Synthetic comment streams of realistic length and mix, deterministic for a given seed."""
from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

DE = ("die der das und ist nicht ich es auch wie dass so sie wir man mit für auf den von zu im ein eine "
      "Konzern Stellen Arbeit Menschen Jahren Geld Politik KI Roboter Lager Steuern Kosten Bürger Zukunft "
      "wird werden hat haben kann muss soll wurde gibt sind war immer schon wieder doch aber oder wenn weil "
      "endlich wirklich eigentlich natürlich leider genau völlig ganz gerade Milliarden Prozent Gewinn").split()
EN = ("the a and is not I it also how that so they we one with for on of to in an "
      "company jobs work people years money politics AI robots warehouse taxes costs citizens future "
      "will be has have can must should was there are always already again but or if because "
      "finally really actually of course sadly exactly completely quite billions percent profit").split()
SPICE_DE = ["Du bist ein Idiot.", "Was für ein Schwachsinn, liebe Heuchler.", "So eine Scheiße.",
            "Herr Albers hat die Bilanz gefälscht.", "schaut mal https://youtu.be/abc123",
            "Halt die Klappe, du Trottel!", "I.d.i.o.t", "🤡🖕"]
SPICE_EN = ["You are an idiot.", "What a load of bullshit.", "CEO Dana lied to investors.",
            "watch https://vimeo.com/12345"]


def _sentence(rng: random.Random, vocab: list[str]) -> str:
    words = rng.choices(vocab, k=rng.randint(5, 18))
    return " ".join(words).capitalize() + rng.choice([".", ".", ".", "!", "?", " …"])


def comment_text(rng: random.Random) -> tuple[str, str]:
    """A comment of realistic length (median about 150 and mean about 240 characters, as in One Million Posts), 85 % German."""
    lang = "de" if rng.random() < 0.85 else "en"
    vocab, spice = (DE, SPICE_DE) if lang == "de" else (EN, SPICE_EN)
    parts = [_sentence(rng, vocab) for _ in range(max(1, int(rng.lognormvariate(1.0, 0.85))))]
    if rng.random() < 0.15:
        parts.insert(rng.randrange(len(parts) + 1), rng.choice(spice))
    return " ".join(parts), lang


def texts(n: int, seed: int = 7) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    return [comment_text(rng) for _ in range(n)]


def import_rows(n: int, seed: int = 7, per_article: int = 200) -> Iterator[dict]:
    """Rows in the import schema: threads of up to `per_article` comments, a third of them replies."""
    rng = random.Random(seed)
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for i in range(n):
        article = i // per_article
        first = article * per_article
        text, _ = comment_text(rng)
        row = {"id": f"c{i}", "article_id": f"a{article}", "text": text, "author": f"user{rng.randrange(n // 10 + 1)}",
               "created_at": (t0 + timedelta(seconds=i * 7)).isoformat(), "article_title": f"Artikel {article}"}
        if i > first and rng.random() < 0.35:
            row["parent_id"] = f"c{rng.randrange(first, i)}"
        yield row


def write_jsonl(path: Path, n: int, seed: int = 7) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for row in import_rows(n, seed):
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path
