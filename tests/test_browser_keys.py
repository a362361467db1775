"""Keys and waiting in headless Chromium, German and English, 1400 px and 390 px: queues switched by key, a card's
thread walked with n / p and decided there, the tab counts right at once after every decision, one's own undo not
greyed as "decided elsewhere", "queue clear" after the last decision, the oldest waiting comment and the median
time to decision. Screenshots: docs/screenshots/queue-clear-<lang>[-mobile].png and thread-keys-<lang>.png."""
from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

from moderation.store import Comment
from tests.browser import browser, make_app, seeded_db, wait  # noqa: F401
from tests.conftest import ROOT
from tests.test_browser_queue import by_css, current_card, open_queue, press, status

pytestmark = pytest.mark.browser
SHOTS = ROOT / "docs" / "screenshots"
ACCEPT = {"de": "de-DE,de", "en": "en-US,en"}
TEXTS = {"de": {"clear": "Warteschlange leer", "oldest": "Wartet am längsten", "median": "Median bis zur Entscheidung",
                "reported": "Gemeldet", "pending": "Offen", "nobody": "Niemand wartet"},
         "en": {"clear": "Queue clear", "oldest": "Oldest waiting", "median": "Median time to decision",
                "reported": "Reported", "pending": "Pending", "nobody": "Nobody is waiting"}}


@pytest.fixture
def desk_url(seeded_db, tmp_path):  # noqa: F811
    """The desk with waiting figures recomputed on every request (the API's 30 s cache off)."""
    from tests.live import serve

    app = make_app(seeded_db, tmp_path / "instance", QUEUE_WAIT_SECONDS=0)
    with serve(app) as url:
        yield url


def held(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Comment).where(Comment.status == "held"))


def tab_count(driver, queue: str) -> int:
    # htmx re-renders the tabs (after a decision, an undo, each status poll): a read that catches the swap
    # reads again instead of failing on the element that was just replaced.
    def read(d) -> tuple[int]:  # noqa: ANN001
        return (int(by_css(d, f'#tabs .tab[data-queue="{queue}"] .count')[0].text.replace(".", "").replace(",", "")),)
    return wait(driver, read, timeout=5)[0]


def open_rows(driver) -> list[int]:
    return [int(r.get_attribute("data-id")) for r in by_css(driver, "#rows .row:not(.done):not(.gone)")]


def decide_current(driver, db, reject: bool) -> int:
    """a, or r then 1, on the card's own comment; waits until its row is done; returns its id."""
    shown = wait(driver, lambda d: (c := current_card(d)) in open_rows(d) and c)  # the card of an open row
    press(driver, "r" if reject else "a")
    if reject:
        wait(driver, lambda d: by_css(d, "#reasons")[0].is_displayed())
        press(driver, "1")
    wait(driver, lambda d: "done" in by_css(d, f"#row-{shown}")[0].get_attribute("class"))
    return shown


