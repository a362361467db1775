"""The rule cache: a rule set loaded from it is the one compiled from the text; anything odd is a miss."""
from __future__ import annotations

import json
from pathlib import Path
from unittest import mock

import pytest

from moderation.rules import CommentContext, RuleError, compile_ruleset, load_ruleset, read_files
from moderation.rules import cache as rules_cache
from moderation.rules import loader

RULES = Path(__file__).resolve().parents[1] / "rules"
TEXTS = ["Du bist ein Idiot, verschwinde.", "Herr Maier ist ein Betrüger", "halt die klaaappe du V.o.l.l.i.d.i.o.t",
         "Schaut mal youtube . com/watch?v=1", "WIR ZAHLEN DAS ALLES UND NIEMAND FRAGT UNS JEMALS", "Danke!",
         "You are a complete moron 🖕", "Leute wie dich sollte man aufhängen", "Dieses Ungeziefer"]


def _evaluations(rs) -> list[dict]:  # noqa: ANN001
    out = []
    for text in TEXTS:
        for lang in ("de", "en"):
            e = rs.evaluate(CommentContext(text, language=lang, is_reply=True, parent_text="Hallo",
                                           scores={label: 0.5 for label in rs.model_labels}))
            out.append({"hits": [h.to_dict() for h in e.hits], "shadow": [h.to_dict() for h in e.shadow_hits],
                        "failures": e.failures})
    return out


def _lists(rs) -> dict:  # noqa: ANN001
    return {(name, lang): (wl.entries, wl.exact, wl.prefixes, wl.suffixes, wl.infixes, wl.phrases)
            for name, by_lang in rs.wordlists.items() for lang, wl in by_lang.items()}


def test_a_rule_set_from_the_cache_is_the_one_compiled_from_text(tmp_path: Path) -> None:
    fresh = load_ruleset(RULES)
    load_ruleset(RULES, cache=tmp_path)  # fills the cache
    assert len(list(tmp_path.glob("rs-*.json"))) == 1
    with mock.patch.object(loader, "_parse", side_effect=AssertionError("YAML parsed on a cache hit")), \
            mock.patch.object(loader, "parse_lists", side_effect=AssertionError("lists folded on a cache hit")):
        cached = load_ruleset(RULES, cache=tmp_path)
    assert cached.version == fresh.version and dict(cached.files) == dict(fresh.files)
    assert cached.spec == fresh.spec
    assert _lists(cached) == _lists(fresh)
    assert _evaluations(cached) == _evaluations(fresh)
    assert cached.test_examples() == fresh.test_examples()


def test_an_edited_rule_set_misses_and_gets_its_own_entry(tmp_path: Path) -> None:
    files = read_files(RULES)
    load_ruleset(RULES, cache=tmp_path)
    edited = dict(files, **{"wordlists/de/insults.txt": files["wordlists/de/insults.txt"] + "\nsuppenkasper\n"})
    rs = compile_ruleset(edited, str(RULES), cache=tmp_path)
    assert rs.evaluate(CommentContext("Du Suppenkasper", language="de")).hits
    assert len(list(tmp_path.glob("rs-*.json"))) == 2
    assert not load_ruleset(RULES, cache=tmp_path).evaluate(CommentContext("Du Suppenkasper", language="de")).hits


def _entry(tmp_path: Path) -> Path:
    load_ruleset(RULES, cache=tmp_path)
    (path,) = tmp_path.glob("rs-*.json")
    return path


@pytest.mark.parametrize("damage", [
    lambda text: text[: len(text) // 2],  # cut short
    lambda text: "",
    lambda text: "[1, 2, 3]",
    lambda text: text.replace('"format": 1', '"format": 99'),
    lambda text: text.replace('"fingerprint": "', '"fingerprint": "x'),
    lambda text: json.dumps({**json.loads(text), "merged": ["not", "a", "mapping"]}),
    lambda text: json.dumps({**json.loads(text), "lists": {"insults": {"de": {"exact": 5}}}}),
    lambda text: json.dumps({**json.loads(text), "lists": {"insults": {"de": {**json.loads(text)["lists"]["insults"]["de"], "exact": {"idiot": 1}}}}}),
    lambda text: json.dumps({**json.loads(text), "merged": {**json.loads(text)["merged"], "rules": [{"id": 3}]}}),
])
def test_a_damaged_or_foreign_entry_is_a_miss(tmp_path: Path, damage) -> None:  # noqa: ANN001
    path = _entry(tmp_path)
    path.write_text(damage(path.read_text(encoding="utf-8")), encoding="utf-8")
    fresh = load_ruleset(RULES)
    rs = load_ruleset(RULES, cache=tmp_path)
    assert _lists(rs) == _lists(fresh) and _evaluations(rs) == _evaluations(fresh)


def test_an_entry_of_another_rule_set_is_never_read(tmp_path: Path) -> None:
    """The file name and the version inside must both be the rules' content hash."""
    path = _entry(tmp_path)
    files = read_files(RULES)
    edited = dict(files, **{"wordlists/de/insults.txt": "suppenkasper\n"})
    other = rules_cache._path(tmp_path, compile_ruleset(edited, "x").version)
    other.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")  # the old entry under the new name
    rs = compile_ruleset(edited, "x", cache=tmp_path)
    assert rs.evaluate(CommentContext("Du Suppenkasper", language="de")).hits
    assert not rs.evaluate(CommentContext("Du Idiot", language="de")).hits


def test_an_invalid_rule_set_is_reported_and_never_cached(tmp_path: Path) -> None:
    files = dict(read_files(RULES), **{"site.yaml": "site: x\nrules:\n  - id: a\n    when: {words: {list: nope}}\n"})
    with pytest.raises(RuleError):
        compile_ruleset(files, "draft", cache=tmp_path)
    assert not list(tmp_path.glob("*.json"))


def test_an_unwritable_cache_folder_does_not_stop_loading(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    rs = load_ruleset(RULES, cache=blocked / "rules")
    assert rs.evaluate(CommentContext("Du Idiot", language="de")).hits


def test_the_fingerprint_covers_the_folding_code() -> None:
    """A change to text folding or list parsing must change the key (else a stale fold would be read)."""
    assert {"domain/text.py", "rules/wordlists.py", "rules/loader.py"} <= set(rules_cache._CODE)
    package = Path(rules_cache.__file__).resolve().parents[1]
    assert all((package / relative).is_file() for relative in rules_cache._CODE)
