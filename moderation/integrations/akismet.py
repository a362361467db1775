"""Akismet's verbs in the desk's terms: form fields become an import row, verdicts become Akismet's answers.

Akismet requests carry no comment id, so a comment is known by a fingerprint of what its checks and its
later spam/ham reports share (site, page, author, e-mail, text); it is answered in X-akismet-guid too.
"""
from __future__ import annotations

import hashlib
from datetime import datetime

THANKS = "Thanks for making the web a better place."
KINDS = {"pingback": "pingback", "trackback": "trackback"}  # every other comment_type is a comment
_META = ("user_ip", "user_agent", "referrer", "comment_author_email", "comment_author_url", "user_role",
         "comment_type", "blog", "blog_lang")


def fingerprint(form: dict[str, str]) -> str:
    parts = [form.get(k, "").strip() for k in ("blog", "permalink", "comment_author", "comment_author_email",
                                                 "comment_content")]
    return "ak-" + hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]


def missing(form: dict[str, str]) -> str | None:
    """Akismet's own message for a missing required field, or None."""
    for name in ("blog", "user_ip"):
        if not form.get(name, "").strip():
            return f"Missing required field: {name}."
    return None


def to_row(form: dict[str, str]) -> dict[str, object]:
    """An import-schema row for the comment the form describes (the article is its page)."""
    page = form.get("permalink") or form.get("comment_post_ID") or form.get("blog")
    if len(page) > 200:  # the store keeps ids up to 200 characters
        page = "url-" + hashlib.sha256(page.encode("utf-8")).hexdigest()
    row: dict[str, object] = {
        "id": form.get("guid") or fingerprint(form), "article_id": page, "article_url": form.get("permalink"),
        "text": form.get("comment_content", ""), "author": form.get("comment_author"),
        "created_at": _date(form.get("comment_date_gmt")), "kind": KINDS.get(form.get("comment_type", ""), "comment"),
        "meta": {"akismet": {k: form[k] for k in _META if form.get(k)}},
    }
    parent = form.get("comment_parent", "")
    if parent and parent != "0":
        row["parent_id"] = parent
    return {k: v for k, v in row.items() if v not in (None, "")} | {"text": row["text"]}


def _date(value: str | None) -> str | None:
    """The comment's time if it is ISO 8601; Akismet treats the field as a hint, so a bad one is dropped."""
    try:
        return datetime.fromisoformat(value).isoformat() if value else None
    except ValueError:
        return None


def answer(decision: str) -> tuple[str, dict[str, str]]:
    """comment-check's body and headers: held and rejected comments are "spam" to the CMS (kept unpublished);
    rejected ones (the policy's confident evidence, or a moderator's or the site's decision) may be discarded."""
    if decision == "approve":
        return "false", {}
    if decision == "reject":
        return "true", {"X-akismet-pro-tip": "discard"}
    return "true", {}


def is_test(form: dict[str, str]) -> bool:
    return form.get("is_test", "").strip().lower() in ("1", "true", "yes")


def trusted(form: dict[str, str]) -> bool:
    """Akismet answers "false" for administrators' own comments."""
    return form.get("user_role", "").strip().lower() == "administrator"
