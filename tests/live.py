"""Helpers for the live API tests: an app on a test database, keys, a real loopback server, a webhook receiver,
and a deep scorer that stands in for a slow model."""
from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from typing import Iterator

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from moderation.config import Config
from moderation.scoring import LABELS, REGISTRY
from moderation.store.apikeys import create
from tests.conftest import RULES

SITE = "example-news"


class DeepScorer:
    """A "slow" scorer for tests: very toxic when the text says "deepbad", fails when it says "deepfail"."""

    name = "fake-deep"
    version = "fake-deep-1"
    labels = LABELS

    def __init__(self, *_: object) -> None:
        pass

    def score(self, texts, languages=None):  # noqa: ANN001, ANN201
        if any("deepfail" in t for t in texts):
            raise RuntimeError("model server unreachable")
        return [dict.fromkeys(LABELS, 0.99 if "deepbad" in t else 0.01) for t in texts]


REGISTRY["fake-deep"] = DeepScorer


def config(db, tmp_path, **overrides: object) -> Config:  # noqa: ANN001
    return Config(database_url=db.url, instance_path=tmp_path, rules_path=RULES, **overrides)


def make_app(db, tmp_path, **overrides: object):  # noqa: ANN001, ANN201
    from web import create_app  # noqa: PLC0415

    return create_app(config(db, tmp_path, **overrides), TESTING=True)


def api_key(db, site: str = SITE, **kwargs: object) -> str:  # noqa: ANN001
    with db.session() as session:
        return create(session, site, **kwargs)[1]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@contextmanager
def serve(app) -> Iterator[str]:  # noqa: ANN001
    """The WSGI app on a loopback port, threaded, for clients that speak real HTTP."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


class Receiver:
    """A webhook endpoint on loopback: records each POST and answers with the next of `statuses`."""

    def __init__(self, statuses: tuple[int, ...] = (200,)) -> None:
        self.statuses = list(statuses)
        self.received: list[dict] = []
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):  # noqa: ANN001, ANN204
        request = Request(environ)
        body = request.get_data()
        with self._lock:
            status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
            self.received.append({"path": request.path, "headers": dict(request.headers), "body": body, "json": json.loads(body),
                                  "answered": status})
        return Response("ok", status=status)(environ, start_response)

    def delivered(self) -> list[dict]:
        return [r["json"] for r in self.received if 200 <= r["answered"] < 300]
