"""Rule-set revisions: every save a version, invalid sets never saved or live, rollback in one step."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from moderation.cli import main
from moderation.rules import RuleError, read_files
from moderation.store import revisions
from tests.conftest import RULES


def test_bootstrap_save_activate_rollback(db):
    with db.session() as s:
        first = revisions.active_ruleset(s, RULES)
        assert revisions.active(s).id == 1 and first.version == revisions.active(s).version
    files = read_files(RULES)
    files["site.yaml"] = files["site.yaml"].replace("reject_at: 0.97", "reject_at: 0.95")
    with db.session() as s:
        rev = revisions.save(s, files, "admin1", "lower the reject bar", parent_id=1)
        revisions.activate(s, rev.id, "admin1")
    with db.session() as s:
        live = revisions.active_ruleset(s, RULES)
        assert live.policy.reject_at == 0.95
        patch = revisions.diff(s, s.get(revisions.RuleRevision, rev.id))
        assert "-  reject_at: 0.97" in patch and "+  reject_at: 0.95" in patch
        revisions.activate(s, 1, "admin1", "rollback")
    with db.session() as s:
        assert revisions.active_ruleset(s, RULES).version == first.version
        entries = revisions.history(s)
        assert [r.id for r, _ in entries] == [2, 1]
        assert [a.note for a in entries[1][1]] == ["first rule set", "rollback"]


def test_invalid_rule_set_is_never_saved_nor_live(db):
    with db.session() as s:
        revisions.active_ruleset(s, RULES)
    files = read_files(RULES)
    files["site.yaml"] = files["site.yaml"].replace("action: hold", "action: maybe", 1)
    with pytest.raises(RuleError, match="action"):
        with db.session() as s:
            revisions.save(s, files, "admin1", "broken")
    with db.session() as s:
        assert [r.id for r, _ in revisions.history(s)] == [1]
        assert revisions.active(s).id == 1


def test_cli_activate_history_rollback(db, tmp_path):
    runner = CliRunner()
    base = ["--database", db.url]
    draft = tmp_path / "draft"
    draft.mkdir()
    for name, text in read_files(RULES).items():
        (draft / name).parent.mkdir(parents=True, exist_ok=True)
        (draft / name).write_text(text.replace("priority: 60", "priority: 65"), encoding="utf-8")
    assert runner.invoke(main, [*base, "rules", "history"], catch_exceptions=False).output == ""
    runner.invoke(main, [*base, "triage"], catch_exceptions=False)  # bootstraps revision 1
    out = runner.invoke(main, [*base, "rules", "activate", str(draft), "-m", "video links matter more"])
    assert out.exit_code == 0 and "revision 2" in out.output
    history = runner.invoke(main, [*base, "rules", "history"]).output
    assert history.splitlines()[0].startswith("*    2") and "video links matter more" in history
    assert "+    priority: 65" in runner.invoke(main, [*base, "rules", "diff", "2"]).output
    assert runner.invoke(main, [*base, "rules", "rollback", "1"]).exit_code == 0
    lines = [line for line in runner.invoke(main, [*base, "rules", "history"]).output.splitlines()
             if not line.startswith("        ")]
    assert lines[0].startswith("     2") and lines[1].startswith("*    1")
    (draft / "site.yaml").write_text("site: x\nrules:\n  - id: a\n", encoding="utf-8")
    bad = runner.invoke(main, [*base, "rules", "activate", str(draft)])
    assert bad.exit_code == 1 and "active rules stay" in bad.output
    out = tmp_path / "exported"
    assert runner.invoke(main, [*base, "rules", "export", "2", "--out", str(out)]).exit_code == 0
    assert "priority: 65" in (out / "site.yaml").read_text(encoding="utf-8")


def _without_idiot() -> dict[str, str]:
    files = read_files(RULES)
    name = "wordlists/de/insults.txt"
    files[name] = "".join(ln for ln in files[name].splitlines(keepends=True) if ln.strip() != "*idiot*")
    return files


def test_failing_examples_are_reported_and_block_activation_unless_forced(db):
    with db.session() as s:
        revisions.active_ruleset(s, RULES)
        rev = revisions.save(s, _without_idiot(), "admin1", "no idiot", parent_id=1)
        assert any("personal-attack" in f for f in revisions.failing_examples(s, rev))
        assert revisions.failing_examples(s, revisions.active(s)) == []
        with pytest.raises(revisions.ExamplesFail, match="examples fail"):
            revisions.activate(s, rev.id, "admin1")
    with db.session() as s:
        assert revisions.active(s).id == 1
        revisions.activate(s, rev.id, "admin1", force=True)
    with db.session() as s:
        assert revisions.active(s).id == rev.id


def test_cli_refuses_to_activate_failing_examples_without_force(db, tmp_path):
    runner = CliRunner()
    base = ["--database", db.url]
    draft = tmp_path / "draft"
    for name, text in _without_idiot().items():
        (draft / name).parent.mkdir(parents=True, exist_ok=True)
        (draft / name).write_text(text, encoding="utf-8")
    runner.invoke(main, [*base, "triage"], catch_exceptions=False)
    refused = runner.invoke(main, [*base, "rules", "activate", str(draft)])
    assert refused.exit_code == 1 and "examples fail" in refused.output and "personal-attack" in refused.output
    assert runner.invoke(main, [*base, "rules", "history"]).output.splitlines()[0].startswith("     2")
    forced = runner.invoke(main, [*base, "rules", "activate", str(draft), "--force"])
    assert forced.exit_code == 0 and "revision 3" in forced.output
    assert runner.invoke(main, [*base, "rules", "rollback", "2"]).exit_code == 1
    assert runner.invoke(main, [*base, "rules", "rollback", "1"]).exit_code == 0
