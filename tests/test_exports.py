"""Exports with provenance: CSV, Parquet, ConvoKit (read by ConvoKit itself), pseudonymisation, JSONL round trip."""
from __future__ import annotations

import csv
import json
import sys

import pytest
from click.testing import CliRunner

from moderation.research.pseudonyms import ENV, Pseudonymizer
from moderation.cli import main
from moderation.store import Comment
from moderation.store.decisions import decide
from sqlalchemy import select
from tests.conftest import RULES, SAMPLES, need

KEY = "export-test-key-0123456789"


@pytest.fixture
def run(db, tmp_path, monkeypatch):
    monkeypatch.setenv(ENV, KEY)
    runner = CliRunner()

    def invoke(*args: str):
        result = runner.invoke(main, ["--database", db.url, "--rules", str(RULES), *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result
    for name in ("de_thread.jsonl", "en_thread.jsonl"):
        invoke("import", str(SAMPLES / name))
    invoke("triage")
    with db.session() as s:  # a moderator decision with a reason code on a comment without a past decision
        comment = s.scalar(select(Comment).where(Comment.external_id == "de-003"))
        decide(s, comment.id, "reject", "mod.anna", reason_code="personal-attack")
    return invoke


def read_csv(path):
    with open(path, encoding="utf-8") as fh:
        return {r["id"]: r for r in csv.DictReader(fh)}


def test_csv_has_scores_with_versions_rule_hits_and_reasons(run, tmp_path):
    out = tmp_path / "comments.csv"
    assert "wrote 63 comments" in run("export", "--format", "csv", "--out", str(out)).output
    rows = read_csv(out)
    attack = rows["de-005"]  # "du … Versager" + 🤡 in a reply
    assert attack["scorer.lexicon.version"].startswith("lexicon-") and float(attack["score.lexicon.toxicity"]) > 0.5
    hits = json.loads(attack["rule_hits"])
    assert "personal-attack" in {h["rule_id"] for h in hits}
    assert all(h["ruleset_version"] == attack["ruleset_version"] and h["ruleset_version"].startswith("rs-")
               for h in hits)
    decided = rows["de-003"]
    assert (decided["decision"], decided["reason_code"]) == ("reject", "personal-attack")
    assert json.loads(decided["decisions"])[-1]["actor"] == "mod.anna"  # not pseudonymised without the flag
    assert rows["de-002"]["conversation_id"] == "de-001" and rows["de-002"]["parent_id"] == "de-001"
    assert rows["de-001"]["sentiment_model"].startswith("model-de-potts potts-")  # the shipped classifier
    assert rows["en-001"]["sentiment_model"].startswith("vader")


def test_parquet_matches_csv(run, tmp_path):
    import pyarrow.parquet as pq

    run("export", "--format", "csv", "--out", str(tmp_path / "c.csv"))
    run("export", "--format", "parquet", "--out", str(tmp_path / "c.parquet"))
    table = pq.read_table(tmp_path / "c.parquet").to_pylist()
    rows = read_csv(tmp_path / "c.csv")
    assert len(table) == 63
    for row in table:
        assert row["score.lexicon.toxicity"] == pytest.approx(float(rows[row["id"]]["score.lexicon.toxicity"]))
        assert row["rule_hits"] == rows[row["id"]]["rule_hits"]


def test_pseudonymize_is_keyed_and_stable(run, tmp_path):
    run("export", "--format", "csv", "--out", str(tmp_path / "a.csv"), "--pseudonymize")
    run("export", "--format", "csv", "--out", str(tmp_path / "b.csv"), "--pseudonymize")
    a, b = (tmp_path / "a.csv").read_text(encoding="utf-8"), (tmp_path / "b.csv").read_text(encoding="utf-8")
    rows = read_csv(tmp_path / "a.csv")
    assert "Lagerist_a.D." not in a and "mod.anna" not in a
    assert rows["de-001"]["author"] == Pseudonymizer(KEY.encode())("Lagerist_a.D.")
    assert json.loads(rows["de-003"]["decisions"])[-1]["actor"] == Pseudonymizer(KEY.encode())("mod.anna")
    assert [r["author"] for r in rows.values()] == [r["author"] for r in read_csv(tmp_path / "b.csv").values()]
    jsonl = tmp_path / "p.jsonl"
    run("export", "--format", "jsonl", "--out", str(jsonl), "--pseudonymize")
    authors = {json.loads(line).get("author") for line in jsonl.read_text(encoding="utf-8").splitlines()}
    assert Pseudonymizer(KEY.encode())("Lagerist_a.D.") in authors and "Lagerist_a.D." not in authors


def test_convokit_corpus_loads_in_convokit(run, tmp_path):
    folder = tmp_path / "corpus"
    assert "63 utterances" in run("export", "--format", "convokit", "--out", str(folder), "--pseudonymize").output
    for name in ("utterances.jsonl", "speakers.json", "conversations.json", "corpus.json", "index.json"):
        assert (folder / name).is_file()
    lines = [json.loads(line) for line in (folder / "utterances.jsonl").read_text(encoding="utf-8").splitlines()]
    by_id = {u["id"]: u for u in lines}
    assert by_id["de-002"]["reply-to"] == "de-001" and by_id["de-001"]["reply-to"] is None
    try:
        import convokit
    except ImportError:
        need(False, "convokit is not installed (pip install -e .[dev])")
    corpus = convokit.Corpus(filename=str(folder))
    assert len(list(corpus.iter_utterances())) == 63 and len(list(corpus.iter_conversations())) == 21
    utt = corpus.get_utterance("de-003")
    assert utt.reply_to == "de-002" and utt.speaker.id.startswith("u-")
    assert utt.meta["reason_code"] == "personal-attack" and utt.meta["scorer_versions"]["lexicon"].startswith("lex")
    convo = corpus.get_conversation("de-001")
    assert convo.meta["article_id"] == "a-de-1" and len(convo.get_utterance_ids()) == 6
    assert corpus.meta["pseudonymized"] is True


def test_jsonl_round_trip_still_changes_nothing(run, tmp_path):
    out = tmp_path / "all.jsonl"
    run("export", "--format", "jsonl", "--out", str(out))
    again = run("import", str(out), "--json")
    assert json.loads(again.output)["comments"] == 0


def test_analyze_the_stored_comments(run, tmp_path):
    out = tmp_path / "report"
    assert "analysed 63 comments" in run("analyze", "--out", str(out), "--pseudonymize").output
    with open(out / "summary.csv", encoding="utf-8") as fh:
        summary = dict(csv.reader(fh))
    assert summary["articles"] == "2" and int(summary["human_decisions"]) == 22  # 21 imported + mod.anna's
    with open(out / "decisions.csv", encoding="utf-8") as fh:
        reasons = [r for r in csv.DictReader(fh) if r["reason_code"]]
    assert reasons == [{"who": "moderator", "decision": "rejected", "reason_code": "personal-attack", "comments": "1",
                        "share": str(round(1 / 22, 4))}]
    with open(out / "rules.csv", encoding="utf-8") as fh:
        assert "personal-attack" in {r["rule"] for r in csv.DictReader(fh)}
    assert "Lagerist_a.D." not in (out / "authors.csv").read_text(encoding="utf-8")


def test_analyze_an_empty_database_writes_nothing(db, tmp_path):
    result = CliRunner().invoke(main, ["--database", db.url, "--rules", str(RULES), "analyze", "--out",
                                       str(tmp_path / "r")])
    assert result.exit_code == 2 and "no comments" in result.output and not (tmp_path / "r").exists()


def test_parquet_without_its_extra_says_what_to_install(run, db, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if pyarrow were not installed
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    out = tmp_path / "c.parquet"
    result = CliRunner().invoke(main, ["--database", db.url, "--rules", str(RULES), "export", "--format", "parquet",
                                       "--out", str(out)])
    assert result.exit_code == 2 and "pip install 'moderation-desk[research]'" in result.output
    assert "pyarrow" in result.output and not out.exists()
