"""Import parsers: JSONL, CSV/TSV, WordPress WXR 1.0-1.2, Disqus; format detection; malformed files."""
from __future__ import annotations

import json
import pickle
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.domain.comments import ImportBatch, Kind
from moderation.importers import FORMATS, ImportFormatError, detect_format, parse, parse_batches
from moderation.importers.html import html_to_text

FIXTURES = Path(__file__).parent / "fixtures" / "importers"
MALFORMED = FIXTURES / "malformed"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def by_id(batch: ImportBatch) -> dict:
    return {c.external_id: c for c in batch.comments}


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def assert_well_formed(batch: ImportBatch, path: Path) -> None:
    """Invariants every parser keeps: locations, aware dates, an article for every comment."""
    assert batch.path == str(path)
    for c in batch.comments:
        assert c.location.startswith(f"{path}:") and c.location.rsplit(":", 1)[1].isdigit()
        assert c.created_at is None or c.created_at.tzinfo is not None
        assert isinstance(c.external_id, str) and isinstance(c.article_id, str)
        assert c.article_id in batch.articles


# --- JSONL / CSV ---------------------------------------------------------------------------------

def test_jsonl_fields_meta_and_dates():
    path = FIXTURES / "comments.jsonl"
    batch = parse(path)
    assert_well_formed(batch, path)
    assert batch.source == "kurier"  # from the rows; one empty "source" and one missing go along
    c = by_id(batch)
    assert list(c) == ["c2", "c1", "17", "pb1"]  # the reply comes before its parent
    assert [x.location.rsplit(":", 1)[1] for x in batch.comments] == ["1", "3", "4", "5"]  # blank line 2
    assert c["c2"].parent_id == "c1" and c["c2"].decision == "approved"
    assert c["c2"].text == 'Sehe ich anders: "Tempo 30" rettet Leben.'
    assert c["c2"].created_at == utc(2023, 5, 4, 8, 15)  # +02:00 normalised to UTC
    assert c["c1"].created_at == utc(2023, 5, 4, 7, 50)  # "YYYY-MM-DD HH:MM:SS" without zone = UTC
    assert (c["c1"].source_status, c["c1"].language) == ("published", "de")
    assert c["17"].article_id == "900" and c["17"].decision == "rejected"  # numeric ids become strings
    assert c["17"].text == "Who needs a bypass anyway 🙄\nSecond line"
    assert c["17"].meta == {"reports": 3, "upvotes": 12, "device": "mobile"}  # unknown keys join meta
    pb = c["pb1"]
    assert pb.kind is Kind.PINGBACK
    assert (pb.author, pb.parent_id, pb.created_at) == (None, None, None)  # "" means missing
    article = batch.articles["a1"]
    assert (article.title, article.url) == ("Tempo 30 kommt", "https://kurier.example/tempo-30")
    assert set(batch.articles) == {"a1", "900"}


def test_csv_with_bom_and_multiline_field():
    path = FIXTURES / "comments.csv"
    batch = parse(path)
    assert_well_formed(batch, path)
    assert batch.source == "default"
    c = by_id(batch)
    assert len(c) == 3
    assert c["k2"].text == 'Mehrzeilig:\nerste Zeile, mit Komma\nzweite Zeile mit "Zitat"'
    assert c["k2"].location.endswith(":3")  # the record starts on line 3 ...
    assert c["k3"].location.endswith(":6")  # ... so the next one is on line 6
    assert c["k2"].parent_id == "k1" and c["k2"].meta == {"reports": 1}
    assert c["k2"].created_at == utc(2022, 11, 30, 20, 30)
    assert c["k1"].meta == {"region": "Nord"} and c["k1"].decision == "approved"
    assert (c["k3"].author, c["k3"].created_at, c["k3"].decision) == (None, None, "rejected")
    assert batch.articles["art-7"].title == "Neue Buslinie"


def test_tsv_by_extension():
    batch = parse(FIXTURES / "comments.tsv")
    [only] = batch.comments
    assert (only.external_id, only.text) == ("t1", "Tabs, not commas, separate these fields")


