"""Discourse analysis: sentiment, thread metrics, escalation, network, moderation outcomes, topics, the report."""
from __future__ import annotations

import csv
import math
import os
import re
import sys
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from click.testing import CliRunner

from moderation.research import outcomes, overview, people, threadmetrics as threads
from moderation.research.frame import from_records, pseudonymize
from moderation.config import Config
from moderation.research.pseudonyms import ENV, Pseudonymizer, for_config, project_key
from moderation.research.results import compute
from moderation.research.sentiment import EnglishSentiment, GermanSentiment, Sentiment, label
from moderation.research.topics import topics
from moderation.cli import main
from tests.conftest import RULES, SAMPLES, corpus

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def de():
    return GermanSentiment()


def test_german_polarity_negation_and_intensifiers(de):
    assert de.compound("Das ist gut.") > 0.2
    assert de.compound("Das ist nicht gut.") < -0.1  # negator before
    assert de.compound("Der Vorschlag gefällt mir nicht.") < 0 < de.compound("Der Vorschlag gefällt mir.")
    assert de.compound("Das ist sehr gut.") > de.compound("Das ist gut.")  # intensifier
    assert 0 < de.compound("Das ist kaum gut.") < de.compound("Das ist gut.")  # dampener
    assert de.compound("Eine schlechte Idee.") < -0.2  # inflected form of 'schlecht'
    assert de.compound("Kein Problem.") > 0  # negated negative word
    assert de.compound("Der Zug fährt um acht Uhr.") == 0
    # After a contrast, the second clause decides.
    assert de.compound("Die Idee ist gut, aber die Umsetzung ist katastrophal.") < 0


def test_english_uses_vader_and_other_languages_get_no_score():
    en = EnglishSentiment()
    assert en.compound("This is a great idea!") > 0.5
    assert en.compound("This is not a great idea.") < 0
    scores = Sentiment().score(["Great work!", "Schlechte Arbeit.", "Bon travail."], ["en", "de", "fr"])
    assert scores[0] > 0.05 and scores[1] < -0.05 and math.isnan(scores[2])
    assert [label(v) for v in (0.5, 0.0, -0.5)] == ["positive", "neutral", "negative"]


@pytest.mark.corpus
def test_sentiment_against_labelled_data():
    """Figures recorded in bench/ACCURACY.md; the asserted floors are below them, not equal to them."""
    from bench.sentiment import omp, vader

    data = corpus("one-million-posts").parent
    corpus("lex-en-vader")
    g = omp(data)
    assert g["n"] == 3599
    # Posts moderators labelled positive score far above the others; negative and neutral are hard to tell apart.
    assert g["mean_compound"]["positive"] > g["mean_compound"]["neutral"] + 0.3
    assert g["f1"]["negative"] > 0.35
    v = vader(data)
    assert v["tweets"]["pearson_r"] > 0.85 and v["nytEditorialSnippets"]["pearson_r"] > 0.45


def rec(cid, parent=None, minutes=0, tox=0.0, author="a", article="art", human=None, model="approve", rules=(),
        text="Ein ganz normaler Kommentar zum Thema", lang="de"):
    return {"id": cid, "parent_id": parent, "article_id": article, "author": author, "text": text, "language": lang,
            "created_at": T0 + timedelta(minutes=minutes), "toxicity": tox, "human_decision": human,
            "model_decision": model, "rules": rules}


@pytest.fixture
def thread():
    """r1 ← a ← b ← c escalates (0.1 → 0.3 → 0.6 → 0.9); r1 ← d calm; r2 alone; e replies to an unknown id."""
    return from_records([
        rec("r1", minutes=0, tox=0.1, author="ann"),
        rec("a", "r1", 10, 0.3, "bob", human="approved"),
        rec("b", "a", 30, 0.6, "ann", human="rejected", model="hold", rules=("personal-attack",)),
        rec("c", "b", 35, 0.9, "bob", human="rejected", model="reject", rules=("personal-attack", "threat")),
        rec("d", "r1", 60, 0.0, "cid", human="approved", model="hold"),
        rec("r2", minutes=24 * 60, tox=0.0, author="ann", article="art2"),
        rec("e", "missing", 24 * 60 + 5, 0.2, "dan", article="art2"),
    ])


