"""Fuzzing every importer: any bytes either import or raise ImportFormatError naming the file and a line.

Inputs start from valid files (the samples and the importer fixtures), mutated in their structure (elements,
rows, fields) and their bytes (brackets, quotes, tags, entities, namespaces); some are random bytes. The fuzz
tests parse with no database; the last tests import into one to check that a refused file writes nothing.
Case counts come from the hypothesis profile (tests/conftest.py): HYPOTHESIS_PROFILE=ci (2,000, the CI
default) or nightly (50,000); see bench/FUZZ.md.
"""
from __future__ import annotations

import copy
import csv
import io
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from moderation.domain.comments import ImportBatch
from moderation.importers import ImportFormatError, parse_batches
from moderation.importers.html import html_to_text
from moderation.importers.xmlread import DSQ_ID
from moderation.store.loading import ImportConflict, check_storable
from tests.conftest import FUZZ_PROFILE, SAMPLES

FIXTURES = Path(__file__).parent / "fixtures" / "importers"
SEEDS = {
    "jsonl": [SAMPLES / "de_thread.jsonl", SAMPLES / "en_thread.jsonl", FIXTURES / "comments.jsonl"],
    "csv": [FIXTURES / "comments.csv", FIXTURES / "comments.tsv"],
    "wxr": [FIXTURES / "wxr_1_0_http.xml", FIXTURES / "wxr_1_1_mixed.xml", FIXTURES / "wxr_1_2_https.xml"],
    "disqus": [FIXTURES / "disqus.xml"],
}
TOKENS = {
    "jsonl": [b"{", b"}", b"[", b"]", b'"', b"\\", b'"\\ud800"', b'"\\u0000"', b",", b":", b"null", b"NaN",
              b"1e999", b"-0", b"true", b"\n", b"\r", b"\xef\xbb\xbf", b'"id"', b'"parent_id"', b'"meta"',
              b"[" * 100, b"{\"a\":" * 70],
    "csv": [b",", b'"', b'""', b"\n", b"\r", b"\r\n", b"\t", b"\x00", b"id", b"parent_id", b"meta",
            b'"{""a"": 1}"', b"\xef\xbb\xbf", b"approved", b"rejected"],
    "wxr": [b"<", b">", b"</", b"/>", b"&", b"&amp;", b"&#0;", b"&#xD800;", b"&nope;", b"]]>", b"<![CDATA[",
            b"<item>", b"</item>", b"<wp:comment>", b"</wp:comment>", b"<wp:comment_id>1</wp:comment_id>",
            b"<wp:comment_parent>1</wp:comment_parent>", b"<wp:post_id>1</wp:post_id>", b'xmlns="x{y}z"',
            b'xmlns:wp="http://wordpress.org/export/9/"', b"<!DOCTYPE rss [<!ENTITY a 'b'>]>", b"&a;",
            b"<?pi x?>", b"<!-- c -->", b"0000-00-00 00:00:00", b"\xff", b"\x00", b"http://[", b"]:99999/"],
    "disqus": [b"<", b">", b"</", b"/>", b"&", b"&#0;", b"&nope;", b"]]>", b"<![CDATA[", b"<post>", b"</post>",
               b'<thread dsq:id="1"/>', b'<parent dsq:id="1"/>', b'dsq:id=""', b'dsq:id="7"',
               b'xmlns="http://disqus.com{x}"', b'xmlns:dsq="}"', b"<isSpam>ja</isSpam>",
               b"<!DOCTYPE disqus [<!ENTITY a 'b'>]>", b"&a;", b"<createdAt>x</createdAt>", b"\xff", b"\x00"],
}
# Column sizes of the store (moderation/store/models.py): a parsed batch must fit them.
LIMITS = {"external_id": 200, "article_id": 200, "parent_id": 200, "author": 200, "source_status": 20,
          "language": 8}


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
    | st.sampled_from(["\ud800", "a\udfffb", "\x00", "9" * 400, 1e308 * 10]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8)
XML_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff")
                   | st.sampled_from("\n\t"), max_size=250)
FIELDS = ["id", "article_id", "parent_id", "text", "author", "created_at", "decision", "kind", "status",
          "source", "language", "meta"]


@st.composite
def mutated(draw: st.DrawFn, fmt: str) -> tuple[bytes, str]:
    """A seed file of the format changed in its structure and/or its bytes, or random bytes; and its suffix."""
    seed = draw(st.sampled_from(SEEDS[fmt]))
    suffix = seed.suffix if fmt == "csv" else {"jsonl": ".jsonl", "wxr": ".xml", "disqus": ".xml"}[fmt]
    how = draw(st.integers(0, 9))
    if how == 0:
        return draw(st.binary(max_size=2000)), suffix
    data = seed.read_bytes()
    if how >= 5:  # structure: elements, rows and fields moved, copied, dropped or given random values
        restructure = {"jsonl": _jsonl, "csv": _csv}.get(fmt, _xml)
        data = restructure(draw, data, "\t" if suffix == ".tsv" else ",")
    if how < 5 or draw(st.booleans()):
        data = _bytes(draw, bytearray(data), fmt)
    return data, suffix


