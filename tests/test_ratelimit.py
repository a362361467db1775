"""API rate limits over real HTTP: a moving window per key, shared through Redis by every instance."""
from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from moderation.integrations import ratelimit
from tests.conftest import need
from tests.live import api_key, bearer, make_app, serve

REDIS = "redis://127.0.0.1:6379/0"
WINDOW = 2  # seconds; production counts per minute, the rule is the same
LIMIT = 5


@pytest.fixture
def redis_url() -> str:
    import redis  # noqa: PLC0415

    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=0.5).ping()
    except redis.RedisError as exc:
        need(False, f"Redis not reachable at {REDIS}: {exc}")
    return REDIS


def limited_app(db, tmp_path, storage: str):  # noqa: ANN001, ANN201
    """An app whose key limit counts in `storage` per WINDOW seconds, in a namespace of its own."""
    app = make_app(db, tmp_path)
    app.extensions["ratelimit"] = ratelimit.Limiter(storage, window=WINDOW, prefix=f"test-{uuid.uuid4().hex}")
    return app


def shared_by(*apps) -> None:  # noqa: ANN002
    """Point every app at the first one's limiter storage (one Redis namespace, as two instances of one desk)."""
    for app in apps[1:]:
        app.extensions["ratelimit"] = ratelimit.Limiter(apps[0].extensions["ratelimit"].uri, window=WINDOW,
                                                        prefix=apps[0].extensions["ratelimit"].prefix)


def request(http: httpx.Client, url: str, key: str) -> tuple[float, float, int]:
    """(sent, answered, status) of one read on the API."""
    sent = time.time()
    status = http.get(f"{url}/api/v1/decisions", headers=bearer(key), timeout=10).status_code
    return sent, time.time(), status


def most_accepted_in_a_window(answers: list[tuple[float, float, int]]) -> int:
    """The most accepted requests seen wholly within one WINDOW: sent and answered inside it, so the server
    accepted them inside it too, whatever the latency (a lower bound of the true count, never an overestimate)."""
    accepted = [(sent, answered) for sent, answered, status in answers if status == 200]
    return max((sum(1 for s, a in accepted if start <= s and a <= start + WINDOW) for start, _ in accepted), default=0)


def wait_until_window_phase(phase: float) -> None:
    time.sleep((phase - time.time() % WINDOW) % WINDOW)


def test_a_key_hammered_from_threads_through_two_instances_never_exceeds_its_limit(db, tmp_path, redis_url):
    first, second = limited_app(db, tmp_path / "a", redis_url), limited_app(db, tmp_path / "b", redis_url)
    shared_by(first, second)
    key = api_key(db, rate_limit=LIMIT, scopes=("read",))
    answers: list[tuple[float, float, int]] = []
    lock = threading.Lock()

    def hammer(url: str) -> None:
        while time.time() < stop:
            answer = request(http, url, key)
            with lock:
                answers.append(answer)

    with serve(first) as url_a, serve(second) as url_b, httpx.Client() as http, ThreadPoolExecutor(8) as pool:
        wait_until_window_phase(WINDOW - 0.3)  # a fixed window would let LIMIT through now and LIMIT at its turn
        stop = time.time() + 3 * WINDOW
        list(pool.map(hammer, [url_a, url_b] * 4))
    accepted = sum(1 for *_, status in answers if status == 200)
    statuses = sorted({status for *_, status in answers})
    assert statuses == [200, 429], statuses
    assert most_accepted_in_a_window(answers) <= LIMIT, sorted(a for a in answers if a[2] == 200)
    # Nothing starves it: the limit refills. Requests sent before `stop` may be stamped just after a third
    # window has passed since the first ones, so up to four windows' worth can be accepted in three windows' time.
    assert LIMIT * 2 <= accepted <= LIMIT * 4


def test_no_burst_of_twice_the_limit_across_a_window_boundary(db, tmp_path, redis_url):
    """A fixed window lets LIMIT through just before its end and LIMIT more just after: a moving window must not."""
    app = limited_app(db, tmp_path, redis_url)
    with serve(app) as url, httpx.Client() as http, ThreadPoolExecutor(LIMIT) as pool:
        for _attempt in range(3):  # a run slower than the window proves nothing: try again with a new key
            key = api_key(db, rate_limit=LIMIT, scopes=("read",))
            wait_until_window_phase(WINDOW - 0.1)
            start = time.time()
            before = list(pool.map(lambda _, key=key: request(http, url, key), range(LIMIT)))
            time.sleep(max(0.0, start + 0.2 - time.time()))  # just past a fixed window's end
            after = list(pool.map(lambda _, key=key: request(http, url, key), range(LIMIT)))
            if max(answered for _, answered, _ in after) < start + WINDOW:
                break
        else:
            pytest.fail("three runs were each slower than the window: the machine is too busy to prove it")
    assert [status for *_, status in before] == [200] * LIMIT
    assert [status for *_, status in after] == [429] * LIMIT
    assert most_accepted_in_a_window(before + after) == LIMIT


def test_headers_and_retry_after_follow_the_moving_window(db, tmp_path, redis_url):
    app = limited_app(db, tmp_path, redis_url)
    key = api_key(db, rate_limit=2, scopes=("read",))
    client = app.test_client()
    answers = [client.get("/api/v1/decisions", headers=bearer(key)) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert [a.headers["RateLimit-Remaining"] for a in answers] == ["1", "0", "0"]
    assert {a.headers["RateLimit-Limit"] for a in answers} == {"2"}
    assert 1 <= int(answers[2].headers["Retry-After"]) <= WINDOW
    time.sleep(int(answers[2].headers["Retry-After"]))  # the oldest request has left the window
    assert client.get("/api/v1/decisions", headers=bearer(key)).status_code == 200


def test_when_redis_is_down_requests_pass_and_are_counted_per_process():
    """Fail open: an outage refuses nothing the shared count would have let through; one process alone past the
    limit is still stopped."""
    limiter = ratelimit.Limiter("redis://127.0.0.1:9/0", window=WINDOW)  # the discard port: connection refused
    started = time.perf_counter()
    answers = [limiter.hit("k", 3) for _ in range(4)]
    assert [a.allowed for a in answers] == [True, True, True, False]
    assert [a.remaining for a in answers] == [2, 1, 0, 0]
    assert time.perf_counter() - started < 2  # no waiting on a refused connection
    assert limiter.hit("other", 3).allowed