def test_frame_depths_roots_and_subset(thread):
    assert thread["depth"].tolist() == [0, 1, 2, 3, 1, 0, 0]
    assert thread["id"][thread["root"]].tolist() == ["r1", "r1", "r1", "r1", "r1", "r2", "e"]
    sub = thread.subset(thread["id"] != "a")  # removing a makes b the root of its own thread
    assert sub["id"][sub["root"]].tolist() == ["r1", "b", "b", "r1", "r2", "e"]


def test_thread_metrics(thread):
    rows = {r["thread"]: r for r in threads.per_thread(thread)}
    assert (rows["r1"]["size"], rows["r1"]["depth"], rows["r1"]["breadth"]) == (5, 3, 2)
    assert rows["r1"]["duration_hours"] == 1.0 and rows["r1"]["max_toxicity"] == 0.9
    assert rows["r1"]["escalations"] == 3 and rows["r2"]["size"] == 1
    lat = threads.latency(thread)
    assert lat[1] == 600 and lat[2] == 1200 and np.isnan(lat[0]) and np.isnan(lat[6])
    depth = {r["depth"]: r for r in threads.by_depth(thread)}
    assert depth["1"]["comments"] == 2 and depth["1"]["mean_toxicity"] == pytest.approx(0.15)
    assert depth["1"]["escalation_rate"] == 0.5 and depth["3"]["median_latency_minutes"] == 5.0


def test_escalating_chain_found_once(thread):
    chains = threads.chains(thread)
    assert len(chains) == 1
    assert chains[0]["ids"] == "r1 > a > b > c" and chains[0]["comments"] == 4


def test_reply_network_and_profiles(thread):
    edges = {(e["source"], e["target"]): e for e in people.network(thread)}
    assert edges[("bob", "ann")]["replies"] == 2 and edges[("ann", "bob")]["replies"] == 1
    assert edges[("bob", "ann")]["reciprocated"] and not edges[("cid", "ann")]["reciprocated"]
    summary = people.network_summary(list(edges.values()))
    assert summary["authors_in_network"] == 3 and summary["reciprocity"] == pytest.approx(2 / 3, abs=1e-4)
    ann = next(p for p in people.profiles(thread) if p["author"] == "ann")
    assert (ann["comments"], ann["replies_written"], ann["replies_received"], ann["articles"]) == (3, 1, 3, 2)
    assert ann["rejected"] == 1 and ann["toxic_comments"] == 1


def test_moderation_outcomes(thread):
    rules = {r["rule"]: r for r in outcomes.rule_frequencies(thread)}
    assert rules["personal-attack"]["hits"] == 2 and rules["personal-attack"]["human_rejected_share"] == 1.0
    table, agreement = outcomes.agreement(thread)
    # 4 decided: a approve/approved ✓, b hold/rejected ✓, c reject/rejected ✓, d hold/approved ✗
    assert agreement["compared"] == 4 and agreement["agreement"] == 0.75
    expected = 0.75 * 0.5 + 0.25 * 0.5  # P(model stops) 3/4, P(human rejects) 1/2
    assert agreement["kappa"] == pytest.approx((0.75 - expected) / (1 - expected), abs=1e-4)
    assert {r["model"]: r["approved"] for r in table} == {"approve": 1, "hold": 1, "reject": 0}
    rates = {(r["who"], r["decision"]): r["comments"] for r in outcomes.decision_rates(thread) if not r["reason_code"]}
    assert rates[("moderator", "rejected")] == 2 and rates[("model", "hold")] == 2


