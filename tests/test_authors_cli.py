"""`moderation author …`: show, ban with a preview and pending rejections, suspend, trust, note, undo."""
from __future__ import annotations

import json

from sqlalchemy import select

from moderation.store.models import Comment
from tests.test_authors import CLEAN, hold_all, seed
from tests.test_cli import run  # noqa: F401 - the fixture


def ok(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_author_commands_act_preview_and_undo(run, db):  # noqa: F811
    seed(db, [("c1", "anna", CLEAN, {"author_email": "anna@example.org"}), ("c2", "anna", CLEAN),
              ("c3", "anna", CLEAN)], source="default")
    hold_all(db)
    assert ok(run("author", "ban", "anna", "--preview", "--json")) == {"pending": 3}
    banned = ok(run("author", "ban", "anna", "--reason", "spam wave", "--reject-pending", "--reason-code", "spam",
                    "--actor", "mo", "--json"))
    assert banned["action"]["state_after"] == "banned" and len(banned["rejected"]) == 3
    again = run("author", "ban", "anna")
    assert again.exit_code == 2 and "banned already (by mo)" in again.output
    shown = run("author", "show", "anna")
    assert "anna on default: banned" in shown.output and "rejection rate 100%" in shown.output
    assert "anna@example.org" in shown.output and "spam wave" in shown.output
    undone = ok(run("author", "undo", str(banned["action"]["id"]), "--json"))
    assert undone["action"]["state_after"] == "normal" and len(undone["rejected"]) == 3
    with db.session() as s:
        assert set(s.scalars(select(Comment.status))) == {"held"}
    assert ok(run("author", "reject-pending", "anna", "--reason-code", "spam", "--preview", "--json")) == {"pending": 3}
    assert len(ok(run("author", "reject-pending", "anna", "--reason-code", "off-topic", "--json"))["rejected"]) == 3
    suspended = ok(run("author", "suspend", "anna", "--for", "7d", "--json"))["action"]
    assert suspended["state_after"] == "suspended" and suspended["until"]
    assert run("author", "suspend", "anna", "--for", "7 years").exit_code == 2
    assert ok(run("author", "trust", "anna", "--json"))["action"]["state_before"] == "suspended"
    ok(run("author", "note", "anna", "called them, will behave", "--json"))
    profile = ok(run("author", "show", "anna", "--json"))
    assert profile["state"] == "trusted" and [n["reason"] for n in profile["notes"]] == ["called them, will behave"]
    assert [a["action"] for a in profile["actions"]] == ["ban", "undo", "reject-pending", "suspend", "trust", "note"]
