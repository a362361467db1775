"""Reader reports in headless Chromium, German and English, at 1400 px and 390 px: a reader opens "Melden" /
"Report" under a comment on the public thread (a plain form, no account), picks a reason and writes a note; with the
reports already in, the comment moves into Reported, and the moderator's card counts them with their reasons.
Screenshots: docs/screenshots/report-<language>[-mobile].png (the form) and reported-<language>[-mobile].png (the card)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from moderation.services import reports
from moderation.store import Article, Comment
from tests.browser import browser, live_server, log_in, seeded_db, wait  # noqa: F401
from tests.conftest import ROOT
from tests.test_browser_i18n import ACCEPT, fits
from tests.test_browser_queue import by_css, current_card

pytestmark = pytest.mark.browser
SHOTS = ROOT / "docs" / "screenshots"
WORDS = {"de": {"report": "Melden", "send": "Meldung senden", "thanks": "Danke", "tab": "Gemeldet",
                "count": "3 Meldungen von Lesern", "reason": "Verleumdung"},
         "en": {"report": "Report", "send": "Send report", "thanks": "Thank you", "tab": "Reported",
                "count": "3 reader reports", "reason": "Defamation"}}
NOTE = {"de": "Unbelegte Behauptung über den <b>Bürgermeister</b>", "en": "Unproven claim about the <b>mayor</b>"}


def shot(name: str, language: str, width: int) -> str:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return str(SHOTS / f"{name}-{language}{'-mobile' if width < 500 else ''}.png")


def published_comment(db, language: str) -> tuple[int, int]:
    """A published top-level comment of the sample article in this language that no moderator has decided."""
    with db.session() as s:
        article = s.scalars(select(Article).where(Article.external_id == f"a-{language}-1")).one()
        comment = s.scalars(select(Comment).where(Comment.article_id == article.id, Comment.status == "approved",
                                                  Comment.decided_by_human.is_(False), Comment.flagged == 0)
                            .order_by(Comment.id)).first()
        return article.id, comment.id


@pytest.mark.parametrize("width", [1400, 390])
@pytest.mark.parametrize("language", ["de", "en"])
def test_a_reader_reports_and_the_comment_arrives_in_reported_with_count_and_reasons(
        live_server, browser, seeded_db, language, width):  # noqa: F811
    from selenium.webdriver.common.by import By

    article, cid = published_comment(seeded_db, language)
    for reader, reason in (("reader-a", "offensive"), ("reader-b", "defamation")):  # two readers came first
        with seeded_db.session() as s:
            reports.report(s, cid, f"api:seed:{reader}", reason, origin="api")
    words = WORDS[language]
    height = 1000 if width > 500 else 844
    reader = browser(accept_language=ACCEPT[language], width=width, height=height)
    reader.get(f"{live_server}/threads/{article}")
    summary = wait(reader, lambda d: by_css(d, f"#c{cid} details.report > summary"))[0]
    assert summary.text == words["report"]
    reader.execute_script("document.getElementById(arguments[0]).scrollIntoView({block: 'start'})", f"c{cid}")
    summary.click()
    form = wait(reader, lambda d: [f for f in by_css(d, f"#c{cid} details.report form") if f.is_displayed()])[0]
    form.find_element(By.CSS_SELECTOR, "input[value=defamation]").click()
    form.find_element(By.NAME, "note").send_keys(NOTE[language])
    assert fits(reader, width)
    reader.save_screenshot(shot("report", language, width))
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(reader, lambda d: words["thanks"] in " ".join(e.text for e in by_css(d, ".flash")))
    assert reader.find_element(By.CSS_SELECTOR, "html").get_attribute("lang") == language

    moderator = browser(accept_language=ACCEPT[language], width=width, height=height)
    log_in(moderator, live_server, "mo")
    moderator.get(f"{live_server}/queue?queue=reported")
    wait(moderator, lambda d: by_css(d, f"#row-{cid}"))
    assert by_css(moderator, "#tabs .tab.on")[0].text.startswith(words["tab"])
    by_css(moderator, f"#row-{cid}")[0].click()
    wait(moderator, lambda d: current_card(d) == cid)
    box = wait(moderator, lambda d: by_css(d, "#card .ccard .reports"))[0]
    assert words["count"] in box.text
    assert words["reason"] in box.text and "2×" in box.text  # two readers said defamation, one offensive
    assert NOTE[language] in box.text  # the note as written: shown as text, never as markup
    assert not by_css(moderator, "#card .reports b")
    moderator.execute_script("arguments[0].scrollIntoView({block: 'center'})", box)
    assert fits(moderator, width)
    moderator.save_screenshot(shot("reported", language, width))