def _bytes(draw: st.DrawFn, data: bytearray, fmt: str) -> bytes:
    """Byte-level mutations: syntax tokens, random bytes, cut or repeated stretches, swapped lines."""
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["token", "token", "bytes", "delete", "duplicate", "lines"]))
        at = draw(st.integers(0, len(data)))
        if op == "token":
            data[at:at] = draw(st.sampled_from(TOKENS[fmt]))
        elif op == "bytes":
            data[at:at + draw(st.integers(0, 4))] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del data[at:at + draw(st.integers(1, 200))]
        elif op == "duplicate":
            data[at:at] = data[at:at + draw(st.integers(1, 400))]
        else:
            lines = bytes(data).split(b"\n")
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
            data = bytearray(b"\n".join(lines))
    return bytes(data)


def _jsonl(draw: st.DrawFn, data: bytes, _: str) -> bytes:
    rows = [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]
    for _ in range(draw(st.integers(1, 4))):
        row = draw(st.sampled_from(rows))
        op = draw(st.sampled_from(["value", "value", "drop", "refer", "copy", "remove"]))
        key = draw(st.sampled_from(FIELDS) | st.text(max_size=6))
        if op == "value":
            row[key] = draw(JSON_VALUES)
        elif op == "drop":
            row.pop(key, None)
        elif op == "refer":  # ids pointing at other rows: self-replies, loops, duplicates
            row[draw(st.sampled_from(["id", "parent_id", "article_id"]))] = draw(st.sampled_from(rows)).get("id")
        elif op == "copy":
            rows.append(dict(row))
        elif len(rows) > 1:
            rows.remove(row)
    ascii_only = draw(st.booleans())
    return "".join(json.dumps(row, ensure_ascii=ascii_only) + "\n" for row in rows).encode("utf-8", "surrogatepass")


def _csv(draw: st.DrawFn, data: bytes, delimiter: str) -> bytes:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=delimiter))
    for _ in range(draw(st.integers(1, 4))):
        header = len(rows) == 1 or draw(st.integers(0, 4)) == 0  # mostly data rows: the header gates all
        i = 0 if header else draw(st.integers(1, len(rows) - 1))
        row = rows[i]
        op = draw(st.sampled_from(["value", "value", "drop", "refer", "copy", "remove"]))
        j = draw(st.integers(0, max(len(row) - 1, 0)))
        if op == "value" and row:
            row[j] = draw(st.text(max_size=250) | st.sampled_from(FIELDS) | JSON_VALUES.map(json.dumps))
        elif op == "drop" and row:
            del row[j]
        elif op == "refer" and row and len(rows) > 1:
            other = draw(st.sampled_from(rows[1:]))
            row[j] = other[0] if other else ""  # a row may have lost all its cells to "drop"
        elif op == "copy":
            rows.append(list(row))
        elif len(rows) > 1:
            del rows[i]
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows(rows)
    return out.getvalue().encode("utf-8", "surrogatepass")


