"""What-if tells the truth: each stored comment's predicted decision is a fresh assessment's with the draft."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Callable

from click.testing import CliRunner
from sqlalchemy import select, update

from moderation.cli import main
from moderation.config import Config
from moderation.assess.pipeline import Pipeline
from moderation.rules import load_ruleset
from moderation.store import Article, Comment
from moderation.assess.persist import items_for
from tests.conftest import RULES, SAMPLES
from tests.test_store import batch, load


def draft_of(tmp_path: Path, edit: Callable[[Path], None], name: str = "draft") -> Path:
    """A copy of the shipped rules, changed by `edit`."""
    draft = tmp_path / name
    shutil.copytree(RULES, draft)
    edit(draft)
    return draft


def drop_rules(*rule_ids: str) -> Callable[[Path], None]:
    def edit(draft: Path) -> None:
        site = draft / "site.yaml"
        text = site.read_text(encoding="utf-8")
        for rule_id in rule_ids:
            start = text.index(f"  - id: {rule_id}\n")
            end = text.find("\n  - id: ", start + 1)
            text = text[:start] + (text[end + 1:] if end != -1 else "")
        site.write_text(text, encoding="utf-8")
    return edit


def cli(db, *args: str) -> str:
    out = CliRunner().invoke(main, ["--database", db.url, *args], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    return out.output


def fresh(db, rules: Path) -> dict[int, str]:
    """Every stored comment assessed afresh with these rules, as `triage --rescore` builds it."""
    pipeline = Pipeline.from_config(Config(database_url=db.url, rules_path=rules), load_ruleset(rules))
    with db.session() as s:
        comments = list(s.scalars(select(Comment).where(Comment.kind == "comment").order_by(Comment.id)))
        return {c.id: a.decision.value for c, a in zip(comments, pipeline.assess(items_for(s, comments)))}


def predicted(db, draft: Path) -> dict[int, tuple[str, str]]:
    """What `moderation whatif` says changes: comment -> (active, draft)."""
    data = json.loads(cli(db, "whatif", str(draft), "--json", "--changes", "100000"))
    return {c["comment_id"]: (c["before"], c["after"]) for c in data["changed_comments"]}


def expected(db, draft: Path) -> dict[int, tuple[str, str]]:
    before, after = fresh(db, RULES), fresh(db, draft)
    return {i: (before[i], after[i]) for i in before if before[i] != after[i]}


def samples(db) -> None:
    for name in ("de_thread.jsonl", "en_thread.jsonl"):
        cli(db, "import", str(SAMPLES / name))
    cli(db, "triage")


def remove_word(draft: Path) -> None:
    path = draft / "wordlists" / "de" / "insults.txt"
    path.write_text("".join(line for line in path.read_text(encoding="utf-8").splitlines(keepends=True)
                            if line.strip() not in ("idiot", "*idiot", "*idiot*")), encoding="utf-8")


def empty_every_list(draft: Path) -> None:
    for path in (draft / "wordlists").rglob("*.txt"):
        path.write_text("", encoding="utf-8")


def test_removing_a_word_is_predicted_as_a_fresh_assessment_gives(db, tmp_path):
    samples(db)
    draft = draft_of(tmp_path, remove_word)
    truth = expected(db, draft)
    assert truth  # the edit matters, or the test proves nothing
    assert predicted(db, draft) == truth


def test_emptying_every_word_list_is_predicted_as_a_fresh_assessment_gives(db, tmp_path):
    samples(db)
    draft = draft_of(tmp_path, empty_every_list)
    truth = expected(db, draft)
    assert len(truth) >= 5
    assert predicted(db, draft) == truth


def test_thread_authors_and_article_premoderation_count(db, tmp_path):
    """A name from the thread makes an insult a personal attack; an article's own pre-moderation holds all."""
    load(db, batch([("c1", None, "Guter Artikel."), ("c2", "c1", "Quirin ist ein Trottel.")]))
    load(db, batch([("d1", None, "Ein ganz normaler Kommentar.")], article="a2"))
    with db.session() as s:
        s.execute(update(Comment).where(Comment.external_id == "c1").values(author="Quirin"))
        s.execute(update(Article).where(Article.external_id == "a2").values(premoderation="all"))
    cli(db, "triage")
    draft = draft_of(tmp_path, drop_rules("disrespectful-language"))
    truth = expected(db, draft)
    assert predicted(db, draft) == truth
    assert set(fresh(db, draft).values()) == {"hold", "approve"}
    ids = {c.external_id: c.id for c in _comments(db)}
    assert fresh(db, draft)[ids["c2"]] == "hold" and fresh(db, draft)[ids["d1"]] == "hold"


def test_scores_that_read_the_thread_are_not_reused_stale(db, tmp_path):
    """Triaged before Quirin joined the thread, the stored lexicon score is the one without the name."""
    load(db, batch([("c1", None, "Quirin ist ein Trottel.")]))
    cli(db, "triage")
    load(db, batch([("c2", None, "Ich sehe das anders.")]))
    with db.session() as s:
        s.execute(update(Comment).where(Comment.external_id == "c2").values(author="Quirin"))
    cli(db, "triage")

    def model_only(draft: Path) -> None:
        drop_rules("disrespectful-language", "personal-attack")(draft)
        site = draft / "site.yaml"
        site.write_text(site.read_text(encoding="utf-8") + (
            "  - id: insulting\n    stated_rule: Keine Beleidigungen.\n    when:\n"
            "      model: {label: insult, above: 0.8}\n    action: hold\n    priority: 50\n"
            "    reason: insult\n"), encoding="utf-8")
    draft = draft_of(tmp_path, model_only)
    truth = expected(db, draft)
    assert predicted(db, draft) == truth
    assert fresh(db, draft)[_comments(db)[0].id] == "hold"


def test_an_authors_history_leaves_out_the_comment_itself(db):
    load(db, batch([("c1", None, "Erster Kommentar.", "approved"), ("c2", None, "Zweiter Kommentar.", "rejected")]))
    with db.session() as s:
        s.execute(update(Comment).values(author="same"))
    with db.session() as s:
        items = items_for(s, list(s.scalars(select(Comment).order_by(Comment.id))))
    assert [(i.author_approved, i.author_rejected) for i in items] == [(0, 1), (1, 0)]


def _comments(db) -> list[Comment]:
    with db.session() as s:
        return list(s.scalars(select(Comment).order_by(Comment.id)))
