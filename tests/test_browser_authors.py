"""The author drawer and the card's risk parts in real headless Chromium, in German and English, at 1400 px and
at 390 px: Shift+A opens the drawer over the queue (a full-width sheet on a phone), the queue's keys are inert
behind it, a ban with its preview count rejects exactly that many, undo brings them back, and the card's risk
parts add up to the stored risk. Screenshots go to docs/screenshots/."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from moderation.store import Comment
from moderation.store.authors import AuthorAction
from tests.browser import browser, live_server, log_in, seeded_db, wait  # noqa: F401
from tests.test_browser_queue import SHOTS, by_css, current_card, press

pytestmark = pytest.mark.browser
PENDING = ("new", "held")
WORDS = {"de": {"ban": "Sperren", "rules": "Regeln", "rate": "Ablehnungsquote", "undone": "Rückgängig gemacht"},
         "en": {"ban": "Ban", "rules": "rules", "rate": "Rejection rate", "undone": "Undone"}}
SIZES = {"wide": (1400, 1000), "phone": (390, 844)}


def busiest(db) -> tuple[int, str, int]:
    """A pending comment of the author with the most pending comments: (comment id, author, their pending)."""
    with db.session() as s:
        author, count = s.execute(select(Comment.author, func.count()).where(
            Comment.status.in_(PENDING), Comment.author.is_not(None)).group_by(Comment.author)
            .order_by(func.count().desc(), Comment.author).limit(1)).one()
        first = s.scalar(select(func.min(Comment.id)).where(Comment.author == author, Comment.status.in_(PENDING)))
    return first, author, count


def statuses(db, author: str) -> dict[int, str]:
    with db.session() as s:
        return dict(s.execute(select(Comment.id, Comment.status).where(Comment.author == author)).all())


def drawer(driver):
    return by_css(driver, "#author-drawer")[0]


def open_drawer(driver, base: str, db, size: str):
    """The queue, the busiest author's comment focused and its card open, then Shift+A."""
    comment_id, author, pending = busiest(db)
    log_in(driver, base, "mo")
    driver.get(f"{base}/queue/?author={author}")
    wait(driver, lambda d: by_css(d, f"#row-{comment_id}"))
    press(driver, "j")
    wait(driver, lambda d: current_card(d) and by_css(d, "#card .ccard .author-open"))
    press(driver, "A")
    wait(driver, lambda d: by_css(d, "#author-drawer .adrawer") and drawer(d).is_displayed())
    return author, pending


