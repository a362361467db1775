"""Exactly one decision wins, over real HTTP: the desk as deployed (gunicorn with worker processes and threads, on
PostgreSQL) and `moderation serve` (on SQLite) run as subprocesses on loopback, and eight logged-in clients race
on each comment with approve, reject, reject-with-replies, a batch (web/batch.py) and undo, each posting the `seen` its page showed."""
from __future__ import annotations

import importlib.util
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable, Iterator

import pytest
import requests
from sqlalchemy import select, update

from moderation.store import Database
from moderation.store.accounts import add_user
from moderation.store.models import Comment, Decision
from tests.conftest import ROOT, RULES, fresh_postgres, need
from tests.test_decision_race import replays
from tests.test_store import batch, load

pytestmark = pytest.mark.slow
CLIENTS = 8  # per comment, released together; client i is logged in as MODS[i % 2] (four tabs each)
COMMENTS = 20  # raced, each with a reply and a reply to that (for reject-with-replies)
MODS = ("mod-a", "mod-b")
PASSWORD = "race-pass-123"
TIMEOUT = 10  # seconds, on every request
# Round one, on a held comment: client i takes ROUND_ONE[(i + k) % 8] on the k-th comment.
ROUND_ONE = ("approve", "reject", "replies", "bulk-approve", "approve", "reject", "bulk-reject", "replies")
# Round two, after that decision: the winner's account undoes it (twice) while everyone decides again.
ROUND_TWO = {True: ("undo", "undo", "decide", "stale"), False: ("decide", "bulk", "replies", "decide")}
REFUSED = re.compile(r"first; it is now|changed since you saw it|decided again since|is already undone|"
                     r"skipped \(decided by someone else meanwhile\)")


@dataclass
class Outcome:
    cid: int
    seen: int  # the comment's version the client's page showed (the stale client: its older view)
    role: str
    status: int
    won: bool
    message: str
    decisions: list[int] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running(command: list[str], port: str, env: dict[str, str], log: Path) -> Iterator[str]:
    """The server as a subprocess (its own process group) until ready; killed afterwards, also on failure."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MODERATION_SECRET_KEY": secrets.token_hex(16),
           "MODERATION_SCORERS": "lexicon", "MODERATION_RULES_PATH": str(RULES), **env}
    with log.open("wb") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    probe = requests.Session()
    probe.trust_env = False  # loopback only: no proxy from the environment
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"server exited ({proc.returncode}):\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"server not ready in 60 s:\n{log.read_text()[-3000:]}"
            try:
                if probe.get(f"{url}/login", timeout=2).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or its workers still loading
                pass
            time.sleep(0.2)
        yield url
    finally:
        proc.send_signal(signal.SIGINT)  # gunicorn's quick shutdown; the dev server's Ctrl-C
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # whatever of its group is left (a worker that hung)
        except ProcessLookupError:
            pass
        proc.wait(5)


def prepare(url: str) -> list[int]:
    """Held comments with two replies each, on an article each, and the moderators' accounts; the raced ids."""
    db = Database(url)
    try:
        for k in range(COMMENTS):
            load(db, batch([(f"c{k}", None, f"Kommentar {k}"), (f"c{k}r", f"c{k}", "Antwort"),
                            (f"c{k}rr", f"c{k}r", "Antwort darauf")], article=f"a{k}"))
        with db.session() as s:
            s.execute(update(Comment).values(status="held"))
            for name in MODS:
                add_user(s, name, PASSWORD, "moderator")
            return list(s.scalars(select(Comment.id).where(Comment.parent_id.is_(None)).order_by(Comment.id)))
    finally:
        db.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def desk(request, tmp_path):  # noqa: ANN001, ANN201
    """(database URL, server URL, raced comment ids): the server on a fresh database."""
    port = str(free_port())
    env = {"MODERATION_INSTANCE_PATH": str(tmp_path)}
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'race.db'}"
        ids = prepare(url)
        with running([sys.executable, "-m", "moderation", "serve", "--port", port], port,
                     {**env, "MODERATION_DATABASE_URL": url}, tmp_path / "serve.log") as base:
            yield url, base, ids
        return
    need(importlib.util.find_spec("gunicorn") is not None, "gunicorn is not installed")
    with fresh_postgres() as url:
        ids = prepare(url)
        # As deployed (deploy/Procfile): the gunicorn settings file and entry point, three processes, threads.
        with running([sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "web:create_app()"], port,
                     {**env, "MODERATION_DATABASE_URL": url, "MODERATION_BIND": f"127.0.0.1:{port}",
                      "MODERATION_WEB_WORKERS": "3", "MODERATION_WEB_THREADS": "4"},
                     tmp_path / "gunicorn.log") as base:
            yield url, base, ids


