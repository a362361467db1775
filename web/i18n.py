"""The interface's languages: Flask-Babel wiring, the locale each request gets, and locale-aware filters."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from flask import Flask, current_app, g, has_request_context, request
from flask_babel import Babel, format_datetime, format_decimal, get_locale, gettext, refresh
from flask_login import current_user
from jinja2 import Undefined

from moderation.assess.explanation import render
from moderation.domain.comments import REASON_CODES
from moderation.domain.messages import LANGUAGES, N_

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
DEFAULT_LANGUAGE = "de"  # German-first: what a browser that states no preference gets
babel = Babel()

# Messages the queue's script shows; handed to it translated in a data attribute (see queue/index.html).
SCRIPT_MESSAGES = {
    "server": N_("The server answered {status}"),
    "looking": N_("{name} is already looking at this comment."),
    "claimed": N_("claimed by {name}"),
    "failed": N_("The decision failed."),
    "nothing": N_("Nothing to undo."),
    "undo_failed": N_("Undo failed."),
    "undone": N_("Undone"),
    "reject_reason": N_("Reject: reason"),
    "thread_reason": N_("Reject with all replies: reason"),
}


# Words the store keeps as codes (statuses, decisions), as a moderator reads them.
WORDS = {"new": N_("new"), "held": N_("held"), "approved": N_("approved"), "rejected": N_("rejected"),
         "approve": N_("approve"), "reject": N_("reject"), "hold": N_("hold"), "risk": N_("risk"),
         "newest": N_("newest"), "oldest": N_("oldest"), "undo": N_("undo"),
         "moderator": N_("moderator"), "admin": N_("admin"), "researcher": N_("researcher"),
         "activate": N_("activate"), "rollback": N_("rollback")}


def word(code: str | None) -> str:
    """A status, decision or order code in the interface language (unknown codes as they are)."""
    return gettext(WORDS[code]) if code in WORDS else (code or "")


def reasons() -> list[tuple[str, str]]:
    """The reject reasons in key order (1..9), labelled in the interface language: one set everywhere."""
    return [(code, gettext(label)) for code, label in REASON_CODES.items()]


def reason_label(code: str | None) -> str:
    """A reason code's label in the interface language (a site's own code as it is)."""
    return gettext(REASON_CODES[code]) if code in REASON_CODES else (code or "")


def _language(value: str | None) -> str | None:
    """The interface language for a language tag such as "de-AT", or None when there is no catalogue for it."""
    primary = (value or "").split("-")[0].split("_")[0].lower()
    return primary if primary in LANGUAGES else None


def select_locale() -> str:
    """The page's own language (public thread), else the account's setting, else Accept-Language, else German."""
    default = current_app.config.get("BABEL_DEFAULT_LOCALE") or DEFAULT_LANGUAGE
    if not has_request_context():
        return default
    page = g.get("page_language")
    if page:
        return page
    chosen = _language(getattr(current_user, "language", None)) if current_user.is_authenticated else None
    return chosen or _browser_language() or default


def _browser_language() -> str | None:
    """The first language in Accept-Language (by quality) with a catalogue; "de-AT" counts as German."""
    for tag, _quality in request.accept_languages:  # werkzeug orders them by quality
        if _language(tag):
            return _language(tag)
    return None


def page_language(language: str | None) -> str | None:
    """Render the rest of this request in this language (a public thread in its article's); None changes nothing."""
    chosen = _language(language)
    if chosen is not None:
        g.page_language = chosen
        refresh()  # a locale read earlier in the request is cached
    return chosen


def when(value: datetime | None, width: str = "short") -> str:
    """A date and time in the locale's format and the desk's time zone; empty for none."""
    return format_datetime(value, width) if value is not None else ""


def number(value: float | int | None, digits: int = 2) -> str:
    """A number in the locale's format with this many decimals ("0,87" in German); a dash for none."""
    if value is None or isinstance(value, Undefined):  # a figure a model card or stored result does not have
        return "–"
    return format_decimal(value, format="#,##0" + ("." + "0" * digits if digits else ""))


def explain(result: object) -> str:
    """A triage result's explanation in the interface language; results stored before it had parts, as stored."""
    read = result.get if isinstance(result, dict) else lambda name: getattr(result, name, None)
    because = (read("evidence") or {}).get("because")
    return render(because, gettext, number) if because else read("explanation") or ""


def init_app(app: Flask) -> None:
    """Catalogues from web/translations, the locale selector, and the filters the templates use."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.filters["when"] = when
    app.jinja_env.filters["number"] = number
    app.jinja_env.globals["script_messages"] = lambda: {key: gettext(text) for key, text in SCRIPT_MESSAGES.items()}
    app.jinja_env.filters["word"] = word
    app.jinja_env.filters["reason"] = reason_label
    app.jinja_env.filters["explain"] = explain
    app.jinja_env.globals["language"] = lambda: str(get_locale() or DEFAULT_LANGUAGE)