def _xml(draw: st.DrawFn, data: bytes, _: str) -> bytes:
    root = etree.fromstring(data)
    for _ in range(draw(st.integers(1, 4))):
        elements = [e for e in root.iter() if isinstance(e.tag, str)]
        element = draw(st.sampled_from(elements))
        op = draw(st.sampled_from(["text", "text", "attribute", "rename", "drop", "copy", "move"]))
        if op == "text":
            element.text = draw(XML_TEXT | st.sampled_from(["", "0", "1", "true", "2021-06-01T10:05:00Z"]))
        elif op == "attribute":
            element.set(draw(st.sampled_from([DSQ_ID, "id", "{http://example.org/x}y"])), draw(XML_TEXT))
        elif op == "rename":
            element.tag = draw(st.sampled_from(elements)).tag
        elif element is not root:
            parent = element.getparent()
            if op == "drop":
                parent.remove(element)
            elif op == "copy":
                parent.insert(parent.index(element), copy.deepcopy(element))
            else:
                target = draw(st.sampled_from(elements))
                if element not in target.iterancestors() and target is not element:
                    target.append(element)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def check_parse(fmt: str, content: bytes, suffix: str, auto: bool) -> list[ImportBatch] | ImportFormatError:
    """Parse the bytes as a file; any outcome other than batches or a located ImportFormatError fails."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"fuzz{suffix}"
        path.write_bytes(content)
        try:
            batches = parse_batches(path, "auto" if auto else fmt)
        except ImportFormatError as err:
            lines = content.count(b"\n") + 1
            assert err.path == str(path) and 1 <= err.line <= lines, (err, lines)
            assert str(err) == f"{path}:{err.line}: {err.message}" and err.message
            return err
    for batch in batches:
        assert batch.source and len(batch.source) <= 200
        for article in batch.articles.values():
            assert len(article.external_id) <= 200 and len(article.language or "") <= 8
        for record in batch.comments:
            assert record.location.startswith(f"{path}:") and record.article_id in batch.articles
            for name, limit in LIMITS.items():
                assert len(getattr(record, name) or "") <= limit, (name, getattr(record, name))
            # What JSONB holds: no lone surrogates, no infinities.
            json.dumps(record.meta, ensure_ascii=False, allow_nan=False).encode("utf-8")
            try:
                check_storable(record, str(path))  # the store's own check, also before any query
            except ImportConflict as err:
                assert str(err).startswith(f"{record.location}: ")
    return batches


def fuzz(fmt: str):
    @settings(settings.get_profile(FUZZ_PROFILE), deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(case=mutated(fmt), auto=st.booleans())
    def run(case: tuple[bytes, str], auto: bool) -> None:
        check_parse(fmt, *case, auto)
    return run


test_fuzz_jsonl = fuzz("jsonl")
test_fuzz_csv = fuzz("csv")
test_fuzz_wxr = fuzz("wxr")
test_fuzz_disqus = fuzz("disqus")


@settings(settings.get_profile(FUZZ_PROFILE), deadline=None)
@given(markup=st.one_of(st.text(), st.text(alphabet="<>/&;#abpr =\"'x\n").map(lambda s: s * 3)))
def test_fuzz_html_to_text(markup):
    assert isinstance(html_to_text(markup), str)


@pytest.mark.parametrize("fmt", sorted(SEEDS))
def test_seeds_import(fmt):
    # The mutations start from valid files: if a seed stopped parsing, the fuzz would only test errors.
    for seed in SEEDS[fmt]:
        assert isinstance(check_parse(fmt, seed.read_bytes(), seed.suffix.replace(".wxr", ".xml"), False), list)


# --- With a database: a refused file writes nothing ------------------------------------------------

def _last(text: str, old: str, new: str) -> str:
    head, _, tail = text.rpartition(old)
    return head + new + tail


BROKEN_AT_THE_END = {  # valid records first, then one fault: nothing of the file may be written
    "parse.jsonl": lambda: (SAMPLES / "de_thread.jsonl").read_text() + '{"id": "x", "article_id": "a"}\n',
    "parse.csv": lambda: (FIXTURES / "comments.csv").read_text() + "k9,art-7\n",
    "parse.xml": lambda: _last((FIXTURES / "wxr_1_2_https.xml").read_text(), "2024-02-03 08:00:00", "gestern"),
    "parse_disqus.xml": lambda: _last((FIXTURES / "disqus.xml").read_text(), "<isSpam>false", "<isSpam>ja"),
    "nul.jsonl": lambda: (SAMPLES / "en_thread.jsonl").read_text() + '{"id": "x", "article_id": "a-en-1", '
                                                                     '"text": "a\\u0000b"}\n',
    "loop.jsonl": lambda: (SAMPLES / "en_thread.jsonl").read_text() + "".join(
        f'{{"id": "{i}", "article_id": "a-en-1", "text": "t", "parent_id": "{j}"}}\n' for i, j in (("p", "q"),
                                                                                                    ("q", "p"))),
}


def _import(db, path: Path):
    from click.testing import CliRunner

    from moderation.cli import main
    return CliRunner().invoke(main, ["--database", db.url, "import", str(path), "--json"], catch_exceptions=False)


def _stored(db) -> tuple[int, int]:
    from sqlalchemy import func, select

    from moderation.store.models import Article, Comment
    with db.session() as session:
        return session.scalar(select(func.count(Comment.id))), session.scalar(select(func.count(Article.id)))


@pytest.mark.parametrize("name", sorted(BROKEN_AT_THE_END))
def test_refused_file_writes_nothing(db, tmp_path, name):
    path = tmp_path / name
    path.write_text(BROKEN_AT_THE_END[name](), encoding="utf-8")
    result = _import(db, path)
    assert result.exit_code == 2 and f"{path}:" in result.output and "nothing was imported" in result.output
    assert "Traceback" not in result.output and _stored(db) == (0, 0)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(fmt=st.sampled_from(sorted(SEEDS)), data=st.data())
def test_fuzzed_imports_write_all_or_nothing(db, tmp_path, fmt, data):
    # One database across examples: a refused file must leave the counts where the last import left them.
    content, suffix = data.draw(mutated(fmt))
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(content)
    before = _stored(db)
    result = _import(db, path)
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 2:
        assert f"{path}:" in result.output and _stored(db) == before
