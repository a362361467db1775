"""Rule engine: schema errors located by file/line/rule, conditions, spans, examples, versions."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from moderation.rules import CommentContext, RuleError, load_ruleset
from moderation.rules.wordlists import WordList, WordListError

HEADER = """\
site: test
languages: [de, en]
policy:
  reject_at: 0.97
  hold_only: []
  thresholds: {insult: {hold: 0.7, reject: 0.95}, toxicity: 0.8}
"""
LISTS = {
    "de/insults.txt": "idiot\n*idiot\ntrottel\nheuchler\nschwach*\n",
    "en/insults.txt": "idiot\nmoron\n",
    "de/second_person.txt": "#! inflect: false\ndu\ndich\ndir\ndein\n",
    "en/second_person.txt": "#! inflect: false\nyou\nyour\n",
    "de/vocatives.txt": "#! inflect: false\nlieber\nliebe\nliebes\n",
    "de/honorifics.txt": "#! inflect: false\nherr\nfrau\n",
    "de/first_names.txt": "#! inflect: false\nandy\njan\n",
    "common/insult_emoji.txt": "🖕\n🤡\n",
    "de/phrases.txt": "halt die klappe\n",
}


def make_rules(tmp_path: Path, rules: str, header: str = HEADER, lists: dict | None = None) -> Path:
    (tmp_path / "site.yaml").write_text(header + "rules:\n" + textwrap.indent(textwrap.dedent(rules), "  "),
                                        encoding="utf-8")
    for name, text in (LISTS if lists is None else lists).items():
        path = tmp_path / "wordlists" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


def one_rule(tmp_path: Path, when: str, action: str = "hold", extra: str = ""):
    rules = f"- id: r\n  stated_rule: Sei nett.\n  action: {action}\n  when: {when}\n{extra}"
    rs = load_ruleset(make_rules(tmp_path, rules))
    return lambda text, **kw: rs.evaluate(CommentContext(text, **{"language": "de", **kw}))


# -- located errors ----------------------------------------------------------------------------
def error_of(tmp_path: Path, rules: str, header: str = HEADER, lists: dict | None = None) -> RuleError:
    with pytest.raises(RuleError) as info:
        load_ruleset(make_rules(tmp_path, rules, header, lists))
    return info.value


def test_unknown_condition_names_file_line_and_rule(tmp_path):
    err = error_of(tmp_path, """\
        - id: first
          stated_rule: A
          action: hold
          when: {words: {list: insults}}
        - id: second
          stated_rule: B
          action: hold
          when:
            any:
              - words: {list: insults}
              - wordz: {list: insults}
        """)
    (path, line, rule_id, message), = err.problems
    assert path.endswith("site.yaml") and rule_id == "second"
    lines = (tmp_path / "site.yaml").read_text().splitlines()
    assert "wordz" in lines[line - 1]
    assert "exactly one of" in message
    assert str(err).startswith(f"{path}:{line}: rule second:")


def test_extra_field_and_wrong_type_located(tmp_path):
    err = error_of(tmp_path, """\
        - id: a
          stated_rule: A
          action: hold
          when: {words: {list: insults, windw: 3}}
        - id: b
          stated_rule: B
          action: maybe
          when: {regex: {pattern: 'x'}}
        """)
    by_rule = {p[2]: p for p in err.problems}
    assert "windw" in by_rule["a"][3] and "Extra inputs" in by_rule["a"][3]
    assert "action" in by_rule["b"][3]
    lines = (tmp_path / "site.yaml").read_text().splitlines()
    assert "action: maybe" in lines[by_rule["b"][1] - 1]


@pytest.mark.parametrize("when, fragment", [
    ("{words: {list: nonsense}}", "no word list named 'nonsense'"),
    ("{regex: {pattern: '(unclosed'}}", "missing )"),
    ("{model: {label: threat}}", "no threshold for label 'threat'"),
    ("{model: {label: insult, above: severe}}", "no level 'severe'"),
])
def test_rules_that_cannot_compile_are_located(tmp_path, when, fragment):
    err = error_of(tmp_path, f"- id: broken\n  stated_rule: X\n  action: hold\n  when: {when}\n")
    (path, line, rule_id, message), = err.problems
    assert rule_id == "broken" and fragment in message and line == 11  # the rule's `when:`


def test_policy_consistency(tmp_path):
    header = HEADER.replace("hold_only: []", "hold_only: [defamation]")
    err = error_of(tmp_path, "- id: defamation\n  stated_rule: X\n  action: reject\n  when: {words: {list: insults}}\n",
                   header)
    assert "cannot have action 'reject'" in str(err)
    err = error_of(tmp_path, "- id: a\n  stated_rule: X\n  action: hold\n  when: {words: {terms: [x]}}\n" * 2)
    assert "repeated: a" in str(err)


def test_bad_yaml_and_bad_word_list_are_located(tmp_path):
    err = error_of(tmp_path, "- id: a\n  stated_rule: [unclosed\n")
    assert "not valid YAML" in str(err) and err.problems[0][1] is not None
    err = error_of(tmp_path, "- id: a\n  stated_rule: X\n  action: hold\n  when: {words: {list: insults}}\n",
                   lists={**LISTS, "de/insults.txt": "idiot\n<script>\n"})
    assert err.problems[0][0].endswith("insults.txt") and err.problems[0][1] == 2


def test_word_list_entry_errors():
    with pytest.raises(WordListError, match=":1: compound entry"):
        WordList.parse("x", "de", "*ab\n", "x.txt")
    with pytest.raises(WordListError, match="unknown directive"):
        WordList.parse("x", "de", "#! stem: yes\n", "x.txt")


def test_rules_can_span_several_files(tmp_path):
    make_rules(tmp_path, "- id: a\n  stated_rule: A\n  action: hold\n  when: {words: {list: insults}}\n")
    (tmp_path / "more.yaml").write_text("rules:\n  - id: b\n    stated_rule: B\n    action: hold\n"
                                        "    when: {links: {domains: [vimeo.com]}}\n", encoding="utf-8")
    rs = load_ruleset(tmp_path)
    assert [r.rule.id for r in rs.rules] == ["b", "a"] or [r.rule.id for r in rs.rules] == ["a", "b"]
    (tmp_path / "more.yaml").write_text("rules:\n  - id: c\n    stated_rule: C\n    action: nope\n"
                                        "    when: {links: {}}\n", encoding="utf-8")
    err = error_of(tmp_path, "- id: a\n  stated_rule: A\n  action: hold\n  when: {words: {list: insults}}\n")
    assert err.problems[0][0].endswith("more.yaml") and err.problems[0][1] == 4 and err.problems[0][2] == "c"


def test_version_is_a_content_hash(tmp_path):
    rules = "- id: a\n  stated_rule: A\n  action: hold\n  when: {words: {list: insults}}\n"
    first = load_ruleset(make_rules(tmp_path, rules)).version
    assert load_ruleset(tmp_path).version == first
    (tmp_path / "wordlists/de/insults.txt").write_text("idiot\nvollpfosten\n", encoding="utf-8")
    assert load_ruleset(tmp_path).version != first


# -- conditions --------------------------------------------------------------------------------
def test_words_whole_word_inflection_compound_and_spans(tmp_path):
    ev = one_rule(tmp_path, "{words: {list: insults}}")
    text = "Diese Vollidioten und Trottel, schwachsinnig!"
    (hit,) = ev(text).hits
    assert [(sp.text, sp.label) for sp in hit.spans] == [
        ("Vollidioten", "*idiot"), ("Trottel", "trottel"), ("schwachsinnig", "schwach*")]
    assert all(text[sp.start:sp.end] == sp.text for sp in hit.spans)
    assert not ev("Die Idiotie des Systems").hits  # whole words: "Idiotie" is not an inflection
    assert not ev("Er trotteltrat").hits


def test_phrases_match_words_in_a_row(tmp_path):
    ev = one_rule(tmp_path, "{words: {list: phrases}}")
    assert ev("Jetzt halt endlich die Klappe").hits == []
    assert ev("Halt die Klappe!").hits[0].spans[0].text == "Halt die Klappe"


def test_addressed_second_person_within_window(tmp_path):
    ev = one_rule(tmp_path, "{words: {list: insults, addressed: second_person, window: 4}}")
    (hit,) = ev("Du bist ein Idiot.").hits
    assert [sp.text for sp in hit.spans] == ["Du", "Idiot"]
    assert not ev("Die Manager sind Idioten.").hits
    assert not ev("Du hast recht, das habe ich auch schon lange so gesehen, die Chefs sind Idioten").hits


def test_vocatives_open_an_address_only_at_a_clause_start(tmp_path):
    ev = one_rule(tmp_path, "{words: {list: insults, addressed: second_person}}")
    assert ev("Das ist teuer, liebe Heuchler.").hits
    assert not ev("Die liebe Familie der Heuchler im Vorstand").hits


def test_named_persons_and_thread_participants(tmp_path):
    ev = one_rule(tmp_path, "{words: {list: insults, addressed: named}}")
    assert ev("Herr Maier ist ein Trottel.").hits
    assert ev("Andy Jassy ist ein Trottel.").hits
    assert ev("@sabine ist ein Trottel.").hits
    assert ev("Sabine ist ein Trottel.", thread_authors=("Sabine Schulz",)).hits
    assert not ev("Sabine ist ein Trottel.").hits
    assert not ev("Der Vorstand ist ein Trottel.").hits


def test_emoji_aimed_at_the_commenter_replied_to(tmp_path):
    ev = one_rule(tmp_path, "{emoji: {list: insult_emoji, addressed: any}}")
    assert ev("Genau so 🤓🖕", is_reply=True).hits
    assert not ev("Genau so 🤓🖕").hits
    assert ev("Du 🤡").hits


def test_links_conditions(tmp_path):
    ev = one_rule(tmp_path, "{links: {domains: [youtube.com, youtu.be]}}")
    (hit,) = ev("schaut: youtube . com/watch?v=1 und youtu be/2").hits
    assert [sp.label for sp in hit.spans] == ["youtube.com", "youtu.be"]
    assert not ev("https://example.org/youtube.com-kritik").hits
    assert not ev("Ich mag YouTube nicht").hits


def test_regex_with_time_limit_fails_safe(tmp_path):
    ev = one_rule(tmp_path, r"{regex: {pattern: '(a+)+$', timeout_ms: 5}}")
    result = ev("a" * 40 + "b" * 2000 + "a" * 30000 + "!")
    assert not result.hits and result.failures and "ms" in result.failures[0]["error"]
    assert one_rule(tmp_path, r"{regex: {pattern: '\bkauf\w*'}}")("Jetzt kaufen!").hits


def test_shape_conditions(tmp_path):
    ev = one_rule(tmp_path, "{any: [{caps: {ratio_above: 0.7, min_letters: 10}}, {repetition: {run_above: 5}},"
                            " {length: {above: 50}}]}")
    assert ev("WIR ZAHLEN DAS ALLES").hits
    assert ev("neeeeeeein").hits
    assert ev("x " * 30).hits
    assert not ev("ganz normal").hits


def test_combinators_and_language(tmp_path):
    ev = one_rule(tmp_path, "{all: [{language: [en]}, {not: {words: {terms: [thanks]}}}]}")
    assert ev("whatever", language="en").hits
    assert not ev("thanks", language="en").hits
    assert not ev("whatever", language="de").hits


def test_model_thresholds_by_level_and_missing_scores(tmp_path):
    ev = one_rule(tmp_path, "{model: {label: insult, above: reject}}")
    (hit,) = ev("x", scores={"insult": 0.96}).hits
    assert (hit.score, hit.threshold) == (0.96, 0.95)
    assert not ev("x", scores={"insult": 0.9}).hits
    missing = ev("x", scores={})
    assert not missing.hits and "no score" in missing.failures[0]["error"]


def test_author_condition(tmp_path):
    ev = one_rule(tmp_path, "{author: {approved_below: 3}}")
    assert ev("x", author_approved=1).hits
    assert not ev("x", author_approved=5).hits


def test_experimental_rules_are_recorded_not_acted_on(tmp_path):
    ev = one_rule(tmp_path, "{words: {list: insults}}", extra="  status: experimental\n")
    result = ev("Idiot")
    assert not result.hits and result.shadow_hits[0].experimental


def test_examples_run_and_report_failures(tmp_path):
    rules = """\
        - id: a
          stated_rule: A
          action: hold
          when: {words: {list: insults}}
          examples:
            match: ["Du Idiot", {text: "You moron", lang: en}]
            no_match: ["Alles gut", "Trottel"]
        """
    count, failures = load_ruleset(make_rules(tmp_path, rules)).test_examples()
    assert count == 4
    assert [str(f) for f in failures] == ["rule a: expected no match on 'Trottel'"]


# -- the site's own rule set -------------------------------------------------------------------
def test_site_rule_examples_pass(ruleset):
    count, failures = ruleset.test_examples()
    assert count >= 40 and failures == []


def test_site_rules_cover_the_stated_rules(ruleset):
    stated = {r.rule.stated_rule for r in ruleset.rules}
    assert any("persönlichen Angriffe" in s for s in stated)
    assert "Keine Diffamierungen." in stated and "Keine Video-Links." in stated
    assert "defamation" in ruleset.policy.hold_only


# -- whom a comment addresses: cases from reviewing the site's lists against real comments ------
def test_address_detection_edge_cases(ruleset):
    def addressed(text: str) -> list[str]:
        ctx = CommentContext(text, language="de")
        return [span.text for _, _, span in ruleset.address_marks(ctx)]

    assert addressed("Das sagt Konzernchef Albers.") == ["Konzernchef Albers"]
    assert addressed("Gemessen daran, lieber Jonas. Selten so gelacht.") == ["lieber Jonas"]
    assert addressed("Der Konzern und ihr Chef.") == []
    assert addressed("Ihr seid doch alle gleich.") == ["Ihr seid"]
    assert addressed("Na, die sind doch gleich.") == []
    assert addressed("Ich glaube, dass Sie lügen.") == ["Sie"]
    assert addressed("Sie lügen.") == []
    assert addressed("andy jassy sagt") == []


def test_mentions_are_handles_and_apostrophes_are_words(tmp_path):
    ev = one_rule(tmp_path, "{words: {list: insults}}")
    assert not ev("@Idiot hat recht").hits
    rules = "- id: r\n  stated_rule: S\n  action: hold\n  when: {words: {terms: [\"you're dead\"]}}\n"
    rs = load_ruleset(make_rules(tmp_path, rules))
    assert rs.evaluate(CommentContext("Careful, you're dead meat", language="en")).hits


def test_duplicate_rule_id_is_located_at_the_repeat(tmp_path):
    rule = "- id: {}\n  stated_rule: X\n  action: hold\n  when: {{words: {{terms: [x]}}}}\n"
    err = error_of(tmp_path, rule.format("a") + rule.format("b") + rule.format("a"))
    (path, line, rule_id, message), = err.problems
    lines = (tmp_path / "site.yaml").read_text().splitlines()
    assert path.endswith("site.yaml") and rule_id == "a" and lines[line - 1].strip() == "- id: a"
    assert line == len(lines) - 3  # the third rule, not the first
    assert "repeated" in message and f"site.yaml:{len(lines) - 11}" in message  # where it was first defined
    assert str(err).startswith(f"{path}:{line}: rule a:")


def test_duplicate_rule_id_across_files_names_both(tmp_path):
    make_rules(tmp_path, "- id: a\n  stated_rule: X\n  action: hold\n  when: {words: {terms: [x]}}\n")
    (tmp_path / "zz.yaml").write_text("rules:\n  - id: b\n    stated_rule: Y\n    action: hold\n"
                                      "    when: {words: {terms: [y]}}\n  - id: a\n    stated_rule: Z\n"
                                      "    action: hold\n    when: {words: {terms: [z]}}\n", encoding="utf-8")
    with pytest.raises(RuleError) as info:
        load_ruleset(tmp_path)
    (path, line, rule_id, message), = info.value.problems
    assert path.endswith("zz.yaml") and line == 6 and rule_id == "a" and "site.yaml:8" in message


def test_duplicate_rule_id_in_a_draft_keeps_the_live_rules(db):
    from moderation.rules import read_files
    from moderation.store import revisions
    from tests.conftest import RULES
    with db.session() as s:
        live = revisions.active_ruleset(s, RULES).version
    files = read_files(RULES)
    first = next(line for line in files["site.yaml"].splitlines() if line.strip().startswith("- id:"))
    files["site.yaml"] = files["site.yaml"].rstrip("\n") + "\n" + first + "\n    stated_rule: X\n" \
        "    action: hold\n    when: {words: {terms: [x]}}\n"
    with pytest.raises(RuleError) as info, db.session() as s:
        revisions.save(s, files, "admin1", "duplicate")
    (_, line, rule_id, _), = info.value.problems
    assert line == len(files["site.yaml"].splitlines()) - 3 and rule_id == first.split(":", 1)[1].strip()
    with db.session() as s:
        assert revisions.active(s).id == 1 and revisions.active_ruleset(s, RULES).version == live


def _rules_hit(ruleset, text: str, language: str = "de") -> set[str]:
    return {hit.rule_id for hit in ruleset.evaluate(CommentContext(text, language=language)).hits}


@pytest.mark.parametrize("text, host", [
    ("Schaut euch das an: www . youtube . com / watch?v=abc", "youtube.com"),
    ("www . youtube . com/watch?v=abc", "youtube.com"),
    ("youtube . com / watch ? v = dQw4w9WgXcQ", "youtube.com"),
    ("hier: youtu . be / xyz", "youtu.be"),
    ("https : // www . youtube . com / watch?v=1", "youtube.com"),
    ("www (dot) vimeo (dot) com / 123456 ansehen", "vimeo.com"),
    ("auf www . rumble . com / v4abc", "rumble.com"),
    ("Watch www . tiktok . com / @user/video/1 now", "tiktok.com"),
    ("w w w . youtube . com / watch?v=1", "youtube.com"),
])
def test_video_links_with_spaced_dots_and_slashes_are_found(ruleset, text, host):
    from moderation.domain.links import find_links, host_matches
    assert "no-video-links" in _rules_hit(ruleset, text)
    (link,) = find_links(text, ruleset.hosts)
    assert host_matches(link.host, [host]) and link.obfuscated
    assert host.split(".")[0] in text[link.start:link.end].lower()


@pytest.mark.parametrize("text, language", [
    ("Die Preise pro Kopf / Jahr sind gestiegen. Computer werden auch teurer.", "de"),
    ("Und / oder. Beides wäre möglich. Bedenken habe ich trotzdem.", "de"),
    ("Das Verhältnis 1 / 3 . 2 / 3 ist nicht fair.", "de"),
    ("Er fuhr 180 km / h . Das ist viel zu schnell.", "de"),
    ("Liebe Schüler / innen . Eltern . Lehrer / innen: bitte lesen!", "de"),
    ("Ich war bei YouTube / Google angestellt. Community ist dort alles.", "de"),
    ("Das lief auf YouTube. Besonders die Kommentare waren schlimm.", "de"),
    ("Www. Das sagt heute keiner mehr.", "de"),
    ("It is 50 / 50 . Common sense says wait.", "en"),
    ("Input / output. Be careful with the numbers / totals.", "en"),
    ("He posted it on YouTube . Coming soon / maybe never.", "en"),
    ("I watched the video twice / three times. Tv is dead anyway.", "en"),
    ("The ratio was 3 / 4. Be fair / be honest.", "en"),
])
def test_prose_with_spaced_slashes_and_dots_is_no_video_link(ruleset, text, language):
    assert "no-video-links" not in _rules_hit(ruleset, text, language)


def test_a_key_given_twice_is_an_error_at_its_line(tmp_path):
    """One YAML library (ruamel.yaml): a repeated key is reported where it repeats, never silently overwritten."""
    err = error_of(tmp_path, "- id: a\n  stated_rule: A\n  action: hold\n  action: reject\n"
                             "  when: {words: {list: insults}}\n")
    path, line, _, message = err.problems[0]
    repeat = (tmp_path / "site.yaml").read_text(encoding="utf-8").splitlines().index("    action: reject") + 1
    assert path.endswith("site.yaml") and line == repeat and "duplicate key" in message and "action" in message
