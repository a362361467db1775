"""Rule tuning in real headless Chromium: edit a rule file, replay it, open a changed comment, activate, roll back."""
from __future__ import annotations

import pytest

from moderation.store import Comment, revisions
from tests.browser import browser, live_server, log_in, seeded_db, wait  # noqa: F401
from tests.conftest import ROOT

pytestmark = pytest.mark.browser
SHOTS = ROOT / "docs" / "screenshots"


def _click(driver, selector: str) -> None:  # noqa: ANN001
    from selenium.webdriver.common.by import By  # noqa: PLC0415

    driver.find_element(By.CSS_SELECTOR, selector).click()


def test_edit_whatif_activate_rollback(live_server, browser, seeded_db):  # noqa: F811
    from selenium.webdriver.common.by import By  # noqa: PLC0415

    driver = browser()
    log_in(driver, live_server, "ad")
    wait(driver, lambda d: "/login" not in d.current_url)

    # Edit: hold every new author's comments until three have been approved.
    driver.get(live_server + "/admin/rules/edit?file=site.yaml")
    area = driver.find_element(By.NAME, "text")
    text = area.get_property("value")
    assert "premoderation: flagged" in text
    driver.execute_script("arguments[0].value = arguments[1];", area,
                          text.replace("premoderation: flagged", "premoderation: new_authors"))
    driver.find_element(By.NAME, "message").send_keys("hold new authors")
    _click(driver, "button[name=intent][value=save]")
    wait(driver, lambda d: "/admin/revisions/2" in d.current_url)
    assert "+  premoderation: new_authors" in driver.find_element(By.CSS_SELECTOR, "pre.diff").text

    # What-if from the revision page: approvals turn into holds, the changed comments are listed.
    _click(driver, "form[action$='/admin/whatif'] button")
    summary = wait(driver, lambda d: d.find_elements(By.ID, "whatif-summary"))[0].text
    assert "approve->hold" in summary
    changed = driver.find_elements(By.CSS_SELECTOR, "#changed tbody tr")
    assert changed and all(row.find_elements(By.TAG_NAME, "td")[2].text == "hold" for row in changed)
    link = changed[0].find_element(By.TAG_NAME, "a")
    comment_id = link.text
    link.click()  # the changed comment opens in the queue's card
    wait(driver, lambda d: d.current_url.endswith(f"/queue/comments/{comment_id}"))
    with seeded_db.session() as s:
        stored = s.get(Comment, int(comment_id)).text
    assert stored.split()[0] in driver.find_element(By.TAG_NAME, "main").text

    # Nothing is live until activated.
    with seeded_db.session() as s:
        assert revisions.active(s).id == 1
    driver.get(live_server + "/admin/revisions/2")
    _click(driver, "form[action$='/activate'] button")
    wait(driver, lambda d: "Revision 2 is now active." in d.page_source)
    with seeded_db.session() as s:
        assert revisions.active(s).id == 2

    # Rollback: one click on the earlier revision.
    driver.get(live_server + "/admin/revisions/1")
    _click(driver, "form[action$='/activate'] button")
    wait(driver, lambda d: "Revision 1 is now active." in d.page_source)
    with seeded_db.session() as s:
        assert revisions.active(s).id == 1


def test_the_admin_pages_in_german_as_the_readme_shows_them(live_server, browser, seeded_db):  # noqa: F811
    """Overview, editor with a located problem, playground and what-if in German: the README's screenshots."""
    from selenium.webdriver.common.by import By  # noqa: PLC0415

    driver = browser(accept_language="de-DE,de", width=1400, height=1000)
    log_in(driver, live_server, "ad")
    driver.get(live_server + "/admin/")
    assert "Statistik je Regel" in driver.find_element(By.TAG_NAME, "main").text
    driver.save_screenshot(str(SHOTS / "admin-rules.png"))

    driver.get(live_server + "/admin/rules/edit?file=site.yaml")
    area = driver.find_element(By.NAME, "text")
    broken = area.get_property("value").replace("premoderation: flagged", "premoderation: sometimes")
    driver.execute_script("arguments[0].value = arguments[1];", area, broken)
    _click(driver, "button[name=intent][value=check]")
    problems = wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#problems ul li"))
    assert "site.yaml" in problems[0].text  # the problem names its file (and line)
    driver.save_screenshot(str(SHOTS / "admin-editor.png"))

    driver.get(live_server + "/admin/playground")
    driver.find_element(By.NAME, "text").send_keys("Du bist ein Idiot, schau dir das an: https://youtu.be/abc")
    _click(driver, "form.card button.primary")
    verdict = wait(driver, lambda d: d.find_elements(By.ID, "result"))[0].text
    assert "Zur Prüfung zurückgehalten" in verdict and "Idiot" in verdict  # the explanation in German
    driver.save_screenshot(str(SHOTS / "admin-playground.png"))

    driver.get(live_server + "/admin/rules/edit?file=site.yaml")
    area = driver.find_element(By.NAME, "text")
    driver.execute_script("arguments[0].value = arguments[1];", area,
                          area.get_property("value").replace("premoderation: flagged", "premoderation: new_authors"))
    driver.find_element(By.NAME, "message").send_keys("neue Autoren zurückhalten")
    _click(driver, "button[name=intent][value=save]")
    wait(driver, lambda d: "/admin/revisions/2" in d.current_url)
    _click(driver, "form[action$='/admin/whatif'] button")
    wait(driver, lambda d: d.find_elements(By.ID, "whatif-summary"))
    assert "zurückhalten" in driver.find_element(By.CSS_SELECTOR, "#changed tbody").text
    driver.save_screenshot(str(SHOTS / "admin-whatif.png"))