def test_caller_source_wins(tmp_path):
    assert parse(FIXTURES / "comments.jsonl", source="archiv").source == "archiv"
    assert parse(FIXTURES / "wxr_1_0_http.xml", source="alt").source == "alt"
    # With the caller naming the source, rows that disagree do not matter.
    path = write(tmp_path, "mixed.jsonl", '{"id": "1", "article_id": "a", "text": "x", "source": "p"}\n'
                                          '{"id": "2", "article_id": "a", "text": "y", "source": "q"}\n')
    assert parse(path, source="r").source == "r"
    with pytest.raises(ImportFormatError, match=r"mixed\.jsonl:1: the file holds several sources \(p, q\)"):
        parse(path)


def test_rows_of_several_sources_split_into_batches(tmp_path):
    # An export of a desk that holds several sources names the source on every row.
    path = write(tmp_path, "export.jsonl", '{"id": "1", "article_id": "a", "text": "x", "source": "p"}\n'
                                           '{"id": "1", "article_id": "a", "text": "y", "source": "q"}\n'
                                           '{"id": "2", "article_id": "a", "text": "z", "source": "p"}\n')
    batches = {b.source: b for b in parse_batches(path)}
    assert {k: [c.external_id for c in b.comments] for k, b in batches.items()} == {"p": ["1", "2"], "q": ["1"]}
    assert batches["q"].comments[0].location.endswith("export.jsonl:2")
    dup = write(tmp_path, "dup.jsonl", '{"id": "1", "article_id": "a", "text": "x", "source": "p"}\n'
                                       '{"id": "1", "article_id": "a", "text": "y", "source": "p"}\n')
    with pytest.raises(ImportFormatError, match="duplicate id '1' on lines 1 and 2"):
        parse_batches(dup)


def test_empty_jsonl_is_an_empty_batch(tmp_path):
    batch = parse(write(tmp_path, "empty.jsonl", "\n\n"))
    assert (batch.comments, batch.articles, batch.source) == ([], {}, "default")


# --- WordPress WXR -------------------------------------------------------------------------------

def test_wxr_1_0_http_namespace():
    path = FIXTURES / "wxr_1_0_http.xml"
    batch = parse(path)
    assert_well_formed(batch, path)
    assert batch.source == "wordpress:www.lokalblatt.example"
    c = by_id(batch)
    assert list(c) == ["101", "102", "103"]
    assert c["101"].location == f"{path}:24"
    assert c["102"].parent_id == "101" and c["101"].parent_id is None  # "0" is top level
    assert c["102"].text == "Und wer bezahlt das? Wir natürlich."  # escaped HTML, not CDATA
    assert c["102"].meta == {"author_email": "horst@example.org", "author_url": "http://horst.example.net",
                             "author_ip": "192.0.2.11", "user_id": "7"}
    assert "user_id" not in c["101"].meta  # 0 = not a registered user
    assert c["101"].created_at == utc(2009, 4, 2, 10, 15)  # the GMT date, not the local one
    # The post without wp:post_id falls back to its guid.
    assert c["103"].article_id == "http://www.lokalblatt.example/?p=leserbriefe"
    # The page without comments is an article; the attachment is not.
    assert set(batch.articles) == {"12", "2", "http://www.lokalblatt.example/?p=leserbriefe"}
    post = batch.articles["12"]
    assert post.title == "Neuer Radweg – Baubeginn im Mai" and post.language == "de"
    assert post.created_at == utc(2009, 4, 2, 8, 0)
    assert batch.articles["2"].created_at == utc(2008, 1, 1)  # zero GMT date: local date used


def test_wxr_1_2_https_namespace():
    path = FIXTURES / "wxr_1_2_https.xml"
    batch = parse(path)
    assert_well_formed(batch, path)
    assert batch.source == "wordpress:news.harbour.example"  # port and path dropped
    c = by_id(batch)
    assert list(c) == ["9002", "9001", "9100"]
    assert c["9002"].parent_id == "9001"  # reply before parent
    assert c["9002"].author == "Sam & Alex"
    assert c["9002"].text == "Agreed, the 7am boat was always full 🚢"
    assert c["9001"].text == "Hourly is better than the old gaps.\nStill no late boat though."
    assert c["9001"].meta["commentmeta"] == {"verified": "1"} and c["9001"].meta["user_id"] == "3"
    review = c["9100"]
    assert review.kind is Kind.COMMENT and review.meta == {"type": "review", "commentmeta": {"rating": "3"}}
    assert set(batch.articles) == {"501", "777"}  # the nav_menu_item is skipped
    assert batch.articles["501"].title == "Ferry timetable changes & what they mean"
    assert batch.articles["501"].language == "en"