class Client:
    """One browser tab of a logged-in moderator: its own cookie session, CSRF tokens from the pages."""

    def __init__(self, base: str, user: str) -> None:
        self.base, self.user, self.http = base, user, requests.Session()
        self.http.trust_env = False  # loopback only: no proxy from the environment
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', self.get("/login")).group(1)
        r = self.send("POST", "/login", data={"username": user, "password": PASSWORD, "csrf_token": token},
                      allow_redirects=False)
        assert r.status_code == 302 and "/login" not in r.headers["Location"], (user, r.status_code)

    def send(self, method: str, path: str, **kwargs: object) -> requests.Response:
        r = self.http.request(method, self.base + path, timeout=TIMEOUT, **kwargs)
        for cookie in self.http.cookies:  # production's Secure cookies go back over this plain loopback hop,
            cookie.secure = False  # as they do from the browser through the deployment's TLS proxy
        return r

    def get(self, path: str, **params: object) -> str:
        r = self.send("GET", path, params=params)
        assert r.status_code == 200, (path, r.status_code)
        return r.text

    def post(self, path: str, data: dict, *, json: bool = True) -> requests.Response:
        return self.send("POST", path, data=data, headers={"Accept": "application/json"} if json else {})

    def card(self, cid: int) -> dict:
        """What the comment's card shows: its version (`seen`), its status, the form's CSRF token."""
        page = self.get(f"/queue/comments/{cid}", fragment=1)
        seen, status = re.search(rf'id="card-{cid}" data-id="{cid}" data-seen="(\d+)" data-status="(\w+)"',
                                 page).groups()
        return {"seen": int(seen), "status": status, "csrf": re.search(r'name="csrf_token" value="([^"]+)"',
                                                                       page).group(1)}


def plan(client: Client, cid: int, role: str, undo_ids: list[int], older: int) -> Callable[[], Outcome]:
    """Read the pages a moderator would (before the barrier); the returned call makes the one POST."""
    view = client.card(cid)
    seen = view["seen"]
    role, _, action = role.partition("-")
    action = action or {"approve": "approve", "reject": "reject", "replies": "reject"}.get(role) or (
        "reject" if view["status"] == "approved" else "approve")  # "decide", "stale": change what it shows
    if role == "bulk":  # the batch view (web/batch.py), restricted to this comment in its queue
        queue = {"held": "pending", "approved": "approved", "rejected": "rejected"}[view["status"]]
        page = client.get("/batch/", ids=cid, queue=queue)
        form = {**dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page)),
                "include": re.findall(r'name="include" value="([\d:]+)"', page), "action": action,
                "reason": "offensive"}

        def fire() -> Outcome:
            r = client.post("/batch/apply", form, json=False)
            message = re.search(r'id="batch-result"[^>]*>([^<]*)<', r.text)
            message = message.group(1) if message else r.text[-300:]
            undo = re.search(r'data-decisions="([\d,]+)"', r.text)
            won = r.status_code == 200 and re.search(r" 1 comments?\b", message) is not None  # "1 comment"
            return Outcome(cid, seen, role, r.status_code, won,
                           message, [int(x) for x in undo.group(1).split(",")] if undo else [])
        return fire
    if role == "undo":
        path, data = "/queue/undo", {"decisions": ",".join(map(str, undo_ids))}
    else:
        if role == "stale":  # a tab still showing the comment as it was before the first round
            seen = older
        path = f"/queue/comments/{cid}/decide"
        data = {"action": action, "seen": seen, "reason": "offensive",
                **({"with_replies": "1"} if role == "replies" else {})}

    def fire() -> Outcome:
        r = client.post(path, {**data, "csrf_token": view["csrf"]})
        try:
            body = r.json()
        except ValueError:  # not the app's answer (a server error page): reported with the others below
            body = {"error": r.text[-500:]}
        return Outcome(cid, seen, role, r.status_code, r.status_code == 200, body.get("error") or body["message"],
                       body.get("decisions", []))
    return fire


def race(plans: list[Callable[[], Callable[[], Outcome]]]) -> list[Outcome]:
    """Each client reads its pages, then all POST at once (released by a barrier)."""
    barrier = threading.Barrier(len(plans), timeout=TIMEOUT * 2)
    out: list = [None] * len(plans)

    def run(i: int) -> None:
        try:
            fire = plans[i]()
            barrier.wait()
            out[i] = fire()
        except Exception as exc:  # noqa: BLE001 - reported below
            barrier.abort()
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(plans))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT * 4)
    assert all(isinstance(o, Outcome) for o in out), out
    return out


def test_exactly_one_decision_wins_per_comment_and_seen_version(desk):
    url, base, ids = desk
    clients = [Client(base, MODS[i % 2]) for i in range(CLIENTS)]
    outcomes: list[Outcome] = []
    for k, cid in enumerate(ids):
        first = race([partial(plan, c, cid, ROUND_ONE[(i + k) % CLIENTS], [], 0) for i, c in enumerate(clients)])
        winner = next((o for o in first if o.won), None)
        assert winner is not None, first
        mine = MODS[first.index(winner) % 2]
        roles = {True: iter(ROUND_TWO[True]), False: iter(ROUND_TWO[False])}
        second = race([partial(plan, c, cid, next(roles[c.user == mine]), winner.decisions, winner.seen)
                       for c in clients])
        outcomes += first + second

    winners = Counter((o.cid, o.seen) for o in outcomes if o.won)
    twice = sorted({cid for (cid, _), n in winners.items() if n > 1})
    assert not twice, (f"{len(twice)} of {len(ids)} comments decided more than once for one seen version: "
                       f"{[o for o in outcomes if o.won and winners[o.cid, o.seen] > 1]}")
    assert set(winners) == {(o.cid, o.seen) for o in outcomes if o.role != "stale"}  # every round had a winner
    for o in outcomes:
        if not o.won:  # refused with the clear message: 409 for a decision or undo, a note on the bulk page
            assert o.status == (200 if o.role == "bulk" else 409) and REFUSED.search(o.message), o
    assert all(not o.won for o in outcomes if o.role == "stale")

    db = Database(url)
    try:
        replays(db)
        with db.session() as s:
            logged = Counter(s.scalars(select(Decision.comment_id).where(Decision.comment_id.in_(ids))))
        assert logged == Counter(o.cid for o in outcomes if o.won)  # no decision a client was not told about
    finally:
        db.dispose()
