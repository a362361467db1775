"""The compiled matcher finds exactly what the full look finds: same entries, tokens and spans, on real
comments from every corpus in ../shared/data and on generated obfuscated text; and the narrower link
prefilter finds the links the one before it found."""
from __future__ import annotations

import csv
import gzip
import io
import json
import lzma
import random
from pathlib import Path
from typing import Iterator
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moderation.domain import links
from moderation.domain.text import tokenize
from moderation.rules import CommentContext, load_ruleset
from moderation.rules.plaintext import FOLDED, check_table, plain_tokens, plain_words
from tests.conftest import DATA, need

RULES = Path(__file__).resolve().parents[1] / "rules"
SAMPLE = 2_000  # comments per corpus: the whole run stays under a minute
TEXT_FILES = (".csv", ".tsv", ".txt", ".jsonl", ".json")

csv.field_size_limit(10_000_000)


@pytest.fixture(scope="module")
def ruleset():  # noqa: ANN201
    return load_ruleset(RULES)


def _open(path: Path) -> io.TextIOBase:
    opener = {".gz": gzip.open, ".xz": lzma.open}.get(path.suffix, open)
    return opener(path, "rt", encoding="utf-8", errors="replace")


COLUMN = {"potts": 2}  # headerless files whose longest field is an annotation, not the comment


def _texts_of(path: Path, column: int | None = None) -> Iterator[str]:
    """Every text-like value of a corpus file: per row or object, its longest string (the comment)."""
    kind = Path(path.name.removesuffix(".gz").removesuffix(".xz")).suffix
    with _open(path) as fh:
        if kind in (".jsonl", ".json"):
            for line in fh:
                try:
                    value = json.loads(line)
                except ValueError:
                    continue
                strings = [v for v in (value.values() if isinstance(value, dict) else [value]) if isinstance(v, str)]
                if strings:
                    yield max(strings, key=len)
        else:
            rows = csv.reader(fh, delimiter="," if kind == ".csv" else "\t")
            for row in rows:
                if row and column is not None:
                    yield row[column] if len(row) > column else ""
                elif row:
                    yield max(row, key=len)


def corpus_sample(folder: Path, n: int = SAMPLE, pool: int = 20_000) -> list[str]:
    """n texts drawn (seeded) from the first `pool` texts of a corpus folder."""
    texts: list[str] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if Path(path.name.removesuffix(".gz").removesuffix(".xz")).suffix not in TEXT_FILES:
            continue
        for text in _texts_of(path, COLUMN.get(folder.name)):
            if text.strip():
                texts.append(text)
                if len(texts) >= pool:
                    break
        if len(texts) >= pool:
            break
    return random.Random(folder.name).sample(texts, min(n, len(texts)))


def assert_same_as_full_look(ruleset, text: str, by_name: bool = True) -> bool:  # noqa: ANN001
    """Every list: compiled matcher == WordList.find over the tokenizer's tokens (and, by_name, each list
    name for a comment in English and in all languages). Returns whether the text took the plain path."""
    lists = ruleset.lists
    ctx = CommentContext(text, language="de")
    tokens = tokenize(text)
    # The context's tokens of a plain text are built from its plain words: exactly the tokenizer's.
    assert ctx.tokens == tokens and all(type(t) is type(tokens[0]) for t in ctx.tokens), text
    # Whom the text addresses, as found on the plain path and by walking the tokenizer's tokens.
    thread = {"thread_authors": ("Jan Maier", "Idiot", "du"), "parent_author": "Mara_K"}
    full = CommentContext(text, language="de", **thread)
    full.__dict__["plain"] = None  # the full look: the tokenizer's tokens, every token walked
    assert ruleset.addressing.marks(CommentContext(text, language="de", **thread)) == ruleset.addressing.marks(full)
    for slot, wl in enumerate(lists._lists):
        assert lists._found(ctx, slot) == wl.find(tokens), (text, wl.name, wl.language)
    ctx_en = CommentContext(text, language="en")
    for name, by_lang in lists.wordlists.items() if by_name else ():
        for language in ("comment", "all"):
            if language == "comment" and "en" in by_lang:
                chosen = [by_lang["en"]] + ([by_lang["common"]] if "common" in by_lang else [])
            else:
                chosen = list(by_lang.values())
            expected = [h for wl in chosen for h in wl.find(tokens)]
            assert lists.hits(ctx_en, name, language) == expected, (text, name, language)
    return plain_words(text) is not None


