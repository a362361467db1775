"""The CLI's language: MODERATION_LANGUAGE, else the terminal's locale (LC_ALL, LC_MESSAGES, LANG), else English.

The messages come from the web desk's catalogues (web/translations), read with Babel alone: no Flask for a command.
"""
from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from babel.support import NullTranslations, Translations

from moderation.domain.messages import LANGUAGES

TRANSLATIONS = Path(__file__).resolve().parents[2] / "web" / "translations"  # beside moderation/, installed or not


def language() -> str:
    """The first of the variables that names a language with a catalogue; English for C/POSIX and scripts."""
    for name in ("MODERATION_LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value:
            primary = value.split(".")[0].split("_")[0].split("-")[0].lower()
            return primary if primary in LANGUAGES else "en"
    return "en"


@cache
def _translations(lang: str) -> NullTranslations:
    return Translations.load(str(TRANSLATIONS), [lang])


def _(msgid: str, /, **values: object) -> str:
    """The message in the CLI's language, with %(name)s values filled in."""
    text = _translations(language()).gettext(msgid)
    return text % values if values else text



def explained(because: object, fallback: str) -> str:
    """A verdict's explanation parts in the CLI's language (assess/explanation); the stored English without parts."""
    from moderation.assess.explanation import render  # noqa: PLC0415 - only `explain` needs it

    return render(because, _translations(language()).gettext) if because else fallback