def test_wxr_1_1_kinds_statuses_html_and_dates():
    path = FIXTURES / "wxr_1_1_mixed.xml"
    batch = parse(path)
    assert_well_formed(batch, path)
    c = by_id(batch)
    assert [x.kind for x in batch.comments] == [Kind.PINGBACK, Kind.TRACKBACK] + [Kind.COMMENT] * 4
    assert [x.source_status for x in batch.comments] == [
        "approved", "approved", "spam", "pending", "trash", "post-trashed"]
    assert c["1"].text == "[…] wie der Stadtanzeiger berichtet […]"
    assert c["3"].text == "Great post! Buy watches here (http://spam.example/buy)"
    assert c["4"].text == ("Zwei Anmerkungen:\n\n"
                           "1. Die Schulden steigen & steigen.\n"
                           "2. Die Zahlen stehen im Haushaltsplan (https://stadt.example/haushalt.pdf).\n\n"
                           "Quelle: https://stadt.example/")
    assert c["4"].location == f"{path}:50"
    assert c["5"].created_at is None and "date_is_local_time" not in c["5"].meta
    assert c["6"].created_at == utc(2015, 11, 22, 7, 45)
    assert c["6"].meta == {"date_is_local_time": True}  # only the site-local date was there
    assert c["6"].parent_id == "77"  # not in the file: left for the store to mark as orphan


# --- Disqus ------------------------------------------------------------------------------------

def test_disqus_threads_after_posts():
    path = FIXTURES / "disqus.xml"
    batch = parse(path)
    assert_well_formed(batch, path)
    assert batch.source == "disqus:morgenpost-example"
    c = by_id(batch)
    assert list(c) == ["5002", "5001", "5003", "5004", "5005"]
    reply = c["5002"]
    assert reply.parent_id == "5001" and reply.article_id == "7001"
    assert reply.article_title == "Mieten in der Stadt steigen weiter"  # thread came later in the file
    assert reply.article_url == "https://morgenpost.example/2021/06/mieten"
    # The link label already shows its target (without scheme), so it is not repeated.
    assert reply.text == "Stimmt nicht, siehe statistik.example/mieten\n\nZweiter Absatz."
    assert reply.created_at == utc(2021, 6, 1, 10, 5)
    assert reply.meta == {"author_email": "jan@example.net", "author_username": "jan_k",
                          "author_ip": "203.0.113.5", "author_anonymous": False}
    assert c["5001"].meta == {"identifier": "wp-comment-88", "author_ip": "203.0.113.9",
                              "author_anonymous": True}
    statuses = [x.source_status for x in batch.comments]
    assert statuses == ["approved", "approved", "deleted", "spam", "approved"]  # spam wins over deleted
    assert c["5003"].text == ""  # deleted posts have empty messages
    orphan = c["5005"]
    assert orphan.article_id == "7999" and orphan.article_title is None
    assert batch.articles["7999"].title is None
    assert batch.articles["7002"].created_at == utc(2021, 6, 1, 20)
    assert c["5004"].location == f"{path}:54"


# --- HTML to text --------------------------------------------------------------------------------

@pytest.mark.parametrize("markup, text", [
    ("<p>Erster Absatz</p>\n<p>Zweiter</p>", "Erster Absatz\n\nZweiter"),
    ("Zeile 1<br>Zeile 2<br />\nZeile 3", "Zeile 1\nZeile 2\nZeile 3"),
    ("Bare\nnewlines\n\n\n\nstay", "Bare\nnewlines\n\nstay"),
    ('Mehr <a href="https://x.example/a?b=1&amp;c=2">hier</a>.', "Mehr hier (https://x.example/a?b=1&c=2)."),
    ('<a href="https://x.example/">https://x.example</a>', "https://x.example"),
    ('<a href="mailto:a@b.example">a@b.example</a>', "a@b.example"),
    ('Leer<a href="https://x.example/"></a>', "Leer https://x.example/"),
    ('offen <a href="https://x.example/">bis zum Ende', "offen bis zum Ende (https://x.example/)"),
    ("&lt;3 &amp; &#128512; &auml;", "<3 & 😀 ä"),
    ("<script>alert(1)</script><b>fett</b> <i>kursiv</i>", "fett kursiv"),
    ("<ul><li>eins</li>\n<li>zwei</li></ul>danach", "eins\nzwei\n\ndanach"),
    ("a < b und c > d", "a < b und c > d"),
])
def test_html_to_text(markup, text):
    assert html_to_text(markup) == text


