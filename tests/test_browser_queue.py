"""The review queue in real headless Chromium: login, keyboard approve/reject/undo, the thread view, and two
moderators racing on one comment. Screenshots go to docs/screenshots/."""
from __future__ import annotations


import pytest
from sqlalchemy import select

from moderation.store import Comment, Decision
from tests.browser import browser, live_server, log_in, seeded_db, wait  # noqa: F401
from tests.conftest import ROOT

pytestmark = pytest.mark.browser
SHOTS = ROOT / "docs" / "screenshots"


def by_css(driver, css):  # noqa: ANN001, ANN201
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, css)


def press(driver, keys: str) -> None:  # noqa: ANN001
    from selenium.webdriver.common.action_chains import ActionChains

    for key in keys:
        ActionChains(driver).send_keys(key).perform()


def open_queue(driver, base: str, user: str = "mo") -> None:  # noqa: ANN001
    log_in(driver, base, user)
    wait(driver, lambda d: by_css(d, "#rows .row"))


def current_card(driver) -> int:  # noqa: ANN001
    wait(driver, lambda d: by_css(d, "#card .ccard"))
    return int(by_css(driver, "#card .ccard")[0].get_attribute("data-id"))


def status(db, comment_id: int) -> str:  # noqa: ANN001
    with db.session() as s:
        return s.get(Comment, comment_id).status


def test_login_lands_on_the_queue_and_bad_password_stays(live_server, browser):  # noqa: F811
    driver = browser()
    log_in(driver, live_server, "mo", "wrong-password")
    wait(driver, lambda d: "Unknown user or wrong password" in d.page_source)  # the answer page, not the form
    log_in(driver, live_server, "mo")
    wait(driver, lambda d: d.current_url.rstrip("/").endswith("/queue"))
    assert by_css(driver, "#rows .row") and "Pending" in by_css(driver, ".tabs .tab.on")[0].text


def test_keyboard_approve_reject_undo_without_a_mouse(live_server, browser, seeded_db):  # noqa: F811
    driver = browser()
    open_queue(driver, live_server)
    press(driver, "j")
    first = current_card(driver)
    assert "current" in by_css(driver, f"#row-{first}")[0].get_attribute("class")
    press(driver, "a")
    wait(driver, lambda d: "done" in by_css(d, f"#row-{first}")[0].get_attribute("class"))
    assert status(seeded_db, first) == "approved"
    assert "Approved" in by_css(driver, "#toast")[0].text
    second = wait(driver, lambda d: current_card(d) != first and current_card(d))  # auto-advance
    press(driver, "u")
    wait(driver, lambda d: "done" not in by_css(d, f"#row-{first}")[0].get_attribute("class"))
    assert status(seeded_db, first) == "held"
    wait(driver, lambda d: current_card(d) == first)
    press(driver, "r")
    wait(driver, lambda d: by_css(d, "#reasons")[0].is_displayed())
    press(driver, "2")
    wait(driver, lambda d: status(seeded_db, first) == "rejected")
    with seeded_db.session() as s:
        last = s.scalars(select(Decision).where(Decision.comment_id == first).order_by(Decision.id.desc())).first()
    assert (last.action, last.reason_code, last.actor) == ("reject", "defamation", "mo")
    assert second != first
    # The help overlay, thread toggle and single-comment mode are keys too.
    press(driver, "?")
    wait(driver, lambda d: by_css(d, "#help")[0].is_displayed())
    press(driver, "?")
    press(driver, "s")
    assert "single" in driver.find_element("tag name", "body").get_attribute("class")
    press(driver, "s")


def test_queue_screenshot_with_a_card_open(live_server, browser):  # noqa: F811
    driver = browser(accept_language="de-DE,de")  # the README shows the German desk
    open_queue(driver, live_server)
    press(driver, "jj")
    current_card(driver)
    wait(driver, lambda d: by_css(d, "#card .thread .tnode"))
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / "queue.png"))
    assert (SHOTS / "queue.png").stat().st_size > 10_000


def test_public_thread_view_shows_placeholders(live_server, browser, seeded_db):  # noqa: F811
    with seeded_db.session() as s:
        rejected = s.scalars(select(Comment).where(Comment.status == "rejected", Comment.external_id.like("de-%"))
                             .order_by(Comment.id)).first()
        article = rejected.article_id
    driver = browser(accept_language="de-DE,de", width=1000)
    driver.get(f"{live_server}/threads/{article}")
    wait(driver, lambda d: by_css(d, ".public-thread .pc"))
    placeholders = by_css(driver, f"#c{rejected.id} > .removed")
    assert placeholders and "von der Moderation entfernt" in placeholders[0].text  # a German article
    assert rejected.text[:20] not in driver.page_source
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / "thread.png"))


