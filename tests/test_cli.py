"""The `moderation` command per the CLI contract, against SQLite and PostgreSQL."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from moderation.cli import main
from tests.conftest import RULES

FIXTURES = Path(__file__).parent / "fixtures" / "importers"


@pytest.fixture
def run(db):
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(main, ["--database", db.url, "--rules", str(RULES), *args], input=input,
                             catch_exceptions=False)
    return invoke


def counts(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_import_counts_and_is_idempotent(run):
    first = counts(run("import", str(FIXTURES / "comments.jsonl"), "--json"))
    assert set(first) == {"articles", "comments", "replies", "orphans", "skipped", "notices"}
    assert first["comments"] > 0 and first["skipped"] == 0
    again = counts(run("import", str(FIXTURES / "comments.jsonl"), "--json"))
    assert again == {"articles": 0, "comments": 0, "replies": 0, "orphans": 0, "skipped": first["comments"],
                     "notices": []}


def test_malformed_import_names_file_and_line_and_writes_nothing(run, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "1", "article_id": "a", "text": "ok"}\n{"id": "2", "article_id": "a"}\n',
                   encoding="utf-8")
    result = run("import", str(bad))
    assert result.exit_code == 2
    assert f"{bad}:2:" in result.output and "nothing was imported" in result.output
    assert counts(run("triage", "--json"))["triaged"] == 0


def test_triage_then_explain(run):
    run("import", str(FIXTURES / "comments.jsonl"))
    summary = counts(run("triage", "--json"))
    assert summary["triaged"] > 0 and summary["ruleset_version"].startswith("rs-")
    assert counts(run("triage", "--json"))["triaged"] == 0
    data = counts(run("explain", "Du bist ein Idiot, schau https://youtu.be/x", "--json"))
    assert data["decision"] == "hold"
    rules = {h["rule"] for h in data["hits"]}
    assert {"personal-attack", "no-video-links"} <= rules
    hit = next(h for h in data["hits"] if h["rule"] == "no-video-links")
    assert hit["stated_rule"] == "Keine Video-Links."
    assert hit["spans"][0]["start"] < hit["spans"][0]["end"] and "threshold" in hit and "score" in hit
    assert data["scorers"][0]["name"] == "lexicon" and data["scorers"][0]["version"]


def test_explain_text_output_lists_every_hit(run):
    result = run("explain", "Herr Albers hat die Bilanz gefälscht und die Leute belogen.")
    assert result.exit_code == 0
    assert "HOLD" in result.output and "defamation" in result.output and "Keine Diffamierungen." in result.output


def test_export_jsonl_round_trips(run, tmp_path, db):
    for name in ("comments.jsonl", "wxr_1_1_mixed.xml", "disqus.xml"):
        run("import", str(FIXTURES / name))
    first = tmp_path / "first.jsonl"
    assert run("export", "--format", "jsonl", "--out", str(first)).exit_code == 0
    other = CliRunner().invoke(main, ["--database", f"sqlite:///{tmp_path / 'other.db'}", "import", str(first),
                                      "--json"], catch_exceptions=False)
    assert json.loads(other.output)["skipped"] == 0
    second = tmp_path / "second.jsonl"
    CliRunner().invoke(main, ["--database", f"sqlite:///{tmp_path / 'other.db'}", "export", "--out", str(second)],
                       catch_exceptions=False)
    rows = [json.loads(line) for line in first.read_text(encoding="utf-8").splitlines()]
    assert rows and first.read_text(encoding="utf-8") == second.read_text(encoding="utf-8")
    again = counts(run("import", str(first), "--json"))
    assert again["comments"] == 0 and again["skipped"] == len(rows)


def test_rules_check_and_test(run, tmp_path):
    assert run("rules", "check").exit_code == 0
    result = run("rules", "test")
    assert result.exit_code == 0 and "rule examples pass" in result.output
    broken = tmp_path / "rules"
    broken.mkdir()
    (broken / "site.yaml").write_text("site: x\nrules:\n  - id: a\n    stated_rule: A\n    action: hold\n"
                                      "    when: {links: {domans: [x.com]}}\n", encoding="utf-8")
    result = run("rules", "check", str(broken))
    assert result.exit_code == 1 and f"{broken / 'site.yaml'}:6: rule a:" in result.output


def test_explain_and_notes_take_bytes_that_are_no_utf8_from_the_command_line(tmp_path):
    """A shell hands over any bytes; Python keeps the non-UTF-8 ones as lone surrogates, which nothing can encode."""
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    command = Path(sys.executable).with_name("moderation")
    env = {"PATH": "/usr/bin:/bin", "MODERATION_INSTANCE_PATH": str(tmp_path), "LC_ALL": "C.UTF-8"}
    base = [str(command), "--database", f"sqlite:///{tmp_path / 'cli.db'}", "--rules", str(RULES)]
    text = b"SO EIN IDIOT \xff\xfe\xff\xfe\xff\xfe!!!!!!!! www.youtube.com/watch?v=x"
    done = subprocess.run([*base, "explain", "--json", text], env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout)["decision"] == "hold" and "no-video-links" in done.stdout.decode()
    done = subprocess.run([*base, "author", "note", "someone", b"zu \xff laut"], env=env, capture_output=True,
                          timeout=120)
    assert done.returncode in (0, 1), done.stderr.decode()
    assert b"Traceback" not in done.stderr