# --- Format detection --------------------------------------------------------------------------

@pytest.mark.parametrize("name, fmt", [
    ("comments.jsonl", "jsonl"), ("comments.csv", "csv"), ("comments.tsv", "csv"),
    ("wxr_1_0_http.xml", "wxr"), ("wxr_1_1_mixed.xml", "wxr"), ("wxr_1_2_https.xml", "wxr"),
    ("disqus.xml", "disqus"),
])
def test_detect_format(name, fmt):
    assert detect_format(FIXTURES / name) == fmt
    assert fmt in FORMATS


@pytest.mark.parametrize("name, copy_as, fmt", [
    ("disqus.xml", "export.txt", "disqus"),
    ("wxr_1_2_https.xml", "backup.csv", "wxr"),  # content wins over a wrong extension for XML
    ("wxr_1_0_http.xml", "blog.wxr", "wxr"),
    ("comments.jsonl", "comments.ndjson", "jsonl"),
    ("comments.jsonl", "comments.log", "jsonl"),  # unknown extension, but one JSON object per line
])
def test_detect_format_by_content(tmp_path, name, copy_as, fmt):
    target = tmp_path / copy_as
    shutil.copy(FIXTURES / name, target)
    assert detect_format(target) == fmt
    assert len(parse(target).comments) == len(parse(FIXTURES / name).comments)


@pytest.mark.parametrize("name, content, line, message", [
    ("feed.xml", '<?xml version="1.0"?>\n<rss version="2.0">\n<channel/></rss>', 2, "unknown XML format"),
    ("notes.txt", "just some text\n", 1, "cannot tell the format"),
    ("half.xml", "<?xml version='1.0'?>\n\n<disqus", 3, "XML syntax error"),
])
def test_detect_format_unknown(tmp_path, name, content, line, message):
    path = write(tmp_path, name, content)
    with pytest.raises(ImportFormatError) as info:
        detect_format(path)
    assert (info.value.path, info.value.line) == (str(path), line) and message in str(info.value)


def test_explicit_format_and_unknown_format_name():
    assert parse(FIXTURES / "disqus.xml", format="disqus").source == "disqus:morgenpost-example"
    with pytest.raises(ValueError, match="unknown import format 'xls'"):
        parse(FIXTURES / "comments.csv", format="xls")


# --- Malformed input ---------------------------------------------------------------------------

@pytest.mark.parametrize("name, line, message", [
    ("invalid_json.jsonl", 3, "invalid JSON"),
    ("missing_text.jsonl", 2, "missing required field 'text'"),
    ("bad_date.jsonl", 2, "invalid date '2023-13-45 25:61:00'"),
    ("unknown_decision.jsonl", 3, "unknown decision 'deleted'"),
    ("duplicate_id.jsonl", 4, "duplicate id '2' on lines 2 and 4"),
    ("self_parent.csv", 3, "comment '2' is its own parent"),
    ("missing_column.csv", 1, "missing required column(s): text"),
    ("broken.xml", 11, "XML syntax error: Opening and ending tag mismatch: comment_author line 9"),
    ("wxr_no_comment_id.xml", 11, "wp:comment without wp:comment_id"),
    ("disqus_no_post_id.xml", 11, "post without dsq:id"),
])
def test_malformed_fixture(name, line, message):
    path = MALFORMED / name
    with pytest.raises(ImportFormatError) as info:
        parse(path)
    err = info.value
    assert isinstance(err, ValueError)
    assert (err.path, err.line) == (str(path), line)
    assert str(err).startswith(f"{path}:{line}: ") and message in str(err)