@pytest.mark.parametrize("width", [1400, 390])
@pytest.mark.parametrize("language", ["de", "en"])
def test_keys_switch_queues_walk_the_thread_and_reach_queue_clear(desk_url, browser, seeded_db, language,  # noqa: F811
                                                                 width):
    driver = browser(accept_language=ACCEPT[language], width=width, height=1000 if width > 500 else 844)
    words = TEXTS[language]
    open_queue(driver, desk_url)
    waiting = by_css(driver, "#waiting")[0].text
    assert words["oldest"] in waiting and words["median"] in waiting

    # Queues by key: g then the tab's number, ] for the next tab, g then p back to Pending.
    press(driver, "g2")
    wait(driver, lambda d: "queue=reported" in d.current_url)
    assert by_css(driver, "#tabs .tab.on")[0].text.startswith(words["reported"])
    press(driver, "]")
    wait(driver, lambda d: "queue=auto-rejected" in d.current_url)
    press(driver, "gp")
    wait(driver, lambda d: "queue=pending" in d.current_url and by_css(d, "#rows .row"))

    # The thread: j until a card whose thread has other comments, then n / p onto one and decide it there.
    press(driver, "j")
    for _ in range(12):
        main = current_card(driver)
        if by_css(driver, "#card .ccard .tnode[data-id]"):
            break
        press(driver, "j")
        wait(driver, lambda d, main=main: current_card(d) != main)
    main = current_card(driver)
    nodes = [int(n.get_attribute("data-id")) for n in by_css(driver, "#card .ccard .tnode[data-id]")]
    assert nodes, "no card in the samples with a thread"
    press(driver, "n")
    if not by_css(driver, "#card .tnode.tfocus"):
        press(driver, "p")
    focused = int(wait(driver, lambda d: by_css(d, "#card .tnode.tfocus"))[0].get_attribute("data-id"))
    assert focused in nodes and focused != main
    before = status(seeded_db, focused)
    if before == "rejected":
        press(driver, "a")
        wait(driver, lambda d: status(seeded_db, focused) == "approved")
    else:
        press(driver, "r")
        wait(driver, lambda d: by_css(d, "#reasons")[0].is_displayed())
        press(driver, "1")
        wait(driver, lambda d: status(seeded_db, focused) == "rejected")
    assert status(seeded_db, main) == "held"  # the card's own comment is untouched
    after = status(seeded_db, focused)
    # The card is drawn again with the new status, and the focus is kept on that comment.
    wait(driver, lambda d: by_css(d, f'#card .tnode.tfocus.st-{after}[data-id="{focused}"]'))
    if width > 500:
        driver.save_screenshot(str(SHOTS / f"thread-keys-{language}.png"))
    press(driver, "\ue00c")  # Esc: back to the card's own comment
    wait(driver, lambda d: not by_css(d, "#card .tnode.tfocus"))
    assert tab_count(driver, "pending") == held(seeded_db)

    # Every open row decided by key; after each, the tab count is already the database's.
    while len(open_rows(driver)) > 1:
        decide_current(driver, seeded_db, reject=len(open_rows(driver)) % 2 == 0)
        wait(driver, lambda d: tab_count(d, "pending") == held(seeded_db), timeout=2)
    last = decide_current(driver, seeded_db, reject=False)
    wait(driver, lambda d: words["clear"] in by_css(d, "#card")[0].text, timeout=3)
    assert tab_count(driver, "pending") == held(seeded_db) == 0

    # One's own undo: the row is open again and stays so through the next status polls (every 4 s).
    press(driver, "u")
    wait(driver, lambda d: "done" not in by_css(d, f"#row-{last}")[0].get_attribute("class"))
    assert tab_count(driver, "pending") == 1 == held(seeded_db)
    time.sleep(9)
    row = by_css(driver, f"#row-{last}")[0]
    assert "gone" not in row.get_attribute("class"), row.text
    press(driver, "a")
    wait(driver, lambda d: words["clear"] in by_css(d, "#card")[0].text, timeout=3)
    assert tab_count(driver, "pending") == 0
    assert words["nobody"] in by_css(driver, "#waiting")[0].text  # no stale "oldest waiting" beside "clear"
    suffix = "-mobile" if width < 500 else ""
    driver.save_screenshot(str(SHOTS / f"queue-clear-{language}{suffix}.png"))

    # Reloaded: still clear, nobody waiting, and the median time to decision now has a figure.
    driver.get(desk_url + "/queue")
    wait(driver, lambda d: words["clear"] in by_css(d, "#card")[0].text)
    waiting = by_css(driver, "#waiting")[0].text
    assert words["nobody"] in waiting and "–" not in waiting.split(":", 2)[-1], waiting


def test_clearing_the_demo_pending_queue_by_keyboard_is_timed(desk_url, browser, seeded_db, tmp_path):  # noqa: F811
    """The samples as `make demo` loads them, cleared by keyboard only: keystrokes and wall time (printed and
    written to tmp_path/clear.json; the figures go to the notes with the command)."""
    driver = browser(accept_language=ACCEPT["de"], width=1400, height=1000)
    open_queue(driver, desk_url)
    total = held(seeded_db)
    keys = 0
    start = time.perf_counter()
    press(driver, "j")
    keys += 1
    while open_rows(driver):
        # Reject what the rules rated risky (reason 1), approve the rest: a or r + digit.
        shown = wait(driver, lambda d: (c := current_card(d)) in open_rows(d) and c)
        risk = float(by_css(driver, f"#row-{shown} .risk")[0].text.replace(",", "."))
        decide_current(driver, seeded_db, reject=risk >= 0.5)
        keys += 2 if risk >= 0.5 else 1
    wait(driver, lambda d: "Warteschlange leer" in by_css(d, "#card")[0].text, timeout=3)
    seconds = time.perf_counter() - start
    assert held(seeded_db) == 0 and tab_count(driver, "pending") == 0
    result = {"comments": total, "keystrokes": keys, "seconds": round(seconds, 2)}
    (tmp_path / "clear.json").write_text(json.dumps(result))
    print("clear-demo-pending", json.dumps(result))