@pytest.mark.parametrize("size", ["wide", "phone"])
@pytest.mark.parametrize("lang", ["de", "en"])
def test_the_drawer_opens_by_key_bans_with_its_preview_and_undoes(live_server, browser, seeded_db, lang, size):  # noqa: F811
    width, height = SIZES[size]
    driver = browser(accept_language=lang, width=width, height=height)
    author, pending = open_drawer(driver, live_server, seeded_db, size)
    box = drawer(driver)
    words = WORDS[lang]
    assert box.find_element("css selector", "#author-title").text == author
    assert words["rate"] in box.text and box.get_attribute("role") == "dialog"
    shown = driver.execute_script("return document.getElementById('author-drawer').getBoundingClientRect().width")
    page = driver.execute_script("return document.documentElement.clientWidth")
    assert (shown >= page - 1) if size == "phone" else (shown < page / 2), (shown, page)
    assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    before = statuses(seeded_db, author)
    press(driver, "a")  # approve, in the queue: not while the drawer is open over it
    press(driver, "j")
    assert statuses(seeded_db, author) == before
    # Ban, with the preview count shown before confirming.
    summary = box.find_element("css selector", 'details[data-action="ban"] summary')
    assert summary.text == words["ban"]
    summary.click()
    form = box.find_element("css selector", 'details[data-action="ban"] form')
    preview = form.find_element("css selector", ".preview").text
    assert str(pending) in preview and form.find_element("css selector", '[name="confirm_count"]') \
        .get_attribute("value") == str(pending)
    form.find_element("css selector", '[name="reason"]').send_keys("Spam-Welle" if lang == "de" else "spam wave")
    form.find_element("css selector", '[name="reject_pending"]').click()
    if size == "wide":
        driver.save_screenshot(str(SHOTS / f"author-drawer-ban-{lang}.png"))
    form.find_element("css selector", "button[type=submit]").click()
    wait(driver, lambda d: d.find_element("css selector", "#author-drawer .adrawer").get_attribute("data-state")
         == "banned")
    after = statuses(seeded_db, author)
    rejected = [i for i, st in after.items() if before[i] in PENDING and st == "rejected"]
    assert len(rejected) == pending and all(st not in PENDING for st in after.values())
    name = "author-drawer" + ("-mobile" if size == "phone" else "") + f"-{lang}.png"
    driver.save_screenshot(str(SHOTS / name))
    # Undo from the log: the state and the comments come back.
    with seeded_db.session() as s:
        ban_id = s.scalar(select(AuthorAction.id).where(AuthorAction.action == "ban"))
    undo = wait(driver, lambda d: d.find_elements(
        "css selector", f'#author-drawer [data-action-id="{ban_id}"] form.aundo button'))[0]
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", undo)
    undo.click()
    wait(driver, lambda d: d.find_element("css selector", "#author-drawer .adrawer").get_attribute("data-state")
         == "normal")
    assert words["undone"] in drawer(driver).find_element("css selector", ".amessage").text
    assert statuses(seeded_db, author) == before
    for comment_id in rejected:  # the queue's rows are live again at once, not greyed until a reload
        rows = driver.find_elements("css selector", f"#row-{comment_id}")
        assert not rows or "gone" not in rows[0].get_attribute("class").split()
    press(driver, "\ue00c")  # Escape
    wait(driver, lambda d: not drawer(d).is_displayed())


@pytest.mark.parametrize("size", ["wide", "phone"])
@pytest.mark.parametrize("lang", ["de", "en"])
def test_the_card_shows_the_parts_that_made_the_risk(live_server, browser, seeded_db, lang, size):  # noqa: F811
    width, height = SIZES[size]
    driver = browser(accept_language=lang, width=width, height=height)
    log_in(driver, live_server, "mo")
    wait(driver, lambda d: by_css(d, "#rows .row"))
    press(driver, "j")
    comment_id = current_card(driver)
    parts = wait(driver, lambda d: by_css(d, "#card .riskparts .rpart[data-part]"))
    with seeded_db.session() as s:
        stored = s.get(Comment, comment_id).risk
    risk = float(by_css(driver, "#card .riskparts")[0].get_attribute("data-risk"))
    total = sum(float(p.get_attribute("data-contribution")) for p in parts)
    assert risk == pytest.approx(stored, abs=2e-4) and total <= risk + 1e-3
    contributions = [float(p.get_attribute("data-contribution")) for p in parts]
    assert contributions == sorted(contributions, reverse=True)
    labels = [p.text for p in parts]
    assert any(label.startswith(WORDS[lang]["rules"]) for label in labels), labels
    line = by_css(driver, "#card .riskline")[0]
    assert line.is_displayed() and line.size["width"] <= driver.execute_script("return window.innerWidth")
    if size == "wide":
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", line)
        driver.save_screenshot(str(SHOTS / f"risk-parts-{lang}.png"))


def test_the_card_page_opens_the_drawer_by_its_button_and_by_the_key(live_server, browser, seeded_db):  # noqa: F811
    comment_id, author, _pending = busiest(seeded_db)
    driver = browser(accept_language="de", width=390, height=844)
    log_in(driver, live_server, "mo")
    driver.get(f"{live_server}/queue/comments/{comment_id}")
    button = wait(driver, lambda d: by_css(d, ".ccard .author-open"))[0]
    assert button.get_attribute("aria-label") == f"Autor {author} öffnen"
    button.click()
    wait(driver, lambda d: by_css(d, "#author-drawer .adrawer") and drawer(d).is_displayed())
    assert drawer(driver).find_element("css selector", "#author-title").text == author
    drawer(driver).find_element("css selector", ".aclose").click()
    wait(driver, lambda d: not drawer(d).is_displayed())
    press(driver, "A")
    wait(driver, lambda d: drawer(d).is_displayed())