WXR_HEAD = '<?xml version="1.0"?>\n<rss version="2.0" xmlns:wp="http://wordpress.org/export/1.2/"><channel>\n'
DISQUS_HEAD = ('<?xml version="1.0"?>\n'
               '<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">\n')


@pytest.mark.parametrize("name, content, line, message", [
    ("list_id.jsonl", '{"id": ["1"], "article_id": "a", "text": "x"}\n', 1, "field 'id' must be"),
    ("num_text.jsonl", '\n{"id": "1", "article_id": "a", "text": 5}\n', 2, "field 'text' must be a string"),
    ("array.jsonl", '[1, 2]\n', 1, "expected a JSON object"),
    ("dup_key.jsonl", '{"id": "1", "id": "2", "article_id": "a", "text": "x"}\n', 1, "duplicate key 'id'"),
    ("nan.jsonl", '{"id": "1", "article_id": "a", "text": "x", "meta": {"s": NaN}}\n', 1, "NaN"),
    ("meta.jsonl", '{"id": "1", "article_id": "a", "text": "x", "meta": [1]}\n', 1,
     "'meta' must be an object"),
    ("kind.jsonl", '{"id": "1", "article_id": "a", "text": "x", "kind": "like"}\n', 1, "unknown kind 'like'"),
    ("empty_id.jsonl", '{"id": "  ", "article_id": "a", "text": "x"}\n', 1, "field 'id' must be"),
    ("latin1.jsonl", b'{"id": "1", "article_id": "a", "text": "x"}\n{"id": "2", "text": "M\xfcll"}\n', 2,
     "not valid UTF-8"),
    ("bom.jsonl", '{"id": "1", "article_id": "a", "text": "x"}\n\ufeff{"id": "2", "article_id": "a", "text": "y"}\n',
     2, "byte order mark"),  # a BOM is read only at the file's start; on a later line it is named, not guessed at
    ("short.csv", "id,article_id,text\n1,a,ok\n2,a\n", 3, "expected 3 fields"),
    ("quote.csv", 'id,article_id,text\n1,a,ok\n2,a,"nie\ngeschlossen\n', 3, "malformed CSV"),
    ("meta.csv", "id,article_id,text,meta\n1,a,x,{broken\n", 2, "column 'meta' is not valid JSON"),
    ("dup_col.csv", "id,article_id,text,id\n", 1, "column 'id' appears twice"),
    ("empty.csv", "", 1, "expected a header row"),
    ("date.wxr", WXR_HEAD + "<item><wp:post_id>1</wp:post_id><wp:comment>\n<wp:comment_id>1</wp:comment_id>\n"
     "<wp:comment_date_gmt>gestern</wp:comment_date_gmt></wp:comment></item></channel></rss>", 5,
     "invalid date 'gestern'"),
    ("noid.wxr", WXR_HEAD + "<item>\n<title>Ohne alles</title><wp:comment><wp:comment_id>1</wp:comment_id>"
     "</wp:comment></item></channel></rss>", 3, "item without wp:post_id, guid or link"),
    ("nothread.xml", DISQUS_HEAD + '<post dsq:id="1">\n<message>x</message></post></disqus>', 3,
     "post '1' has no <thread>"),
    ("flag.xml", DISQUS_HEAD + '<post dsq:id="1"><thread dsq:id="2"/>\n<isSpam>ja</isSpam></post></disqus>',
     4, "<isSpam> must be true or false"),
    ("empty.xml", "", 1, "XML syntax error"),
    ("parent.xml", DISQUS_HEAD + '<post dsq:id="1"><thread dsq:id="2"/>\n<parent/></post></disqus>', 4,
     "parent reference without dsq:id"),
])
def test_malformed_inline(tmp_path, name, content, line, message):
    path = write(tmp_path, name, content)
    fmt = "wxr" if name.endswith(".wxr") else "auto"
    with pytest.raises(ImportFormatError) as info:
        parse(path, format=fmt)
    assert (info.value.path, info.value.line) == (str(path), line)
    assert message in str(info.value)


