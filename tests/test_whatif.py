"""What-if replay: changes by direction, agreement with moderators, stored scores reused."""
from __future__ import annotations

import json
import shutil

from click.testing import CliRunner

from moderation.cli import main
from moderation.assess.pipeline import Pipeline
from moderation.services.jobs import triage_stored
from moderation.rules import load_ruleset
from moderation.scoring.lexicon import LexiconScorer
from moderation.store import TriageResult
from moderation.services.whatif import replay
from tests.conftest import RULES
from tests.test_store import batch, load

ROWS = [("c1", None, "Du bist ein Idiot.", "rejected"),            # held by the rules, rejected by moderators
        ("c2", None, "Schaut mal https://youtu.be/abc", "approved"),  # held (video link), moderators approved
        ("c3", None, "Sehr guter Artikel, danke.", "approved"),
        ("c4", None, "Die Manager sind Heuchler.", "rejected"),      # only disrespectful-language
        ("c5", None, "Ganz normaler Kommentar ohne Befund."),        # undecided
        ]


def lexicon(rs, *more):
    return Pipeline(rs, [LexiconScorer(rs), *more])


class Fixed:
    """A model that says 0.1 to everything; its version names it."""

    name, labels = "fixed", ("insult",)

    def __init__(self, version="fixed-1"):
        self.version = version

    def score(self, texts, languages=None):
        return [{"insult": 0.1} for _ in texts]


def draft_without_video_rule(tmp_path):
    draft = tmp_path / "draft"
    shutil.copytree(RULES, draft)
    text = (draft / "site.yaml").read_text(encoding="utf-8")
    start = text.index("  - id: no-video-links")
    end = text.index("  - id: channel-promotion")
    (draft / "site.yaml").write_text(text[:start] + text[end:], encoding="utf-8")
    return draft


def test_replay_counts_changes_and_agreement(db, tmp_path, ruleset):
    load(db, batch(ROWS))
    triage_stored(db, Pipeline(ruleset, [LexiconScorer(ruleset)]))
    draft = load_ruleset(draft_without_video_rule(tmp_path))
    result = replay(db, lexicon(draft), lexicon(ruleset)).to_dict()
    assert result["compared"] == 5
    assert result["changes"] == {"hold->approve": 1}
    assert result["changed_comments"][0]["human"] == "approved"
    active, new = result["agreement"]["active"], result["agreement"]["draft"]
    assert (active["flagged_and_rejected"], active["flagged_but_approved"]) == (2, 1)
    assert (new["flagged_and_rejected"], new["flagged_but_approved"]) == (2, 0)
    assert new["precision"] == 1.0 and active["precision"] == round(2 / 3, 4) and new["recall"] == 1.0
    assert result["rules"]["no-video-links"]["active"]["precision"] == 0.0
    assert result["rules"]["no-video-links"]["draft"]["precision"] is None  # the draft has no such rule


def test_identical_draft_changes_nothing(db, ruleset):
    load(db, batch(ROWS))
    triage_stored(db, Pipeline(ruleset, [LexiconScorer(ruleset)]))
    result = replay(db, lexicon(ruleset), lexicon(ruleset))
    assert result.compared == 5 and sum(result.changes.values()) == 0


def test_stored_scores_are_reused_only_from_the_same_scorer_version(db, ruleset, tmp_path):
    load(db, batch([("c1", None, "Ein ganz harmloser Satz.", "approved")]))
    triage_stored(db, lexicon(ruleset, Fixed()))
    with db.session() as s:
        row = s.query(TriageResult).one()
        row.scores = {**row.scores, "fixed": {"insult": 0.99}}  # as if the model had said so
    draft = tmp_path / "draft"
    shutil.copytree(RULES, draft)
    (draft / "site.yaml").write_text((draft / "site.yaml").read_text(encoding="utf-8").replace(
        "        - all:\n            - addressed: [second_person, named]\n            - model: {label: insult}",
        "        - model: {label: insult, above: reject}"), encoding="utf-8")
    draft_rules = load_ruleset(draft)
    result = replay(db, lexicon(draft_rules, Fixed()), lexicon(ruleset, Fixed())).to_dict()
    assert result["changes"] == {"approve->hold": 1}  # the stored 0.99, no model run
    retrained = replay(db, lexicon(draft_rules, Fixed("fixed-2")), lexicon(ruleset, Fixed())).to_dict()
    assert retrained["changes"] == {}  # another version scores afresh: 0.1


