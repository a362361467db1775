"""A compiled RuleSet is immutable: nothing after compile can change what it decides."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from moderation.rules import load_ruleset

RULES = Path(__file__).resolve().parents[1] / "rules"


@pytest.fixture(scope="module")
def ruleset():  # noqa: ANN201
    return load_ruleset(RULES)


@pytest.mark.parametrize("attribute", ["rules", "version", "files", "hosts", "model_labels", "lists", "spec"])
def test_attributes_cannot_be_reassigned(ruleset, attribute: str) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(ruleset, attribute, None)


def test_collections_cannot_be_changed_in_place(ruleset) -> None:
    with pytest.raises(AttributeError):
        ruleset.rules.append(ruleset.rules[0])  # a tuple
    with pytest.raises(TypeError):
        ruleset.files["site.yaml"] = "rules: []"
    with pytest.raises(TypeError):
        ruleset.wordlists["insults"] = {}
    with pytest.raises(TypeError):
        ruleset.wordlists["insults"]["de"] = None
    with pytest.raises(AttributeError):
        ruleset.model_labels.add("spam")
    with pytest.raises(dataclasses.FrozenInstanceError):
        ruleset.rules[0].matcher = lambda ctx: None
    with pytest.raises(Exception):  # pydantic: frozen model
        ruleset.spec.policy.reject_at = 0.1


def test_compiling_twice_gives_equal_independent_rule_sets(ruleset) -> None:
    again = load_ruleset(RULES)
    assert again.version == ruleset.version and again is not ruleset
    assert again.hosts == ruleset.hosts and again.model_labels == ruleset.model_labels
    assert [c.rule.id for c in again.rules] == [c.rule.id for c in ruleset.rules]
