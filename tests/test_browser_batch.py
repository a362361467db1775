"""The batch view in headless Chromium, in German and English at 1400 px and 390 px: drag a range on the histogram
(mouse on the desktop, a finger on the phone), exclude a row, choose reject with a reason, apply with Enter, undo with
u; and the same range chosen with the arrow keys alone. Screenshots: docs/screenshots/batch-<language>[-mobile].png."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from moderation.services import batch as core
from moderation.store import Comment, Decision
from tests.browser import browser, live_server, log_in, seeded_db, wait  # noqa: F401
from tests.conftest import ROOT
from tests.test_browser_i18n import ACCEPT, fits
from tests.test_browser_queue import by_css, press

pytestmark = pytest.mark.browser
SHOTS = ROOT / "docs" / "screenshots"
WORDS = {"de": {"title": "Stapelentscheidung", "of": "von", "enter": "Enter drücken", "reject": "ablehnen",
                "undone": "Rückgängig"},
         "en": {"title": "Batch decision", "of": "of", "enter": "Press Enter", "reject": "Reject",
                "undone": "Undone"}}


def held(db) -> dict[int, float]:  # noqa: ANN001
    with db.session() as s:
        return dict(s.execute(select(Comment.id, Comment.risk).where(Comment.status == "held")).all())


def in_bins(risks: dict[int, float], low: int, high: int) -> set[int]:
    return {i for i, r in risks.items() if low <= core.bin_of(r) <= high}


def bin_x(driver, b: int) -> tuple[int, int]:  # noqa: ANN001
    """The viewport point in the middle of bin b as drawn, a little above the axis."""
    return tuple(driver.execute_script(
        "document.getElementById('histogram').scrollIntoView({block: 'center'});"
        "const r = document.querySelector('#histogram .bin[data-bin=\"' + arguments[0] + '\"] .hit')"
        "  .getBoundingClientRect();"
        "return [Math.round(r.left + r.width / 2), Math.round(r.top + r.height * 0.7)];", b))


def drag(driver, start: int, end: int, touch: bool) -> None:  # noqa: ANN001
    """Press on one bin, move across to another and let go, as a mouse or as a finger (pointer events both)."""
    from selenium.webdriver.common.actions import interaction
    from selenium.webdriver.common.actions.action_builder import ActionBuilder
    from selenium.webdriver.common.actions.pointer_input import PointerInput

    (x0, y), (x1, _) = bin_x(driver, start), bin_x(driver, end)
    pointer = PointerInput(interaction.POINTER_TOUCH if touch else interaction.POINTER_MOUSE, "pointer")
    actions = ActionBuilder(driver, mouse=pointer)
    actions.pointer_action.move_to_location(x0, y).pointer_down()
    for step in range(1, 5):
        actions.pointer_action.move_to_location(x0 + (x1 - x0) * step // 4, y)
    actions.pointer_action.pointer_up()
    actions.perform()


def shown(driver) -> int:  # noqa: ANN001
    return int(by_css(driver, "#n-selected")[0].text)


@pytest.mark.parametrize("width", [1400, 390])
@pytest.mark.parametrize("language", ["de", "en"])
def test_drag_exclude_reject_apply_by_key_and_undo(live_server, browser, seeded_db, language, width):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    risks = held(seeded_db)
    low, high = core.bin_of(0.7), core.BINS - 1
    expected = in_bins(risks, low, high)
    assert 1 < len(expected) < len(risks)
    driver = browser(accept_language=ACCEPT[language], width=width, height=1000 if width > 500 else 844)
    log_in(driver, live_server, "mo")
    driver.get(f"{live_server}/batch/")
    wait(driver, lambda d: by_css(d, "#histogram .bin"))
    assert WORDS[language]["title"] in by_css(driver, "h1")[0].text
    assert shown(driver) == len(risks)  # the whole queue until a range is chosen
    drag(driver, high, low, touch=width < 500)  # right to left: the range is the same either way
    wait(driver, lambda d: shown(d) == len(expected) and len(by_css(d, "#batch-rows .batch-row")) == len(expected))
    listed = {int(r.get_attribute("data-id")) for r in by_css(driver, "#batch-rows .batch-row")}
    assert listed == expected
    assert f"{len(expected)} {WORDS[language]['of']} {len(risks)}" in by_css(driver, "#batch-count")[0].text
    assert len(by_css(driver, "#histogram .bin.on")) == high - low + 1
    excluded = min(listed)
    driver.find_element(By.ID, f"inc-{excluded}").click()
    wait(driver, lambda d: shown(d) == len(expected) - 1)
    assert "excluded" in by_css(driver, f"#brow-{excluded}")[0].get_attribute("class")
    assert not driver.find_element(By.ID, "apply").is_enabled()  # no action chosen: nothing to apply
    press(driver, "\ue007")  # Enter without an action applies nothing
    assert driver.current_url.endswith("/batch/") or "/batch/?" in driver.current_url
    driver.find_element(By.CSS_SELECTOR, "input[name=action][value=reject]").click()
    Select(driver.find_element(By.ID, "reason")).select_by_value("spam")
    wait(driver, lambda d: "ready" in by_css(d, "#confirm")[0].get_attribute("class"))
    confirm = by_css(driver, "#confirm")[0].text
    assert str(len(expected) - 1) in confirm and WORDS[language]["enter"] in confirm
    assert WORDS[language]["reject"] in confirm
    assert fits(driver, width)
    SHOTS.mkdir(parents=True, exist_ok=True)  # the histogram, the count and the confirmation in one view
    driver.execute_script("document.querySelector(arguments[0]).scrollIntoView({block: 'start'});"
                          "document.getElementById('apply').focus({preventScroll: true});",
                          ".histogram" if width < 500 else "header.top")
    driver.save_screenshot(str(SHOTS / f"batch-{language}{'-mobile' if width < 500 else ''}.png"))
    press(driver, Keys.ENTER)
    wait(driver, lambda d: by_css(d, "#batch-result"))
    with seeded_db.session() as s:
        decided = set(s.scalars(select(Comment.id).where(Comment.status == "rejected", Comment.id.in_(list(risks)))))
        reasons = set(s.scalars(select(Decision.reason_code).where(Decision.comment_id.in_(list(decided)))))
    assert decided == expected - {excluded} and reasons == {"spam"}
    assert held(seeded_db).keys() == set(risks) - decided
    assert fits(driver, width)
    press(driver, "u")
    wait(driver, lambda d: by_css(d, "#batch-undone"))
    assert WORDS[language]["undone"] in by_css(driver, ".flashes")[0].text
    assert held(seeded_db).keys() == set(risks)


def test_the_range_by_keyboard_alone(live_server, browser, seeded_db):  # noqa: F811
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    risks = held(seeded_db)
    driver = browser(accept_language=ACCEPT["en"])
    log_in(driver, live_server, "mo")
    driver.get(f"{live_server}/batch/")
    svg = wait(driver, lambda d: d.find_element(By.ID, "histogram"))
    driver.execute_script("arguments[0].focus()", svg)
    low = core.bin_of(0.8)
    for _ in range(low):  # Shift+Right moves the lower end up, bin by bin
        ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.ARROW_RIGHT).key_up(Keys.SHIFT).perform()
    ActionChains(driver).send_keys(Keys.ARROW_LEFT).perform()  # and Left the upper end down
    expected = in_bins(risks, low, core.BINS - 2)
    wait(driver, lambda d: shown(d) == len(expected) and len(by_css(d, "#batch-rows .batch-row")) == len(expected))
    assert driver.find_element(By.ID, "lo").get_attribute("value") == str(low)
    assert driver.find_element(By.ID, "hi").get_attribute("value") == str(core.BINS - 2)
    press(driver, "h")  # the action by key too; the confirmation names the count
    wait(driver, lambda d: "ready" in by_css(d, "#confirm")[0].get_attribute("class"))
    assert f"Hold {len(expected)} comments" in by_css(driver, "#confirm")[0].text
    assert driver.switch_to.active_element.get_attribute("id") == "apply"
