"""Warm-up before serving: a fresh process assesses a few built-in comments so its first real one pays no start-up.

A process that has just loaded its pipeline still compiles regular expressions, builds the rule matcher's and the
scorers' per-word caches and the language detector's n-gram tables on first use. Served workers (gunicorn's
post_worker_init, Celery's worker start) call warm() before they take work; `WARMED` records that it ran.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from moderation.assess.pipeline import Pipeline

# Everyday German and English comment language, a reply, a link, a mention, emoji, an insult, a shouted and a
# disguised word, and a long text: every path through language detection, the matcher and the scorers.
TEXTS = (
    "Danke für den Artikel, das war eine gute und gründliche Recherche. Ich sehe das genauso wie die Autorin.",
    "Ich finde, die Regierung sollte endlich etwas tun. Aber wer soll das bezahlen, wenn nicht wir Steuerzahler?",
    "Das stimmt doch nicht! Haben Sie den Text überhaupt gelesen? Die Zahlen im zweiten Absatz sind falsch.",
    "@Leser_42 Genau meine Meinung, leider hört niemand zu 👍 Siehe auch https://www.example.com/bericht?id=7",
    "Du bist ein Idiot, halt die Klappe. VERSCHWINDE ENDLICH AUS DIESEM FORUM!!!",
    "Was für ein I.d.i.o.t, echt jetzt... Sooooo ein Bl0dsinn, unfassbar",
    "Thanks for the article, I really enjoyed reading it. The point about the local elections is well made.",
    "I don't think that's true at all. Have you even read the report? Watch this: youtube.com/watch?v=abc123",
    "You are an idiot and should shut up. Nobody here cares about your stupid opinion.",
    "ok",
    " ".join([("Die Debatte über Mieten, Energiepreise und Löhne wird seit Jahren geführt, und jedes Jahr hören "
               "wir dieselben Versprechen von denselben Parteien, während sich für die Menschen vor Ort wenig ändert.")]
             * 6),
)


@dataclass(frozen=True)
class WarmUp:
    """What a warm-up did: comments assessed and the CPU seconds it took in this process."""

    comments: int
    cpu_seconds: float


WARMED: WarmUp | None = None  # set in this process once warm() has run


def warm(pipeline: Pipeline, rounds: int = 2) -> WarmUp:
    """Assess the built-in texts `rounds` times (alone, then as replies in a thread) and record that it ran."""
    from moderation.assess.pipeline import Item

    global WARMED
    start = time.process_time()
    items = [Item(text) for text in TEXTS]
    replies = [Item(text, is_reply=True, parent_text=TEXTS[0], parent_author="Leser_42", author="Mara_K",
                    thread_authors=("Leser_42", "Mara_K", "Wahrheitssucher")) for text in TEXTS]
    for _ in range(rounds):
        pipeline.assess(items)
        for item in replies:  # one at a time as well: the live API assesses batches of one
            pipeline.assess([item])
    WARMED = WarmUp(len(TEXTS) * 2 * rounds, time.process_time() - start)
    return WARMED