def _evaluation(ruleset, text: str, language: str) -> tuple:  # noqa: ANN001
    out = []
    for scores in ({label: 0.0 for label in ruleset.model_labels}, None):  # None: no scorer ran, scores fail
        e = ruleset.evaluate(CommentContext(text, language=language, is_reply=True, parent_text="Danke",
                                            thread_authors=("Jan Maier",), scores=scores))
        out.append(([h.to_dict() for h in e.hits], [h.to_dict() for h in e.shadow_hits], e.failures))
    return tuple(out)


def assert_same_evaluation_without_the_bound(ruleset, text: str) -> None:  # noqa: ANN001
    """Single-pass evaluation (rules and list conditions none of whose words the automaton marked are not
    run) gives exactly the evaluation that runs every rule's every condition."""
    for language in ("de", "en"):
        fast = _evaluation(ruleset, text, language)
        with mock.patch.object(type(ruleset.lists), "marked_slots", lambda self, ctx: None):
            slow = _evaluation(ruleset, text, language)
        assert fast == slow, text


_OLD_DOT_TLD = links.re.compile(rf"\.(?:{links._TLD})(?![a-z0-9-])")


def _old_could_have_links(lower: str, hints) -> bool:  # noqa: ANN001
    """The prefilter before the compiled matcher (commit 93bc241), kept as the reference."""
    return ("://" in lower or "www" in lower or " ." in lower or "dot" in lower or "punkt" in lower
            or _OLD_DOT_TLD.search(lower) is not None
            or links.re.compile("|".join(map(links.re.escape, hints.keys()))).search(lower) is not None)


def _spaced_by_finditer(text: str, hosts: tuple[str, ...], spaced) -> list:  # noqa: ANN001
    return list(spaced.finditer(text))


def assert_links_as_without_prefilter(text: str, hosts: tuple[str, ...]) -> None:
    """find_links == find_links with the earlier prefilter and the link patterns tried everywhere."""
    with mock.patch.object(links, "_could_have_links", _old_could_have_links), \
            mock.patch.object(links, "spaced_matches", _spaced_by_finditer), \
            mock.patch.object(links, "url_matches", lambda text: list(links.URL_RE.finditer(text))):
        expected = links.find_links(text, hosts)
    assert links.find_links(text, hosts) == expected, text
    spaced = links._spaced_hosts_re(hosts)
    if spaced is not None:
        assert [m.span() for m in links.spaced_matches(text, hosts, spaced)] == \
            [m.span() for m in spaced.finditer(text)], text


CORPORA = sorted(p.name for p in DATA.iterdir() if p.is_dir()) if DATA.is_dir() else ["(none)"]


@pytest.mark.corpus
@pytest.mark.parametrize("name", CORPORA)
def test_same_hits_and_spans_on_real_comments(ruleset, name: str) -> None:
    need((DATA / name).is_dir(), f"corpus {name} not found under {DATA}")
    texts = corpus_sample(DATA / name)
    assert texts, f"no texts read from {name}"
    plain = sum(assert_same_as_full_look(ruleset, text, by_name=False) for text in texts)
    for text in texts:
        assert_links_as_without_prefilter(text, ruleset.hosts)
        assert_same_evaluation_without_the_bound(ruleset, text)
    assert plain or name.startswith("lex-"), f"{name}: no comment took the compiled path"


# -- generated obfuscations ----------------------------------------------------------------------------
LEET = {"a": "4@", "e": "3€", "i": "1!|", "o": "0", "s": "5$", "t": "7+", "b": "8", "g": "9"}
CONFUSABLE = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "i": "і"}
PIECES = [" ", " ", ", ", ". ", "! ", "? ", "'", "’", "-", "\n", " @", "#", "$", "3", "42", "😀", "🤡", "\u200b",
          "\u00ad", "é", "ß", "Ä", "ü", "·", "_", "...", "www.", ".com", "youtu be", "(dot) ", " punkt de"]


def _entries(ruleset) -> list[str]:  # noqa: ANN001
    return sorted({e.strip("*=") for by_lang in ruleset.wordlists.values() for wl in by_lang.values()
                   for e in wl.entries} | set(FOLDED) | {"du", "Sie", "Herr", "Idiot", "halt die Klappe"})