def test_time_series_and_languages(thread):
    days = overview.timeseries(thread)
    assert [(d["period"], d["comments"]) for d in days] == [("2026-03-01", 5), ("2026-03-02", 2)]
    assert days[0]["rejected_share"] == 0.5
    assert overview.languages(thread)[0]["language"] == "de"


def test_topics_separate_distinct_vocabularies():
    football = "Tor Elfmeter Schiedsrichter Abseits Stürmer Trainer Meisterschaft"
    budget = "Steuern Budget Defizit Finanzminister Schulden Haushalt Pension"
    rng = np.random.default_rng(1)
    texts = [" ".join(rng.choice((football if i % 2 else budget).split(), 5)) for i in range(60)]
    frame = from_records([rec(f"c{i}", text=t, tox=0.8 if i % 2 else 0.1) for i, t in enumerate(texts)])
    rows, assigned = topics(frame, k=2)
    # Every comment of a vocabulary lands in the same topic, and the two vocabularies in different ones.
    assert len(set(assigned[1::2])) == 1 and len(set(assigned[0::2])) == 1 and assigned[0] != assigned[1]
    by_topic = {r["topic"]: r for r in rows}
    assert by_topic[assigned[1]]["mean_toxicity"] == pytest.approx(0.8)
    assert "tor" in by_topic[assigned[1]]["top_words"] or "elfmeter" in by_topic[assigned[1]]["top_words"]


