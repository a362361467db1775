"""The interface in German and English: catalogues complete and compiled, the desk's language (account, then
Accept-Language, then German), the public thread in its article's language, and locale formats."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from sqlalchemy import inspect, select, update

from moderation.store import Article, Comment, Decision, TriageResult
from moderation.store.accounts import find, set_language
from tests.browser import make_app, seed
from tests.test_queue import client_for, token

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "web" / "translations"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "N_": None}


def extracted() -> set[str]:
    """Every msgid pybabel finds with the project's babel.cfg (templates, views, core messages marked N_)."""
    from babel.messages.frontend import parse_mapping_cfg  # noqa: PLC0415

    with open(ROOT / "babel.cfg", encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def catalogue(language: str):  # noqa: ANN201 - babel Catalog
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", "rb") as po:
        return read_po(po, locale=language)


def msgid(message) -> str:  # noqa: ANN001
    return message.id[0] if isinstance(message.id, (tuple, list)) else message.id


def strings(message) -> tuple[str, ...]:  # noqa: ANN001
    return tuple(message.string) if isinstance(message.string, (tuple, list)) else (message.string,)


def test_every_string_in_the_code_is_in_both_catalogues():
    found = extracted()
    assert "This comment was removed by the moderators." in found and "Keyboard" in found  # extraction works
    for language in ("de", "en"):
        ids = {msgid(m) for m in catalogue(language) if m.id}
        assert sorted(found - ids) == [], f"not in {language}/messages.po: run pybabel extract + update"
        assert sorted(ids - found) == [], f"stale in {language}/messages.po"


def test_every_german_message_has_a_translation_with_the_same_placeholders():
    cat = catalogue("de")
    for message in cat:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(s.strip() for s in strings), f"untranslated: {message.id!r}"
        assert "fuzzy" not in message.flags, f"fuzzy: {message.id!r}"
        wanted = set(re.findall(r"%\(\w+\)[sd]|\{\w+\}", msgid(message)))
        for s in strings:
            assert set(re.findall(r"%\(\w+\)[sd]|\{\w+\}", s)) == wanted, f"placeholders differ: {message.id!r}"
    assert not [(m.id, errors) for m, errors in cat.check()]  # babel's own checks (python-format)


def test_the_english_catalogue_says_each_message_as_written():
    for message in catalogue("en"):
        if message.id:
            assert strings(message) == (tuple(message.id) if isinstance(message.id, (tuple, list)) else (message.id,))


def test_the_compiled_catalogues_are_the_checked_in_po_files():
    # The .mo files are committed so that `pip install -e .` and `make demo` need no compile step.
    for language in ("de", "en"):
        with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.mo", "rb") as mo:
            compiled = {msgid(m): strings(m) for m in read_mo(mo) if m.id}
        translated = {msgid(m): strings(m) for m in catalogue(language) if m.id and all(strings(m))}
        assert compiled == translated, f"run pybabel compile -d web/translations ({language})"


@pytest.fixture
def app(db, tmp_path):
    seed(db)
    return make_app(db, tmp_path, TESTING=True)


def test_the_desk_is_german_when_the_browser_states_no_language(db, tmp_path, monkeypatch):
    monkeypatch.delenv("MODERATION_BABEL_DEFAULT_LOCALE", raising=False)  # the tests' English default
    german = make_app(db, tmp_path, TESTING=True)
    page = german.test_client().get("/login").get_data(as_text=True)
    assert '<html lang="de">' in page and "Anmelden" in page and "Benutzername" in page
    english = german.test_client().get("/login", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert '<html lang="en">' in english.get_data(as_text=True) and "Log in" in english.get_data(as_text=True)
    austrian = german.test_client().get("/login", headers={"Accept-Language": "de-AT, en;q=0.5"})
    assert "Anmelden" in austrian.get_data(as_text=True)


def test_the_account_language_wins_over_the_browser(app, db):
    mo = client_for(app, "mo")
    english = mo.get("/queue", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Pending" in english and "Personal attack or insult" in english
    page = mo.get("/account", headers={"Accept-Language": "en"}).get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    saved = mo.post("/account", data={"language": "de", "csrf_token": csrf}, headers={"Accept-Language": "en"},
                    follow_redirects=True)
    assert "Sprache gespeichert." in saved.get_data(as_text=True)
    with db.session() as session:
        assert find(session, "mo").language == "de"
    german = mo.get("/queue", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="de">' in german
    assert "Offen" in german and "Warteschlange" in german  # tabs and navigation
    assert "Persönlicher Angriff oder Beleidigung" in german  # reason labels, the same on card and sheet
    assert "Tastatur" in german and "nächster / vorheriger Kommentar" in german  # key help
    messages = re.search(r'data-messages="([^"]+)"', german).group(1)
    assert "Ablehnen: Grund" in messages.replace("&#34;", '"')  # the script's texts too
    # Back to "as the browser asks": English again for an English browser.
    mo.post("/account", data={"language": "", "csrf_token": csrf}, headers={"Accept-Language": "en"})
    assert "Pending" in mo.get("/queue", headers={"Accept-Language": "en"}).get_data(as_text=True)


def test_numbers_and_dates_in_the_locale_format(app, db):
    with db.session() as session:
        set_language(session, "mo", "de")
        set_language(session, "mo2", "en")
        comment = session.scalars(select(Comment).where(Comment.status == "held").order_by(Comment.risk.desc())).first()
        risk, created = comment.risk, comment.created_at
    german = client_for(app, "mo").get("/queue").get_data(as_text=True)
    english = client_for(app, "mo2").get("/queue").get_data(as_text=True)
    assert f">{risk:.2f}<".replace(".", ",") in german and f">{risk:.2f}<" in english
    assert created.strftime("%d.%m.%y, %H:%M") in german  # Babel's short German date and time (UTC)
    assert f"{created.month}/{created.day}/{created.strftime('%y')}, " in english


def test_json_answers_and_flashes_follow_the_account_language(app, db):
    with db.session() as session:
        set_language(session, "mo", "de")
        held = session.scalars(select(Comment).where(Comment.status == "held")).first()
        cid, version = held.id, held.version
    mo = client_for(app, "mo")
    answer = mo.post(f"/queue/comments/{cid}/decide", data={"action": "approve", "seen": version,
                                                            "csrf_token": token(mo)},
                     headers={"Accept": "application/json"}).get_json()
    assert answer["message"] == "Freigegeben"
    reader = app.test_client()
    page = reader.get("/login", headers={"Accept-Language": "de"}).get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    wrong = reader.post("/login", data={"username": "mo", "password": "wrong-password", "csrf_token": csrf},
                        headers={"Accept-Language": "de"})
    assert wrong.status_code == 401 and "Unbekannter Benutzer oder falsches Passwort." in wrong.get_data(as_text=True)


def test_the_public_thread_follows_its_article_language(app, db):
    with db.session() as session:
        removed = {}
        for prefix in ("de", "en"):
            article = session.scalars(select(Article).where(Article.external_id == f"a-{prefix}-1")).one()
            root = session.scalars(select(Comment).where(Comment.article_id == article.id, Comment.parent_id.is_(None))
                                   .order_by(Comment.id)).first()
            # A rejected comment with a published reply stays as a placeholder.
            session.execute(update(Comment).where(Comment.id == root.id).values(status="rejected"))
            session.execute(update(Comment).where(Comment.parent_id == root.id).values(status="approved"))
            removed[prefix] = article.id
    reader = app.test_client()
    german = reader.get(f"/threads/{removed['de']}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="de">' in german and "Dieser Kommentar wurde von der Moderation entfernt." in german
    assert "This comment was removed" not in german
    english = reader.get(f"/threads/{removed['en']}", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert '<html lang="en">' in english and "This comment was removed by the moderators." in english
    with db.session() as session:  # the source's own language field wins over the comments' detected one
        session.execute(update(Article).where(Article.id == removed["en"]).values(language="de"))
    relabelled = reader.get(f"/threads/{removed['en']}").get_data(as_text=True)
    assert '<html lang="de">' in relabelled


def test_the_migration_adds_the_account_language(db):
    with db.engine.connect() as conn:
        assert "language" in {c["name"] for c in inspect(conn).get_columns("users")}
        # Migrated to the newest revision (later branches chain theirs after 0013).
        assert int(conn.exec_driver_sql("select version_num from alembic_version").scalar()) >= 13
    assert Decision  # the store's models import with the new column


def test_the_cli_speaks_the_terminal_language(db, monkeypatch):
    from click.testing import CliRunner  # noqa: PLC0415

    from moderation.cli import main  # noqa: PLC0415

    runner = CliRunner()
    args = ["--database", db.url, "users", "add", "redaktion", "--role", "moderator"]
    monkeypatch.delenv("MODERATION_LANGUAGE", raising=False)
    monkeypatch.setenv("LC_ALL", "")
    monkeypatch.setenv("LANG", "de_DE.UTF-8")
    german = runner.invoke(main, args, input="long-enough-pass\n")
    assert german.exit_code == 0 and german.output.strip() == "Moderation redaktion angelegt"
    again = runner.invoke(main, args, input="long-enough-pass\n")
    assert again.exit_code == 2 and "Fehler: user 'redaktion' exists already" in again.output
    monkeypatch.setenv("LANG", "C.UTF-8")  # scripts and the C locale read English
    listed = runner.invoke(main, ["--database", db.url, "users", "list"])
    assert "redaktion\tmoderator\tactive" in listed.output
    monkeypatch.setenv("MODERATION_LANGUAGE", "de")  # the desk's own variable wins over the locale
    assert "redaktion\tmoderator\taktiv" in runner.invoke(main, ["--database", db.url, "users", "list"]).output
    said = runner.invoke(main, ["--database", db.url, "explain", "Hallo zusammen, ein guter Artikel."]).output
    assert "Freigegeben: keine Regel trifft zu" in said, said  # the verdict's explanation too
    preview = runner.invoke(main, ["--database", db.url, "author", "ban", "niemand", "--preview"]).output
    assert preview.strip() == "0 offene(r) Kommentar(e) von niemand würde(n) abgelehnt", preview  # author commands
    triaged = runner.invoke(main, ["--database", db.url, "triage"]).output
    assert triaged.startswith("0 Kommentare eingestuft mit Regelwerk") and "freigeben 0" in triaged, triaged


def test_thread_buttons_have_labels_and_the_desk_a_favicon(app, db):
    with db.session() as session:
        set_language(session, "mo", "de")
        held = session.scalars(select(Comment).where(Comment.status == "held", Comment.parent_id.is_not(None))).first()
    mo = client_for(app, "mo")
    card = mo.get(f"/queue/comments/{held.id}?fragment=1").get_data(as_text=True)
    parent = held.parent_id
    assert f'aria-label="Kommentar #{parent} freigeben"' in card
    assert f'aria-label="Kommentar #{parent} ablehnen"' in card
    # One set of reason labels: the compact thread selects show the same labels as the card's, not the codes.
    assert card.count("Persönlicher Angriff oder Beleidigung") >= 2 and ">1 personal-attack<" not in card
    page = mo.get("/queue").get_data(as_text=True)
    icon = re.search(r'<link rel="icon" href="([^"]+)"', page).group(1)
    assert mo.get(icon).status_code == 200


def test_the_login_limit_speaks_german(db, tmp_path):
    seed(db)
    app = make_app(db, tmp_path, TESTING=True, LOGIN_LIMIT_PER_ACCOUNT="2/minute")
    reader, german = app.test_client(), {"Accept-Language": "de"}
    answers = []
    for _attempt in range(3):
        page = reader.get("/login", headers=german).get_data(as_text=True)
        csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        answer = reader.post("/login", data={"username": "mo", "password": "wrong-password", "csrf_token": csrf},
                             headers=german)
        answers.append((answer.status_code, answer.get_data(as_text=True)))
    assert answers[-1][0] == 429
    assert re.search(r"Zu viele fehlgeschlagene Anmeldungen für dieses Konto\. "
                     r"Versuchen Sie es in (1 Minute|[2-9] Minuten|1\d Minuten) erneut\.", answers[-1][1])


def test_the_card_explains_the_verdict_in_the_moderators_language(app, db):
    with db.session() as session:
        set_language(session, "mo", "de")
        set_language(session, "mo2", "en")
        held = session.scalars(select(Comment).where(Comment.status == "held").order_by(Comment.risk.desc())).first()
        stored = session.get(TriageResult, held.triage_id).explanation
        cid = held.id
    assert stored and stored.startswith("Held for review: ")  # the API, CLI and event log keep English
    german = client_for(app, "mo").get(f"/queue/comments/{cid}").get_data(as_text=True)
    english = client_for(app, "mo2").get(f"/queue/comments/{cid}").get_data(as_text=True)
    assert "Zur Prüfung zurückgehalten: " in german and "Held for review" not in german
    assert "Held for review: " in english


def test_explanations_render_any_text_they_quote_in_every_language():
    from hypothesis import given, settings, strategies as st  # noqa: PLC0415
    from babel.support import Translations  # noqa: PLC0415

    from moderation.assess.explanation import render  # noqa: PLC0415
    from moderation.assess.triage import decide  # noqa: PLC0415
    from moderation.rules import Evaluation, Hit  # noqa: PLC0415
    from moderation.rules.schema import Policy  # noqa: PLC0415

    german = Translations.load(str(TRANSLATIONS), ["de"])

    @settings(max_examples=60, deadline=None)
    @given(st.text(max_size=40), st.text(max_size=40), st.sampled_from(["hold", "reject", "approve"]),
           st.floats(0, 1), st.booleans())
    def check(rule_id, stated, action, confidence, scored):
        hit = Hit(rule_id or "r", stated, action, None, 50, confidence, [], 0.9 if scored else 1.0,
                  0.5 if scored else None, "")
        verdict = decide(Evaluation(hits=[hit]), Policy())
        english = render(verdict.because)
        assert english == verdict.explanation and stated in english  # quoted text is never read as a format
        assert stated in render(verdict.because, german.gettext)

    check()