@st.composite
def obfuscated(draw, words: list[str]) -> str:  # noqa: ANN001
    word = draw(st.sampled_from(words))
    how = draw(st.sampled_from(["plain", "upper", "leet", "spaced", "repeat", "confusable", "zero", "title",
                                "apostrophe", "digits"]))
    if how == "upper":
        word = word.upper()
    elif how == "title":
        word = word.title()
    elif how == "leet":
        word = "".join(draw(st.sampled_from(LEET[c])) if c in LEET and draw(st.booleans()) else c for c in word)
    elif how == "spaced":
        sep = draw(st.sampled_from([" ", ".", ". ", "-", "*", "_", "·", "  "]))
        word = sep.join(word)
    elif how == "repeat":
        i = draw(st.integers(0, max(0, len(word) - 1)))
        word = word[:i] + word[i:i + 1] * draw(st.integers(2, 6)) + word[i + 1:]
    elif how == "confusable":
        word = "".join(CONFUSABLE.get(c, c) if draw(st.booleans()) else c for c in word)
    elif how == "zero":
        i = draw(st.integers(0, len(word)))
        word = word[:i] + draw(st.sampled_from(["\u200b", "\u00ad", "\u200d"])) + word[i:]
    elif how == "apostrophe":
        i = draw(st.integers(0, len(word)))
        word = word[:i] + draw(st.sampled_from(["'", "’", "´"])) + word[i:]
    elif how == "digits":
        word = draw(st.sampled_from(["", "1", "4", "19"])) + word + draw(st.sampled_from(["", "1", "3", "er"]))
    return word


@st.composite
def comments(draw, words: list[str]) -> str:  # noqa: ANN001
    parts = draw(st.lists(st.one_of(obfuscated(words), st.sampled_from(PIECES), st.text(max_size=4)),
                          min_size=1, max_size=14))
    return "".join(parts)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abcAZäöüßéÄ019 '’.,!?-\n€+|„“…·")), max_size=60))
def test_plain_tokens_are_the_tokenizers(text: str) -> None:
    plain = plain_words(text)
    fast = plain_tokens(text, plain)
    assert (fast is None) == (plain is None)
    if fast is not None:
        assert fast == tokenize(text), text


def test_fold_table_is_letter_exact() -> None:
    check_table()


def test_same_hits_and_spans_on_obfuscated_text(ruleset) -> None:
    words = _entries(ruleset)

    @settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
    @given(comments(words))
    def check(text: str) -> None:
        assert_same_as_full_look(ruleset, text)
        assert_links_as_without_prefilter(text, ruleset.hosts)
        assert_same_evaluation_without_the_bound(ruleset, text)

    check()


HOSTISH = ["youtube", "YouTube", "youtu", "be", "com", "t", "me", "T", "ME", "dai", "ly", "vm", "tiktok", "rumble",
           "discord", "gg", ".", " . ", " ", "  ", "(dot)", " [punkt] ", "/watch", "ß", "ﬁ", "K", "ſ", "İ", "x",
           "www", "https://", "@", "-", "_", "\n", "é", "ü"]


def test_spaced_hosts_found_as_by_searching_everywhere(ruleset) -> None:  # noqa: ANN001
    """The spaced-host pattern tried only at first labels finds what searching every position finds."""
    hosts = ruleset.hosts

    @settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.sampled_from(HOSTISH), min_size=1, max_size=12).map("".join))
    def check(text: str) -> None:
        assert_links_as_without_prefilter(text, hosts)
        assert_links_as_without_prefilter(text, ("münchen.de", *hosts))  # outside ASCII: searched everywhere

    check()


ACCENTED = ["ä", "Ö", "ü", "ß", "é", "Ç", "ñ", "æ", "œ", "Ü", "ẞ", "ø", "å"]


@st.composite
def mixed_comments(draw, words: list[str]) -> str:  # noqa: ANN001
    """Words with digits or letter runs beside words with umlauts and accents, in any order."""
    def accented(word: str) -> str:
        i = draw(st.integers(0, len(word)))
        return word[:i] + draw(st.sampled_from(ACCENTED)) * draw(st.integers(1, 3)) + word[i:]

    parts = draw(st.lists(st.one_of(obfuscated(words), st.sampled_from(words).map(accented),
                                    st.sampled_from(["3", "2015er", "co2", "Idiooot", "4rsch", " ", ", ", "-"])),
                          min_size=2, max_size=10))
    return draw(st.sampled_from([" ", ", ", ""])).join(parts)


def test_same_hits_and_spans_on_mixed_text(ruleset) -> None:
    words = _entries(ruleset)

    @settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
    @given(mixed_comments(words))
    def check(text: str) -> None:
        assert_same_as_full_look(ruleset, text)
        assert_same_evaluation_without_the_bound(ruleset, text)

    check()