def test_whatif_command_json_contract(db, tmp_path):
    load(db, batch(ROWS))
    runner = CliRunner()
    base = ["--database", db.url]
    assert runner.invoke(main, [*base, "triage"], catch_exceptions=False).exit_code == 0
    out = runner.invoke(main, [*base, "whatif", str(draft_without_video_rule(tmp_path)), "--json"],
                        catch_exceptions=False)
    data = json.loads(out.output)
    assert {"compared", "changed", "changes", "agreement"} <= set(data)
    assert data["changed"] == 1 and data["changes"] == {"hold->approve": 1}
    assert set(data["agreement"]) == {"draft", "active"}
    broken = tmp_path / "broken"
    shutil.copytree(RULES, broken)
    (broken / "site.yaml").write_text("site: x\nrules: []\npolicy: {premoderation: sometimes}\n", encoding="utf-8")
    bad = runner.invoke(main, [*base, "whatif", str(broken)])
    assert bad.exit_code == 1 and "premoderation" in bad.output


def test_rule_statistics_count_confirmations_and_overturns(db, ruleset):
    from moderation.store.rulestats import rule_stats

    load(db, batch(ROWS + [("c6", None, "WIR WOLLEN ENDLICH EHRLICHE ZAHLEN VOM VORSTAND SEHEN", "approved")]))
    triage_stored(db, Pipeline(ruleset, [LexiconScorer(ruleset)]))
    triage_stored(db, Pipeline(ruleset, [LexiconScorer(ruleset)]), rescore=True)  # old results must not count
    stats = {s.rule_id: s for s in rule_stats(db)}
    video = stats["no-video-links"]
    assert (video.hits, video.held, video.confirmed, video.overturned, video.precision) == (1, 1, 0, 1, 0.0)
    attack = stats["personal-attack"]
    assert (attack.hits, attack.confirmed, attack.overturned, attack.precision) == (1, 1, 0, 1.0)
    shout = stats["shouting"]
    assert shout.shadow and (shout.hits, shout.held, shout.overturned) == (1, 1, 1)
    assert list(attack.to_dict()["precision_by_week"].values()) == [1.0]


def test_parallel_replay_gives_the_same_answer(db, tmp_path, ruleset):
    load(db, batch(ROWS))
    triage_stored(db, Pipeline(ruleset, [LexiconScorer(ruleset)]))
    draft = lexicon(load_ruleset(draft_without_video_rule(tmp_path)))
    serial = replay(db, draft, lexicon(ruleset), batch=2).to_dict()
    parallel = replay(db, draft, lexicon(ruleset), batch=2, workers=2).to_dict()
    for timing in ("seconds", "cpu_seconds"):
        serial.pop(timing), parallel.pop(timing)
    assert parallel == serial


def test_a_candidate_model_is_replayed_with_the_rules(db, tmp_path):
    import numpy as np

    from moderation.scoring.estimator import ToxicityClassifier
    from moderation.scoring.sklearn import save_model
    from tests.test_models import SMALL, synthetic

    load(db, batch(ROWS))
    runner = CliRunner()
    base = ["--database", db.url]
    assert runner.invoke(main, [*base, "triage"], catch_exceptions=False).exit_code == 0
    same = json.loads(runner.invoke(main, [*base, "whatif", str(RULES), "--json"], catch_exceptions=False).output)
    assert same["changed"] == 0  # same rules, stored scores: nothing to change
    texts, y = synthetic()
    upside_down = ToxicityClassifier(**SMALL).fit(texts, 1 - np.array(y))  # calls the friendly comments toxic
    path = tmp_path / "candidate.npz"
    save_model(upside_down, path, {"name": "candidate", "version": "candidate-1", "threshold": 0.5})
    out = runner.invoke(main, [*base, "whatif", str(RULES), "--model", str(path), "--json"], catch_exceptions=False)
    data = json.loads(out.output)
    assert data["changes"].get("approve->hold", 0) >= 1
    assert "c3" in {ext for ext in _external_ids(db, [c["comment_id"] for c in data["changed_comments"]])}


def _external_ids(db, ids):
    from moderation.store import Comment

    with db.session() as s:
        return [s.get(Comment, i).external_id for i in ids]
