"""Explanations as message parts: stored once, read in English by the API and CLI, translated on the desk."""
from __future__ import annotations

from collections.abc import Callable

# A part is {"m": msgid with %(name)s places, "v": {name: value}}; a value is text, a number, a part or a list of
# parts (read as "a; b"). Kept as plain JSON so a triage result stores it beside its risk parts.
Part = dict | list


def say(msgid: str, **values: object) -> dict:
    """One message with its values."""
    return {"m": msgid, "v": values}


def _number(value: float) -> str:
    return f"{value:.2f}"


def render(part: Part, gettext: Callable[[str], str] = str, number: Callable[[float], str] = _number) -> str:
    """The part as text: each message through gettext, each number through number."""
    if isinstance(part, list):
        return "; ".join(render(p, gettext, number) for p in part)
    if not isinstance(part, dict):
        return number(part) if isinstance(part, float) else str(part)
    values = {name: render(value, gettext, number) for name, value in part.get("v", {}).items()}
    return gettext(part["m"]) % values if values else gettext(part["m"])
