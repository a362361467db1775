"""Reusable fixtures for browser tests: a desk seeded with the triaged samples, a live server in a background
thread, and a factory for headless Chromium drivers (Debian chromium + chromedriver).

Use from a test module:  from tests.browser import live_server, browser, seeded_db  # noqa: F401
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Callable, Iterator

import pytest

from moderation.config import Config
from moderation.store import Database
from moderation.store.accounts import add_user
from tests.conftest import RULES, SAMPLES, need

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROME_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync")
ACCOUNTS = {"mo": ("moderator-pass", "moderator"), "mo2": ("moderator2-pass", "moderator"),
            "ad": ("admin-pass-1", "admin"), "re": ("researcher-pass", "researcher")}


def seed(db: Database, accounts: dict[str, tuple[str, str]] = ACCOUNTS) -> None:
    """Import the samples, triage them with the project's rules, and create the test accounts."""
    from moderation.importers import parse_batches  # noqa: PLC0415
    from moderation.assess.pipeline import Pipeline  # noqa: PLC0415
    from moderation.services.jobs import triage_stored  # noqa: PLC0415
    from moderation.rules import load_ruleset  # noqa: PLC0415
    from moderation.store.loading import load_batch  # noqa: PLC0415

    for path in sorted(SAMPLES.glob("*.jsonl")):
        with db.session() as session:
            for batch in parse_batches(path):
                load_batch(session, batch)
    triage_stored(db, Pipeline.from_config(Config(database_url=db.url, rules_path=RULES), load_ruleset(RULES)))
    with db.session() as session:
        for name, (password, role) in accounts.items():
            add_user(session, name, password, role)


def make_app(db: Database, instance: Path, **settings: object):  # noqa: ANN201
    from web import create_app  # noqa: PLC0415

    config = Config(database_url=db.url, instance_path=instance, rules_path=RULES)
    return create_app(config, **{"QUEUE_COUNTS_SECONDS": 0, **settings})


@pytest.fixture
def seeded_db(tmp_path) -> Iterator[Database]:
    """A temporary SQLite database with the samples imported and triaged and the accounts created."""
    database = Database(f"sqlite:///{tmp_path / 'browser.db'}")
    seed(database)
    yield database
    database.dispose()


@pytest.fixture
def live_server(seeded_db, tmp_path) -> Iterator[str]:
    """create_app on a free loopback port, served from a background thread; yields the base URL."""
    from tests.live import serve  # noqa: PLC0415

    app = make_app(seeded_db, tmp_path / "instance")
    app.config["DB"] = seeded_db
    with serve(app) as url:
        yield url


@pytest.fixture
def browser(tmp_path) -> Iterator[Callable[[], object]]:
    """A factory of headless Chromium drivers (call it once per simulated person); all quit afterwards."""
    need(Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists() and shutil.which("chromium") is not None,
         f"headless Chromium needs {CHROMIUM} and {CHROMEDRIVER}")
    from selenium import webdriver  # noqa: PLC0415
    from selenium.webdriver.chrome.service import Service  # noqa: PLC0415

    drivers = []

    def make(accept_language: str = "en-US,en", width: int = 1440, height: int = 900) -> object:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in CHROME_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--window-size={width},{height}")  # the last --window-size counts
        options.add_experimental_option("prefs", {"intl.accept_languages": accept_language})
        options.add_argument(f"--user-data-dir={tmp_path / f'chrome-{len(drivers)}'}")
        driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
        driver.implicitly_wait(0)
        if width < 500:  # below Chromium's smallest window: a phone's viewport, emulated
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                   {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": True})
        drivers.append(driver)
        return driver

    yield make
    for driver in drivers:
        driver.quit()


def log_in(driver, base: str, username: str, password: str | None = None) -> None:  # noqa: ANN001
    """Log in through the real form."""
    from selenium.webdriver.common.by import By  # noqa: PLC0415

    driver.get(base + "/login")
    driver.find_element(By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(password or ACCOUNTS[username][0])
    # A marker on the form's document tells when the answer page has replaced it; staleness_of on the button can
    # hit chromedriver mid-navigation ("Node ... does not belong to the document").
    driver.execute_script("window.__loginForm = true;")
    driver.find_element(By.CSS_SELECTOR, "form.login button[type=submit]").click()
    wait(driver, _page_replaced)


def _page_replaced(driver) -> bool:  # noqa: ANN001
    from selenium.common.exceptions import WebDriverException  # noqa: PLC0415

    try:
        return driver.execute_script("return document.readyState === 'complete' && window.__loginForm === undefined;")
    except WebDriverException:  # a script run while the old document unloads: not yet
        return False


def wait(driver, condition: Callable[[object], object], timeout: float = 10):  # noqa: ANN001, ANN201
    from selenium.common.exceptions import StaleElementReferenceException  # noqa: PLC0415
    from selenium.webdriver.support.ui import WebDriverWait  # noqa: PLC0415

    # htmx swaps parts of the page while a condition looks at them: an element gone stale or a list not yet
    # filled means "not yet", not failure.
    return WebDriverWait(driver, timeout, poll_frequency=0.05,
                         ignored_exceptions=(StaleElementReferenceException, IndexError)).until(condition)


def csrf(page: str) -> str:
    """The CSRF token from a page of the app (htmx header or a form field)."""
    match = re.search(r'"X-CSRFToken": "([^"]+)"', page) or re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    return match.group(1)