def test_wrong_root_for_explicit_format():
    # libxml2 dates an element by the line its start tag ends on: <disqus ...> spans lines 3 to 5.
    with pytest.raises(ImportFormatError, match=r"disqus\.xml:5: expected root element <rss>, found <disqus"):
        parse(FIXTURES / "disqus.xml", format="wxr")
    with pytest.raises(ImportFormatError, match=r"wxr_1_0_http\.xml:1: invalid JSON"):
        parse(FIXTURES / "wxr_1_0_http.xml", format="jsonl")


def test_entities_are_not_expanded(tmp_path):
    # A "billion laughs" document must neither blow up nor expand its entities.
    lol = ('<!DOCTYPE disqus [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
           '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>\n')
    path = write(tmp_path, "lol.xml", '<?xml version="1.0"?>\n' + lol + DISQUS_HEAD.split("\n", 1)[1] +
                 '<post dsq:id="1"><thread dsq:id="2"/><message>x &c; y</message></post></disqus>')
    [post] = parse(path).comments
    assert "aaaa" not in post.text and len(post.text) < 20


def test_error_pickles_and_formats():
    err = ImportFormatError("f.jsonl", 7, "kaputt")
    assert str(err) == "f.jsonl:7: kaputt"
    again = pickle.loads(pickle.dumps(err))
    assert (again.path, again.line, again.message) == ("f.jsonl", 7, "kaputt") and str(again) == str(err)


