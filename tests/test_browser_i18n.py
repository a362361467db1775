"""The desk and the public thread in headless Chromium, in German and English, at 1400 px and at 390 px (a phone):
the language a browser asks for or the account chose, the locale's numbers, the card in view after `j`, and no
sideways scrolling. The German phone screenshots go to docs/screenshots/ for the README, the others to tmp_path."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, update

from moderation.store import Article, Comment
from moderation.store.accounts import set_language
from tests.browser import browser, live_server, log_in, seeded_db, wait  # noqa: F401
from tests.conftest import ROOT
from tests.test_browser_queue import by_css, current_card, open_queue, press

pytestmark = pytest.mark.browser
SHOTS = ROOT / "docs" / "screenshots"
TEXTS = {"de": {"tab": "Offen", "approve": "Freigeben", "keys": "Tastatur", "removed": "von der Moderation entfernt"},
         "en": {"tab": "Pending", "approve": "Approve", "keys": "Keyboard", "removed": "removed by the moderators"}}
ACCEPT = {"de": "de-DE,de", "en": "en-US,en"}


def shot_path(tmp_path, page: str, language: str, width: int) -> Path:  # noqa: ANN001
    """docs/screenshots/<page>-mobile.png for the German phone view the README shows; tmp_path for the rest."""
    if (language, width) == ("de", 390):
        SHOTS.mkdir(parents=True, exist_ok=True)
        return SHOTS / f"{page}-mobile.png"
    return tmp_path / f"{page}-{language}-{width}.png"


def fits(driver, width: int) -> bool:  # noqa: ANN001
    """Waits for the layout to settle (styles, the card swapped in); what still reaches past the edge fails."""
    try:
        wait(driver, lambda d: too_wide(d, width) == [], timeout=5)
    except Exception:  # noqa: BLE001 - the assertion below says what is too wide
        pass
    assert too_wide(driver, width) == []
    return True


def too_wide(driver, width: int) -> list[str]:  # noqa: ANN001
    """What reaches past the screen's edge: the page itself, or a row, card part, thread entry, heading or form."""
    return driver.execute_script(
        "const w = arguments[0];"
        "const page = Math.max(document.documentElement.scrollWidth, document.body.scrollWidth);"
        "const wide = [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > w + 1)"
        "  .slice(0, 5).map((e) => e.tagName + '.' + e.className + ' ' + e.textContent.trim().slice(0, 30) + ' '"
        "    + Math.round(e.getBoundingClientRect().right));"
        "return (page > w ? ['page ' + page, ...wide] : []).concat("
        "  [...document.querySelectorAll('.row, .ccard, .ccard > *, .tnode, .tnode > *, .pc, h1, .filters, .tabs')]"
        "  .filter((e) => e.getBoundingClientRect().right > w + 1)"
        "  .map((e) => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)));", width)


def in_view(driver, css: str) -> bool:  # noqa: ANN001
    return driver.execute_script(
        "const r = document.querySelector(arguments[0]).getBoundingClientRect();"
        "return r.top >= 0 && r.top < window.innerHeight;", css)


@pytest.mark.parametrize("width", [1400, 390])
@pytest.mark.parametrize("language", ["de", "en"])
def test_the_queue_speaks_the_browser_language(live_server, browser, seeded_db, language, width,  # noqa: F811
                                               tmp_path):
    driver = browser(accept_language=ACCEPT[language], width=width, height=1000 if width > 500 else 844)
    open_queue(driver, live_server)
    words = TEXTS[language]
    assert driver.find_element("css selector", "html").get_attribute("lang") == language
    assert by_css(driver, "#tabs .tab.on")[0].text.startswith(words["tab"])
    risk = by_css(driver, "#rows .row .risk")[0].text
    assert ("," if language == "de" else ".") in risk  # 0,87 in German, 0.87 in English
    assert fits(driver, width)
    driver.save_screenshot(str(tmp_path / f"queue-list-{language}-{width}.png"))
    press(driver, "j")
    current_card(driver)
    wait(driver, lambda d: in_view(d, "#card .ccard"))  # j brings the card into view, even below the list
    assert by_css(driver, "#card .decide button.approve")[0].text == words["approve"]
    if width < 500:  # scrolled down into the card's evidence and thread, the decision bar stays on screen
        driver.execute_script("window.scrollBy(0, 500)")
        wait(driver, lambda d: d.execute_script(
            "const r = document.querySelector('#card .ccard > form.decide').getBoundingClientRect();"
            "return window.scrollY > 300 && r.top >= 0 && r.bottom <= window.innerHeight;"))
    assert fits(driver, width)
    press(driver, "?")
    wait(driver, lambda d: by_css(d, "#help:not([hidden])"))
    assert words["keys"] in by_css(driver, "#help h2")[0].text
    press(driver, "?")
    shot = shot_path(tmp_path, "queue", language, width)
    driver.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000


@pytest.mark.parametrize("width", [1400, 390])
@pytest.mark.parametrize("language", ["de", "en"])
def test_the_public_thread_speaks_its_article_language(live_server, browser, seeded_db, language,  # noqa: F811
                                                       width, tmp_path):
    with seeded_db.session() as s:
        article = s.scalars(select(Article).where(Article.external_id == f"a-{language}-1")).one()
        root = s.scalars(select(Comment).where(Comment.article_id == article.id, Comment.parent_id.is_(None))
                         .order_by(Comment.id)).first()
        s.execute(update(Comment).where(Comment.id == root.id).values(status="rejected"))
        s.execute(update(Comment).where(Comment.parent_id == root.id).values(status="approved"))
        s.execute(update(Article).where(Article.id == article.id).values(
            url=(article.url or "https://example.com/") + "a-very-long-path-" * 12))  # must wrap, not scroll
        article_id = article.id
    other = "en" if language == "de" else "de"
    driver = browser(accept_language=ACCEPT[other], width=width, height=1000 if width > 500 else 844)
    driver.get(f"{live_server}/threads/{article_id}")
    wait(driver, lambda d: by_css(d, ".public-thread .pc"))
    assert driver.find_element("css selector", "html").get_attribute("lang") == language
    assert TEXTS[language]["removed"] in by_css(driver, f"#c{root.id} > .removed")[0].text
    assert fits(driver, width)
    shot = shot_path(tmp_path, "thread", language, width)
    driver.save_screenshot(str(shot))
    assert shot.stat().st_size > 5_000


def test_the_account_page_switches_the_desk_to_german(live_server, browser, seeded_db):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver = browser(accept_language=ACCEPT["en"])
    log_in(driver, live_server, "mo")
    driver.get(f"{live_server}/account")
    Select(driver.find_element(By.NAME, "language")).select_by_value("de")
    driver.find_element(By.CSS_SELECTOR, "#language-form button").click()
    wait(driver, lambda d: "Sprache gespeichert." in d.page_source)
    driver.get(f"{live_server}/queue")
    wait(driver, lambda d: by_css(d, "#tabs .tab.on"))
    assert by_css(driver, "#tabs .tab.on")[0].text.startswith("Offen")
    assert [a.text for a in by_css(driver, "header nav a")][0] == "Warteschlange"
    with seeded_db.session() as s:
        set_language(s, "mo", None)