def test_pseudonyms_are_keyed_stable_and_hide_the_name(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    key = project_key(tmp_path)
    assert (tmp_path / "pseudonym.key").stat().st_mode & 0o777 == 0o600
    assert project_key(tmp_path) == key  # the same key next time
    p = Pseudonymizer(key)
    assert p("Mara_K") == Pseudonymizer(key)("Mara_K") != p("Mara_k")
    assert "Mara" not in p("Mara_K") and p(None) is None
    assert Pseudonymizer(b"another-key-of-32-bytes-length!!")("Mara_K") != p("Mara_K")
    monkeypatch.setenv(ENV, "from-the-environment-0123456789")
    assert for_config(Config(instance_path=tmp_path)).key == b"from-the-environment-0123456789"


def test_compute_on_samples_with_pseudonyms(thread):
    pseudonymize(thread, Pseudonymizer(b"k" * 32))
    results = compute(thread, topics_k=2)
    assert results.summary["comments"] == 7 and results.summary["escalating_chains"] == 1
    assert all(a["author"].startswith("u-") for a in results.tables["authors"])
    assert results.provenance["pseudonymized"] and "de" in results.provenance["sentiment"]


def analyze(*args):
    return CliRunner().invoke(main, ["--rules", str(RULES), "analyze", *args], catch_exceptions=False)


def test_analyze_writes_a_self_contained_report(tmp_path):
    out = tmp_path / "report"
    result = analyze(str(SAMPLES / "de_thread.jsonl"), "--out", str(out))
    assert result.exit_code == 0, result.output
    html = (out / "index.html").read_text(encoding="utf-8")
    assert html.count('src="data:image/png;base64,') >= 4
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing loaded from elsewhere
    assert "Lagerist_a.D." in html  # names as in the input without --pseudonymize
    with open(out / "by_depth.csv", encoding="utf-8") as fh:
        depth = list(csv.DictReader(fh))
    assert sum(int(r["comments"]) for r in depth) == 42 and depth[5]["depth"] == "5"
    with open(out / "summary.csv", encoding="utf-8") as fh:
        summary = dict(csv.reader(fh))
    assert summary["human_decisions"] == "14" and summary["comments"] == "42"
    assert float(summary["mean_toxicity"]) > 0  # the lexicon scorer ran over the texts


def test_analyze_pseudonymizes_and_rejects_bad_input(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV, "test-key-0123456789abcdef")
    out = tmp_path / "report"
    assert analyze(str(SAMPLES / "de_thread.jsonl"), "--out", str(out), "--pseudonymize").exit_code == 0
    authors = (out / "authors.csv").read_text(encoding="utf-8")
    assert "Lagerist" not in authors and "Lagerist" not in (out / "index.html").read_text(encoding="utf-8")
    assert Pseudonymizer(b"test-key-0123456789abcdef")("Lagerist_a.D.") in authors
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "1", "article_id": "a", "text": "ok"}\n{"id": "2", "article_id": \n', encoding="utf-8")
    result = analyze(str(bad), "--out", str(tmp_path / "none"))
    assert result.exit_code == 2 and f"{bad}:2" in result.output and not (tmp_path / "none").exists()


@pytest.mark.corpus
@pytest.mark.slow
def test_one_million_posts_end_to_end(tmp_path):
    path = corpus("one-million-posts") / "posts_labeled.csv.xz"
    out = tmp_path / "omp"
    result = analyze(str(path), "--out", str(out), "--topics", "6")
    assert result.exit_code == 0, result.output
    with open(out / "summary.csv", encoding="utf-8") as fh:
        summary = dict(csv.reader(fh))
    assert summary["comments"] == "11773" and summary["human_rejected"] == "1733"
    assert int(summary["max_depth"]) >= 10 and summary["articles"] == "2174"
    assert os.path.getsize(out / "reply_network.csv") > 10_000


def test_table_headers_match_the_tables_and_empty_tables_keep_them(thread, tmp_path):
    from moderation.research.report import HEADERS, write_csvs

    results = compute(thread, topics_k=2)
    assert set(results.tables) == set(HEADERS)
    for name, rows in results.tables.items():
        assert not rows or list(rows[0]) == HEADERS[name].split(), name
    results.tables["escalating_chains"] = []
    write_csvs(results, tmp_path)
    assert (tmp_path / "escalating_chains.csv").read_text(encoding="utf-8").strip() == "article,comments,ids,toxicity"


def test_parallel_sentiment_equals_serial():
    from moderation.research.frame import add_sentiment

    texts = ["Das ist sehr gut.", "Das ist nicht gut.", "Great!", "Terrible idea.", "Kein Problem.", "Na ja."] * 3
    frames = [from_records([rec(f"c{i}", text=t, lang="en" if t[0] in "GT" else "de") for i, t in enumerate(texts)])
              for _ in range(2)]
    add_sentiment(frames[0])
    add_sentiment(frames[1], chunk=4, workers=2)
    assert np.allclose(frames[0]["sentiment"], frames[1]["sentiment"]) and not np.isnan(frames[0]["sentiment"]).any()


def test_one_million_posts_reader_folds_labels_and_rejects_other_csv(tmp_path):
    from moderation.research.omp import is_omp, read_posts, sentiment_gold

    path = tmp_path / "posts.csv"
    path.write_text(
        "ID_Post,ID_Parent_Post,ID_Article,ID_User,CreatedAt,Status,Headline,Body,PositiveVotes,NegativeVotes,"
        "Category,Value,Fold\n"
        "1,,10,7,2015-06-01 08:58:32.363,online,Titel,Text eins,0,0,SentimentNegative,1,3\n"
        "1,,10,7,2015-06-01 08:58:32.363,online,Titel,Text eins,0,0,OffTopic,0,3\n"
        "2,1,10,8,2015-06-01 09:00:00.000,deleted,,Antwort,1,2,SentimentNeutral,0,4\n", encoding="utf-8")
    posts = read_posts(path)
    assert is_omp(path) and [p.id for p in posts] == ["1", "2"]
    assert posts[0].text == "Titel\nText eins" and posts[0].labels == {"SentimentNegative": 1, "OffTopic": 0}
    assert sentiment_gold(posts[0]) == "negative" and sentiment_gold(posts[1]) is None
    assert posts[1].parent_id == "1" and posts[1].status == "deleted"
    other = tmp_path / "other.csv"
    other.write_text("ID_Post,ID_Parent_Post,Body\n1,,x\n", encoding="utf-8")
    with pytest.raises(ValueError, match=rf"{re.escape(str(other))}:1: .*missing columns"):
        read_posts(other)


def test_analyze_without_triage_leaves_toxicity_empty(tmp_path):
    out = tmp_path / "report"
    assert analyze(str(SAMPLES / "en_thread.jsonl"), "--out", str(out), "--no-triage").exit_code == 0
    with open(out / "summary.csv", encoding="utf-8") as fh:
        summary = dict(csv.reader(fh))
    assert summary["mean_toxicity"] == "" and summary["comments"] == "21" and summary["mean_sentiment"] != ""
    assert "none" in (out / "index.html").read_text(encoding="utf-8").split("<b>Toxicity</b>")[1][:300]


def test_analyze_without_its_extra_says_what_to_install(tmp_path, monkeypatch):
    """Installed without [research]: the command names the extra to install and writes nothing."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if matplotlib were not installed
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    out = tmp_path / "report"
    result = CliRunner().invoke(main, ["--rules", str(RULES), "analyze", str(SAMPLES / "de_thread.jsonl"),
                                       "--out", str(out), "--no-triage"])
    assert result.exit_code == 2, result.output
    assert "pip install 'moderation-desk[research]'" in result.output and "matplotlib" in result.output
    assert not isinstance(result.exception, ImportError) and not out.exists()


def test_german_lexicon_is_package_data_not_textblob_de(monkeypatch):
    """The lexicon ships inside this package: found with textblob-de absent."""
    from moderation.research import sentiment

    monkeypatch.setitem(sys.modules, "textblob_de", None)
    sentiment.german_lexicon.cache_clear()
    try:
        assert GermanSentiment().compound("Das ist gut.") > 0.2
    finally:
        sentiment.german_lexicon.cache_clear()


@pytest.mark.corpus
def test_shipped_lexicon_scores_german_comments_exactly_as_textblob_de_did():
    """Before/after: the same compound score on 200 real German comments, and the very file textblob-de ships."""
    import hashlib

    from moderation.research.omp import read_posts
    from moderation.research.sentiment import LEXICON

    original = corpus("lex-de-uzh-polarity") / "de-sentiment.xml"  # byte-identical to textblob-de 0.4.3's file
    assert hashlib.sha256(LEXICON.read_bytes()).digest() == hashlib.sha256(original.read_bytes()).digest()
    posts = [p.text for p in read_posts(corpus("one-million-posts") / "posts_labeled.csv.xz")[:200]]
    before, after = GermanSentiment(original), GermanSentiment()
    scores = [after.compound(t) for t in posts]
    assert scores == [before.compound(t) for t in posts]
    assert sum(s != 0 for s in scores) > 100  # most comments carry polarity: the comparison is not vacuous


def test_kappa_is_scikit_learns_and_matches_the_textbook_formula():
    from moderation.research.frame import Frame

    rng = np.random.default_rng(4)
    for trial in range(200):
        n = int(rng.integers(1, 30))
        human = rng.choice(["approved", "rejected", ""], size=n, p=[0.5, 0.4, 0.1] if trial % 4 else [1, 0, 0])
        model = rng.choice(["approve", "hold", "reject", ""], size=n, p=[0.4, 0.3, 0.2, 0.1] if trial % 5 else
                           [1, 0, 0, 0])
        _, got = outcomes.agreement(Frame({"human_decision": human, "model_decision": model}))
        both = (human != "") & (model != "")
        if not both.any():
            assert got["kappa"] is None
            continue
        stop, reject = model[both] != "approve", human[both] == "rejected"
        observed = (stop == reject).mean()
        expected = stop.mean() * reject.mean() + (1 - stop.mean()) * (1 - reject.mean())
        want = None if expected == 1 else round((observed - expected) / (1 - expected), 4)
        assert got["kappa"] == (pytest.approx(want, abs=1e-4) if want is not None else None), trial