@pytest.mark.parametrize("text", [
    "Du bist ein Vollidiot, Herr Müller!", "I.d.i.o.t", "A r s c h", "A_r_s_c_h", "Idioooot du", "4rsch", "1d10t",
    "Du Vollid!ot", "Du Id|ot", "Schifffahrt", "Fußsohle", "@jan Idiot", "$hit", "du 😀🤡", "Du Іdiot",
    "Ha\u200blt die Klappe", "halt, die Klappe!", "halt die klaaaappe", "haaalt die klappe", "du'idiot",
    "you're an idiot", "rock 'n' roll", "eeeé", "Kaffeeersatz", "www.youtube.com", "u.s.w. du Idiot",
    "x'a.b.c", "a.b.c'de Idiot", "Covid19 Idiot", "ǅ Idiot", "İdiot", "ﬁ Idiot", "K Idiot",
    # umlauts or accents in the text and digits or runs in a word: word by word
    "Müll 2015er Idiooot", "Bär3 Idiot", "Müüüll du Idiot", "Schloßsee 4rsch", "Straße 1d10t", "für 3x Idiooten",
    "Grüße, du Vollid1ot", "Café Idiooot", "ÄÄÄ du 4rsch", "Öl 5ss du Idiot", "süß halt die klaaappe",
    "über haaalt die Klappe", "Maß 2 Idiotinnen", "ßßß 3", "Ärger co2 du Trottel", "naïve 1d10ten",
])
def test_same_hits_on_known_dodges(ruleset, text: str) -> None:
    assert_same_as_full_look(ruleset, text)
    assert_same_evaluation_without_the_bound(ruleset, text)
    assert_links_as_without_prefilter(text, ruleset.hosts)


BOUND_RULES = """
site: t
languages: [de]
rules:
  - id: both
    stated_rule: x
    when: {all: [{words: {list: insults}}, {not: {words: {list: profanity}}}]}
    action: hold
  - id: either
    stated_rule: x
    when: {any: [{words: {list: insults}}, {words: {terms: [hampelmann]}}]}
    action: hold
  - id: scored
    stated_rule: x
    when: {any: [{words: {list: insults}}, {model: {label: insult, above: 0.5}}]}
    action: hold
  - id: negated
    stated_rule: x
    when: {not: {words: {list: insults}}}
    action: hold
  - id: scored-insult
    stated_rule: x
    when: {all: [{words: {list: insults}}, {model: {label: insult, above: 0.5}}]}
    action: hold
  - id: nested
    stated_rule: x
    when: {any: [{words: {list: profanity}}, {all: [{words: {list: insults}}, {model: {label: insult, above: 0.5}}]}]}
    action: hold
"""


def test_the_bound_of_each_condition_kind(ruleset) -> None:  # noqa: ANN001
    """all: every part's bound; any: the union, or none when a part has none; not and scores: none."""
    from moderation.rules import compile_ruleset, read_files

    files = {k: v for k, v in read_files(RULES).items() if k.startswith("wordlists/")}
    rs = compile_ruleset({**files, "site.yaml": BOUND_RULES}, "t")
    slots = {name: rs.lists.slots((name,), None) for name in ("insults", "profanity")}
    needs = {c.rule.id: c.needs for c in rs.rules}
    assert needs["both"] == (slots["insults"],)
    (either,) = needs["either"]
    assert slots["insults"] < either and len(either - slots["insults"]) == 1  # the inline terms' own slot
    assert needs["scored"] == () and needs["negated"] == ()
    # a missing score is a recorded failure whatever the lists say: never skipped on a list's bound
    assert needs["scored-insult"] == () and needs["nested"] == ()
    failed = rs.evaluate(CommentContext("Guten Tag", language="de")).failures
    assert {f["rule"] for f in failed} == {"scored", "scored-insult", "nested"}
    cases = ["Du Idiot", "Du Idiot, Scheiße", "Hampelmann!", "Guten Tag", "Idiooot", "I.d.i.o.t"]
    for text in cases:
        assert_same_evaluation_without_the_bound(rs, text)
    ids = [h.rule_id for h in rs.evaluate(CommentContext("Du Idiot", language="de", scores={"insult": 0.0})).hits]
    assert ids == ["both", "either", "scored"]
    ids = [h.rule_id for h in rs.evaluate(CommentContext("Guten Tag", language="de", scores={"insult": 0.9})).hits]
    assert ids == ["scored", "negated"]


@pytest.mark.parametrize("text", ["Herr dääämlack", "So ein Döööödel!", "Mööönsch, das ist Müüüll"])
def test_a_run_of_letters_outside_ascii_takes_the_full_look(ruleset, text) -> None:
    """Found by the fuzzer: once "ä" reads "ae", "äää" is no run of three, so the plain path kept the elongation."""
    assert_same_as_full_look(ruleset, text)