# --- Property: texts survive JSONL unchanged ---------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(texts=st.lists(st.text(min_size=1), min_size=1, max_size=8), ascii_only=st.booleans())
def test_jsonl_text_round_trip(texts, ascii_only):
    rows = [{"id": str(i), "article_id": "a", "text": t} for i, t in enumerate(texts)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "round.jsonl"
        lines = [json.dumps(row, ensure_ascii=ascii_only) + "\n" for row in rows]
        path.write_text("".join(lines), encoding="utf-8")
        batch = parse(path)
    assert [c.text for c in batch.comments] == texts


# --- Hostile input through the CLI: located errors, nothing written -----------------------------

def cli_import(db, path: Path, *args: str):
    from click.testing import CliRunner

    from moderation.cli import main
    return CliRunner().invoke(main, ["--database", db.url, "import", str(path), *args], catch_exceptions=False)


def stored_comments(db) -> int:
    from sqlalchemy import func, select

    from moderation.store.models import Comment
    with db.session() as session:
        return session.scalar(select(func.count(Comment.id)))


@pytest.mark.parametrize("name, row", [
    ("deep_meta.jsonl", '{"id": "2", "article_id": "a", "text": "x", "meta": {"k": ' + "[" * 2000 + "]" * 2000
     + "}}"),
    ("deep_row.jsonl", "[" * 2000 + "]" * 2000),
    ("deep_text.jsonl", '{"id": "2", "article_id": "a", "text": ' + "[" * 100 + "]" * 100 + "}"),
])
def test_deep_json_is_a_located_error_and_writes_nothing(db, tmp_path, name, row):
    path = write(tmp_path, name, '{"id": "1", "article_id": "a", "text": "ok"}\n' + row + "\n")
    result = cli_import(db, path)
    assert result.exit_code == 2 and f"{path}:2: " in result.output and "nested deeper than 64" in result.output
    assert "Traceback" not in result.output and stored_comments(db) == 0


def test_nesting_up_to_the_limit_is_read():
    from moderation.importers.jsonl import MAX_DEPTH, load_object
    deep = '{"id": "1", "article_id": "a", "text": "x", "meta": {"k": ' + "[" * (MAX_DEPTH - 2) + "]" * (
        MAX_DEPTH - 2) + "}}"
    assert load_object(deep, "f", 1)["meta"]["k"]
    # Brackets inside strings are text, not nesting.
    assert load_object('{"id": "1", "text": "' + "[{" * 200 + '\\""}', "f", 1)["text"].startswith("[{")
    with pytest.raises(ImportFormatError, match="nested deeper than 64"):
        load_object(deep.replace("{\"k\": ", "{\"k\": [").replace("}}", "]}}"), "f", 1)


def test_csv_meta_nesting_is_limited(tmp_path):
    path = write(tmp_path, "deep.csv", 'id,article_id,text,meta\n1,a,x,"{""k"": ' + "[" * 3000 + "]" * 3000
                 + '}"\n')
    with pytest.raises(ImportFormatError, match=r"deep\.csv:2: .*nested deeper than 64"):
        parse(path)


@pytest.mark.parametrize("namespace", ["http://disqus.com{x}", "{http://disqus.com}", "http://disqus .com", ""])
def test_disqus_mangled_namespace_is_located(db, tmp_path, namespace):
    text = (FIXTURES / "disqus.xml").read_text(encoding="utf-8")
    path = write(tmp_path, "mangled.xml", text.replace('xmlns="http://disqus.com"', f'xmlns="{namespace}"'))
    result = cli_import(db, path, "--format", "disqus")
    assert result.exit_code == 2 and f"{path}:" in result.output and "nothing was imported" in result.output
    assert "Traceback" not in result.output and stored_comments(db) == 0
    with pytest.raises(ImportFormatError) as info:
        parse(path, format="disqus")
    assert info.value.line >= 1 and "disqus" in info.value.message


# --- WXR: the same comment id under two posts (merged or hand-edited exports) --------------------

def wxr_comment(cid: str, parent: str = "0", text: str = "x") -> str:
    return (f"<wp:comment>\n<wp:comment_id>{cid}</wp:comment_id>\n<wp:comment_parent>{parent}</wp:comment_parent>\n"
            f"<wp:comment_content>{text}</wp:comment_content>\n</wp:comment>\n")


def wxr_post(post_id: str, *comments: str) -> str:
    return f"<item>\n<wp:post_id>{post_id}</wp:post_id>\n{''.join(comments)}</item>\n"


MERGED_WXR = WXR_HEAD + "<link>https://blog.example</link>\n" + wxr_post(
    "10", wxr_comment("1", text="A1"), wxr_comment("2", "1", "A2"), wxr_comment("7", "2", "A7")) + wxr_post(
    "11", wxr_comment("2", "1", "B2"), wxr_comment("1", text="B1"), wxr_comment("8", "2", "B8")) + "</channel></rss>\n"


def test_wxr_repeated_comment_ids_across_posts_are_kept_apart(tmp_path):
    path = write(tmp_path, "merged.xml", MERGED_WXR)
    batch = parse(path)
    assert_well_formed(batch, path)
    c = {(r.article_id, r.meta.get("wxr_comment_id", r.external_id)): r for r in batch.comments}
    assert len(c) == 6 and len({r.external_id for r in batch.comments}) == 6
    assert {k: r.text for k, r in c.items()} == {("10", "1"): "A1", ("10", "2"): "A2", ("10", "7"): "A7",
                                                 ("11", "2"): "B2", ("11", "1"): "B1", ("11", "8"): "B8"}
    # A reply's parent is the comment of that id in its own post.
    for post in ("10", "11"):
        assert c[(post, "2")].parent_id == c[(post, "1")].external_id
        assert c[(post, "7" if post == "10" else "8")].parent_id == c[(post, "2")].external_id
    assert c[("10", "7")].external_id == "7"  # ids seen once keep their plain id
    assert len(batch.notices) == 2 and all(n.startswith(f"{path}:") for n in batch.notices)
    assert any("'1'" in n and "10" in n and "11" in n for n in batch.notices)


def test_wxr_repeated_id_within_one_post_is_still_refused(tmp_path):
    path = write(tmp_path, "twice.xml", WXR_HEAD + wxr_post("10", wxr_comment("1"), wxr_comment("1"))
                 + "</channel></rss>\n")
    with pytest.raises(ImportFormatError, match="duplicate id '1'"):
        parse(path)


def test_wxr_repeated_ids_import_idempotently_with_threads(db, tmp_path):
    from sqlalchemy import select

    from moderation.store.models import Article, Comment
    path = write(tmp_path, "merged.xml", MERGED_WXR)
    result = cli_import(db, path, "--json")
    assert result.exit_code == 0, result.output
    first = json.loads(result.output)
    assert first["comments"] == 6 and first["replies"] == 4 and first["orphans"] == 0
    assert len(first["notices"]) == 2
    text = cli_import(db, path)
    assert "comments 0" in text.output and "skipped 6" in text.output and "under several posts" in text.output
    with db.session() as s:
        rows = s.execute(select(Comment.text, Comment.depth, Comment.parent_id, Comment.id, Article.external_id)
                         .join(Article, Comment.article_id == Article.id)).all()
    by_text = {r.text: r for r in rows}
    assert len(rows) == 6
    for post, (top, mid, leaf) in {"10": ("A1", "A2", "A7"), "11": ("B1", "B2", "B8")}.items():
        assert by_text[mid].parent_id == by_text[top].id and by_text[leaf].parent_id == by_text[mid].id
        assert (by_text[top].depth, by_text[mid].depth, by_text[leaf].depth) == (0, 1, 2)
        assert {by_text[t].external_id for t in (top, mid, leaf)} == {post}


@pytest.mark.parametrize("name, content, message", [
    ("surrogate_meta.jsonl", '{"id": "1", "article_id": "a", "text": "x", "meta": {"k": ["\\ud800"]}}\n',
     "field 'meta' contains an unpaired surrogate"),
    ("surrogate_extra.jsonl", '{"id": "1", "article_id": "a", "text": "x", "rating": {"\\udfff": 1}}\n',
     "field 'rating' contains an unpaired surrogate"),
    ("huge.jsonl", '{"id": "1", "article_id": "a", "text": "x", "meta": {"k": 1e999}}\n', "out of range"),
    ("huge.csv", 'id,article_id,text,meta\n1,a,x,"{""k"": -1e999}"\n', "out of range"),
    ("nan.csv", 'id,article_id,text,meta\n1,a,x,"{""k"": NaN}"\n', "NaN is not allowed"),
    ("long_author.xml", WXR_HEAD + wxr_post("1", wxr_comment("1").replace(
        "</wp:comment_id>", "</wp:comment_id><wp:comment_author>" + "a" * 201 + "</wp:comment_author>"))
     + "</channel></rss>", "author is longer than 200"),
    ("ipv6.xml", WXR_HEAD + "<title>x</title>\n<link>http://[2001:db8::1</link></channel></rss>",
     "invalid channel link"),
    ("long_forum.xml", DISQUS_HEAD + '<thread dsq:id="1">\n<forum>' + "f" * 300 + "</forum></thread></disqus>",
     "forum name is longer"),
])
def test_values_the_store_cannot_hold_are_located(tmp_path, name, content, message):
    # Caught at the database these would be tracebacks on PostgreSQL (JSONB, VARCHAR(200)).
    path = write(tmp_path, name, content)
    with pytest.raises(ImportFormatError, match=message) as info:
        parse(path)
    assert info.value.line >= 1


def test_api_body_nested_too_deep_is_refused_as_invalid_json():
    # The live API reads bodies with the JSONL row reader: a deep body is a 400, not a RecursionError.
    from moderation.services.ingest import Refused
    from moderation.services.ingest import parse as parse_body
    with pytest.raises(Refused) as info:
        parse_body(('{"id": "1", "article_id": "a", "text": "x", "meta": ' + "[" * 2000 + "]" * 2000 + "}")
                   .encode(), "site")
    assert (info.value.status, info.value.code) == (400, "invalid_json") and "nested deeper" in info.value.message


def test_wxr_ids_stored_plain_before_are_not_duplicated_by_a_merged_export(db, tmp_path):
    from sqlalchemy import select

    from moderation.store.models import Comment
    first = write(tmp_path, "site.xml", WXR_HEAD + "<link>https://blog.example</link>\n" + wxr_post(
        "10", wxr_comment("1", text="A1"), wxr_comment("2", "1", "A2")) + "</channel></rss>\n")
    assert json.loads(cli_import(db, first, "--json").output)["comments"] == 2
    merged = write(tmp_path, "merged.xml", MERGED_WXR)
    report = json.loads(cli_import(db, merged, "--json").output)
    assert (report["comments"], report["skipped"]) == (4, 2)
    again = json.loads(cli_import(db, merged, "--json").output)
    assert (again["comments"], again["skipped"]) == (0, 6)
    with db.session() as s:
        rows = {r.text: r for r in s.execute(select(Comment.text, Comment.id, Comment.parent_id,
                                                     Comment.external_id)).all()}
    assert len(rows) == 6 and rows["A1"].external_id == "1" and rows["A7"].parent_id == rows["A2"].id
    assert rows["B2"].parent_id == rows["B1"].id and rows["B1"].external_id == "11/1"