def test_two_moderators_race_on_one_comment(live_server, browser, seeded_db):  # noqa: F811
    first, second = browser(), browser()
    open_queue(first, live_server, "mo")
    press(first, "j")
    target = current_card(first)
    open_queue(second, live_server, "mo2")
    # The first moderator's claim shows on the second moderator's list.
    wait(second, lambda d: "claimed by mo" in by_css(d, f"#row-{target}")[0].text)
    press(second, "j")
    assert current_card(second) == target
    press(first, "a")
    wait(first, lambda d: status(seeded_db, target) == "approved")
    press(second, "r")
    wait(second, lambda d: by_css(d, "#reasons")[0].is_displayed())
    press(second, "6")
    wait(second, lambda d: "approved this comment first" in by_css(d, "#toast")[0].text)
    assert "mo approved this comment first" in by_css(second, "#toast")[0].text
    with seeded_db.session() as s:
        log = list(s.scalars(select(Decision).where(Decision.comment_id == target)))
    assert [(d.action, d.actor) for d in log] == [("approve", "mo")]
    assert status(seeded_db, target) == "approved"


def test_clearing_the_whole_pending_queue_with_keys_only(live_server, browser, seeded_db):  # noqa: F811
    driver = browser()
    open_queue(driver, live_server)
    listed = [int(r.get_attribute("data-id")) for r in by_css(driver, "#rows .row")]
    press(driver, "s")  # single-comment mode: one card at a time, auto-advance
    press(driver, "j")
    current_card(driver)
    press(driver, "t")  # the thread folds away and stays folded from card to card
    wait(driver, lambda d: not by_css(d, "#card .thread")[0].is_displayed())
    for n in range(len(listed)):
        shown = current_card(driver)
        assert "done" not in by_css(driver, f"#row-{shown}")[0].get_attribute("class")
        press(driver, "a" if n % 2 else "r")
        if n % 2 == 0:
            wait(driver, lambda d: by_css(d, "#reasons")[0].is_displayed())
            press(driver, "4")
        wait(driver, lambda d, shown=shown: "done" in by_css(d, f"#row-{shown}")[0].get_attribute("class"))
        if n < len(listed) - 1:
            wait(driver, lambda d, shown=shown: current_card(d) != shown)
            assert not by_css(driver, "#card .thread")[0].is_displayed()
    with seeded_db.session() as s:
        states = {s.get(Comment, i).status for i in listed}
        rejected = s.scalars(select(Decision.reason_code).where(Decision.comment_id.in_(listed),
                                                                Decision.action == "reject")).all()
    assert states == {"approved", "rejected"} and set(rejected) == {"offensive"}
    press(driver, "t")
    driver.get(live_server + "/queue")
    assert "Nothing in this queue" in driver.page_source


def test_new_arrivals_show_as_a_notice_not_in_the_list(live_server, browser, seeded_db):  # noqa: F811
    driver = browser()
    open_queue(driver, live_server)
    before = [r.get_attribute("data-id") for r in by_css(driver, "#rows .row")]
    pending = int(by_css(driver, '.tab[data-queue="pending"] .count')[0].text)
    with seeded_db.session() as s:
        article = s.scalars(select(Comment.article_id)).first()
        s.add(Comment(source="test", external_id="late", article_id=article, text="Späte, sehr riskante Antwort",
                      status="held", priority=999, risk=1.0, author="late"))
    # htmx polls the counts every 5 s: the notice and the count change, the list under the hand does not.
    wait(driver, lambda d: by_css(d, "#arrivals"), timeout=15)
    assert "1 new comment" in by_css(driver, "#arrivals")[0].text
    assert int(by_css(driver, '.tab[data-queue="pending"] .count')[0].text) == pending + 1
    assert [r.get_attribute("data-id") for r in by_css(driver, "#rows .row")] == before
    press(driver, "N")  # Shift+N, as Gmail's "update conversation"; n walks the card's thread
    wait(driver, lambda d: "Späte" in by_css(d, "#rows .row")[0].text)
