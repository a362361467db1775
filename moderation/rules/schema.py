"""The rule-file schema (pydantic): site, languages, policy, rules with conditions, actions and examples."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

ADDRESS_KINDS = ("second_person", "reply", "named", "any")
Addressed = Literal["second_person", "reply", "named", "any"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class WordsSpec(Strict):
    list: str | tuple[str, ...] | None = None  # named word list(s) from wordlists/<lang>/<name>.txt
    terms: tuple[str, ...] = ()  # inline entries, same syntax as list lines
    addressed: Addressed | tuple[Addressed, ...] | None = None  # the word must be aimed at someone
    window: int = Field(6, ge=1, le=50)  # tokens between the word and whom it addresses
    languages: Literal["comment", "all"] = "comment"  # lists of the comment's language, or all lists
    min_count: int = Field(1, ge=1)

    @model_validator(mode="after")
    def _needs_entries(self) -> "WordsSpec":
        if not self.list and not self.terms:
            raise ValueError("words needs a 'list' or 'terms'")
        return self


class RegexSpec(Strict):
    pattern: str
    ignore_case: bool = True
    timeout_ms: int = Field(50, ge=1, le=5000)


class LinksSpec(Strict):
    domains: tuple[str, ...] = ()  # empty: any link
    min_count: int = Field(1, ge=1)
    obfuscated_only: bool = False

    @field_validator("domains")
    @classmethod
    def _lower(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(d.lower().strip().removeprefix("www.") for d in v)


class EmojiSpec(Strict):
    set: tuple[str, ...] = ()
    list: str | None = None
    addressed: Addressed | tuple[Addressed, ...] | None = None
    window: int = Field(6, ge=1, le=50)
    min_count: int = Field(1, ge=1)


class LengthSpec(Strict):
    above: int | None = Field(None, ge=0)
    below: int | None = Field(None, ge=0)


class CapsSpec(Strict):
    ratio_above: float = Field(0.7, gt=0, le=1)
    min_letters: int = Field(20, ge=1)


class RepetitionSpec(Strict):
    run_above: int = Field(6, ge=2)  # the same character (or emoji) repeated more than this


class ModelSpec(Strict):
    label: str
    above: float | str | None = None  # a number, or a named threshold from policy.thresholds; default "hold"

    @field_validator("above")
    @classmethod
    def _range(cls, v: float | str | None) -> float | str | None:
        if isinstance(v, float) and not 0 <= v <= 1:
            raise ValueError("a score threshold lies between 0 and 1")
        return v


class AuthorSpec(Strict):
    approved_below: int | None = Field(None, ge=1)  # fewer approved comments than this: a new author
    rejected_ratio_above: float | None = Field(None, ge=0, le=1)


CONDITION_KEYS = ("words", "regex", "links", "emoji", "addressed", "language", "length", "caps", "repetition",
                  "model", "author", "all", "any", "not")


class WordsCond(Strict):
    words: WordsSpec


class RegexCond(Strict):
    regex: RegexSpec


class LinksCond(Strict):
    links: LinksSpec


class EmojiCond(Strict):
    emoji: EmojiSpec


class AddressedCond(Strict):
    addressed: Addressed | tuple[Addressed, ...]


class LanguageCond(Strict):
    language: tuple[str, ...]


class LengthCond(Strict):
    length: LengthSpec


class CapsCond(Strict):
    caps: CapsSpec


class RepetitionCond(Strict):
    repetition: RepetitionSpec


class ModelCond(Strict):
    model: ModelSpec


class AuthorCond(Strict):
    author: AuthorSpec


class AllCond(Strict):
    all: tuple["Condition", ...] = Field(min_length=1)


class AnyCond(Strict):
    any: tuple["Condition", ...] = Field(min_length=1)


class NotCond(Strict):
    not_: "Condition" = Field(alias="not")


def _condition_key(value: Any) -> str | None:
    if isinstance(value, dict) and len(value) == 1:
        key = next(iter(value))
        return key if key in CONDITION_KEYS else None
    if isinstance(value, BaseModel):
        return "not" if isinstance(value, NotCond) else next(iter(type(value).model_fields))
    return None


# Exactly one key names the condition kind; all/any/not nest further conditions.
Condition = Annotated[
    Annotated[WordsCond, Tag("words")] | Annotated[RegexCond, Tag("regex")] | Annotated[LinksCond, Tag("links")]
    | Annotated[EmojiCond, Tag("emoji")] | Annotated[AddressedCond, Tag("addressed")]
    | Annotated[LanguageCond, Tag("language")] | Annotated[LengthCond, Tag("length")]
    | Annotated[CapsCond, Tag("caps")] | Annotated[RepetitionCond, Tag("repetition")]
    | Annotated[ModelCond, Tag("model")] | Annotated[AuthorCond, Tag("author")]
    | Annotated[AllCond, Tag("all")] | Annotated[AnyCond, Tag("any")] | Annotated[NotCond, Tag("not")],
    Discriminator(_condition_key, custom_error_type="condition",
                  custom_error_message="a condition is a mapping with exactly one of: " + ", ".join(CONDITION_KEYS)),
]
for _model in (AllCond, AnyCond, NotCond):
    _model.model_rebuild()


class ExampleCase(Strict):
    text: str
    lang: str | None = None
    reply_to: str | None = None  # text of the comment this one answers
    parent_author: str | None = None
    author: str | None = None
    scores: dict[str, float] = {}


def _case(value: Any) -> Any:
    return {"text": value} if isinstance(value, str) else value


Case = Annotated[ExampleCase, Field()]


class Examples(Strict):
    match: tuple[Case, ...] = ()
    no_match: tuple[Case, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _strings(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: [_case(v) for v in (vals or [])] for k, vals in data.items()}
        return data


class Rule(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.\-]*$")
    stated_rule: str = Field(min_length=1)  # the site's own words, shown to moderators and authors
    description: str = ""
    when: Condition
    action: Literal["approve", "hold", "reject"]
    priority: int = Field(50, ge=0, le=100)
    reason: str | None = None  # reason code recorded with the decision
    confidence: float = Field(1.0, ge=0, le=1)  # how sure a hit of this rule is, for auto-rejection
    status: Literal["active", "experimental"] = "active"
    examples: Examples = Examples()


class Policy(Strict):
    premoderation: Literal["all", "flagged", "new_authors", "none"] = "flagged"
    new_author_approvals: int = Field(3, ge=1)  # new_authors: held until this many approved comments
    reject_at: float = Field(0.97, ge=0, le=1)  # auto-reject only at or above this combined confidence
    hold_only: tuple[str, ...] = ()  # rules that may never reject a comment on their own
    thresholds: dict[str, float | dict[str, float]] = {}  # label -> score, or label -> {name: score}


class RuleSetFile(Strict):
    site: str
    languages: tuple[str, ...] = ("de", "en")
    default_language: str | None = None
    policy: Policy = Policy()
    rules: tuple[Rule, ...]

    @model_validator(mode="after")
    def _consistent(self) -> "RuleSetFile":
        ids = [r.id for r in self.rules]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"rule ids must be unique; repeated: {', '.join(dupes)}")
        unknown = [i for i in self.policy.hold_only if i not in ids]
        if unknown:
            raise ValueError(f"policy.hold_only names unknown rules: {', '.join(unknown)}")
        for rule in self.rules:
            if rule.id in self.policy.hold_only and rule.action == "reject":
                raise ValueError(f"rule {rule.id} is hold_only and cannot have action 'reject'")
        return self
