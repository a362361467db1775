"""Messages people read, marked for the catalogues: the core keeps them in English, the adapters translate them."""
from __future__ import annotations

LANGUAGES = ("de", "en")  # interface languages with a catalogue under web/translations; German first


def N_(message: str) -> str:  # noqa: N802 - the gettext convention pybabel extracts (babel.cfg, -k N_)
    """Mark a message for extraction without translating it here (the core has no locale)."""
    return message
