"""The research page: researchers (and admins) only, the report's charts and tables, filters, CSV downloads."""
from __future__ import annotations

import csv
import io
import re
import sys

import pytest

from moderation.config import Config
from moderation.importers import parse_batches
from moderation.assess.pipeline import Pipeline
from moderation.services.jobs import triage_stored
from moderation.store.accounts import add_user
from moderation.store.loading import load_batch
from tests.conftest import RULES, SAMPLES
from tests.test_web_auth import login
from web import create_app
from web import research
from moderation.research import aggregates
from moderation.research.pseudonyms import for_config


@pytest.fixture
def app(db, tmp_path):
    config = Config(database_url=db.url, instance_path=tmp_path, rules_path=RULES)
    with db.session() as s:
        for name in ("de_thread.jsonl", "en_thread.jsonl"):
            for batch in parse_batches(SAMPLES / name):
                load_batch(s, batch)
        add_user(s, "re", "researcher-pass", "researcher")
        add_user(s, "mo", "moderator-pass", "moderator")
    triage_stored(db, Pipeline.from_config(config))
    aggregates.refresh(db, for_config(config))  # what the workers do after a triage
    research._filtered.clear()
    return create_app(config, TESTING=True)


@pytest.fixture
def researcher(app):
    client = app.test_client()
    login(client, "re", "researcher-pass")
    return client


def figure(page: str, label: str) -> str:
    return re.search(rf'<span class="muted">{label}</span><b>([^<]+)</b>', page).group(1)


def test_research_page_is_for_researchers_and_admins(app):
    client = app.test_client()
    assert client.get("/research/").status_code in (302, 401)
    login(client, "mo", "moderator-pass")
    assert client.get("/research/").status_code == 403
    assert client.get("/research/tables/by_depth.csv").status_code == 403


def test_research_page_shows_charts_tables_and_figures(researcher):
    response = researcher.get("/research/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'data-chart="spec-timeseries"' in page and 'data-chart="spec-by_depth"' in page  # drawn by uPlot
    assert 'src="data:image/png' not in page  # static images are for the exported report only
    assert figure(page, "comments") == "63" and figure(page, "articles") == "2"
    assert 'id="table-reply_network"' in page and 'id="table-topics"' in page
    assert "<script>" not in page  # CSP: no inline scripts
    rules = re.search(r'id="table-rules".*?</section>', page, re.S).group(0)
    assert "personal-attack" in rules and "no-video-links" in rules  # rule hits read from the stored evidence
    assert "Lagerist_a.D." not in page and "Wahrheitssucher2026" not in page  # authors only as pseudonyms
    assert re.search(r"<td[^>]*>u-[0-9a-f]{16}</td>", page)


def english(db) -> int:
    from sqlalchemy import func, select

    from moderation.store import Comment

    with db.session() as s:
        return s.scalar(select(func.count()).where(Comment.language == "en"))


def test_filters_by_language_article_and_period(researcher, db):
    en = researcher.get("/research/?language=en").get_data(as_text=True)
    assert 15 < english(db) <= 21  # detected per comment: an emoji-only reply is not English
    assert figure(en, "comments") == str(english(db)) and '<option value="en" selected>' in en
    de = researcher.get("/research/?article=a-de-1").get_data(as_text=True)
    assert figure(de, "comments") == "42"
    day = researcher.get("/research/?from=2026-10-29&to=2026-10-29").get_data(as_text=True)
    assert 0 < int(figure(day, "comments")) < 63
    assert "No comments match" in researcher.get("/research/?from=2030-01-01").get_data(as_text=True)
    assert researcher.get("/research/?from=yesterday").status_code == 400


def test_table_download_follows_the_filters(researcher, db):
    response = researcher.get("/research/tables/by_depth.csv?language=en")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert sum(int(r["comments"]) for r in rows) == english(db)
    assert researcher.get("/research/tables/nonsense.csv").status_code == 404


def test_research_page_needs_no_chart_extra_on_the_web_node(researcher, monkeypatch):
    """The page's charts are drawn in the browser from the stored figures: a web node without matplotlib serves it."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if matplotlib were not installed
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    response = researcher.get("/research/")
    assert response.status_code == 200 and 'data-chart="spec-by_depth"' in response.get_data(as_text=True)


def test_a_filtered_view_without_its_extra_says_what_to_install(researcher, monkeypatch):
    """An article filter is computed on request; where that needs an extra that is missing, the page names it."""
    def missing(*args, **kwargs):
        raise research.MissingExtra("Sentiment needs pip install 'moderation-desk[research]'")

    monkeypatch.setattr(research, "compute", missing)
    response = researcher.get("/research/?article=a-de-1")
    page = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "pip install &#39;moderation-desk[research]&#39;" in page or "pip install 'moderation-desk[research]'" in page
    assert "Traceback" not in page
