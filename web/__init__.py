"""The web app: create_app() builds Flask around the moderation core; blueprints are named after modules."""
from __future__ import annotations

import importlib
import pkgutil
import time
from pathlib import Path
from typing import IO

import flask
from flask import Flask, g, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream, get_input_stream

from moderation.config import Config
from web.desk import Desk

csrf = CSRFProtect()

SECURITY_HEADERS = {
    # Comment text is untrusted: no inline script may run, and nothing loads from elsewhere.
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


class _CappedStream(LimitedStream):
    """Reads up to the limit like werkzeug's, but a body that goes on past it is a 413, not quietly cut."""

    def readall(self) -> bytes:
        data = super().readall()
        if self.is_exhausted and self._stream.read(1):
            raise RequestEntityTooLarge()
        return data


class Request(flask.Request):
    """Flask's request, with max_content_length enforced on bodies sent without a length (chunked)."""

    @cached_property
    def stream(self) -> IO[bytes]:
        stream = get_input_stream(self.environ, max_content_length=self.max_content_length)  # checks a length
        if isinstance(stream, LimitedStream) and "wsgi.input_terminated" in self.environ:
            # The server ends the input at the body's end, so reading one byte more cannot block.
            return _CappedStream(self.environ["wsgi.input"], stream.limit, is_max=True)
        return stream


def create_app(config: Config | None = None, **settings: object) -> Flask:
    """The app for one desk: the settings object (moderation.config), then Flask settings given here (tests)."""
    config = config or Config.from_env()
    app = Flask(__name__, instance_path=str(config.instance_path.resolve()), instance_relative_config=True)
    app.request_class = Request
    if (Path(app.instance_path) / "config.py").exists():
        # It used to be read here; ignoring it quietly would drop whatever the site set in it.
        raise RuntimeError(f"{app.instance_path}/config.py is no longer read: move its settings to MODERATION_* "
                           "variables, .env or the MODERATION_CONFIG_FILE (README, Configuration)")
    redis = config.effective_redis_url
    app.config.from_mapping(
        SECRET_KEY=None, WTF_CSRF_TIME_LIMIT=None, MAX_CONTENT_LENGTH=2**20,
        # The session also holds the CSRF token. Secure: None means only in production (neither debug nor testing).
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=config.session_cookie_secure,
        REMEMBER_COOKIE_HTTPONLY=True, REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=config.session_cookie_secure,
        # Login limits (web/auth.py) count in Redis when the desk has one, so every process shares them.
        LOGIN_LIMIT_PER_ACCOUNT=config.login_limit_per_account, LOGIN_LIMIT_PER_ADDRESS=config.login_limit_per_address,
        RATELIMIT_STORAGE_URI=config.ratelimit_storage_uri or redis or "memory://", RATELIMIT_KEY_PREFIX=config.task_queue,
        RATELIMIT_STORAGE_OPTIONS={"socket_timeout": 0.5, "socket_connect_timeout": 0.5} if redis else {},
        TRUSTED_PROXIES=config.trusted_proxies, BABEL_DEFAULT_LOCALE=config.babel_default_locale,
        BABEL_DEFAULT_TIMEZONE=config.babel_default_timezone)
    app.config.update(settings)
    for name in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"):
        if app.config[name] is None:
            app.config[name] = not (app.debug or app.testing)
    if app.config["TRUSTED_PROXIES"]:  # the client's address for login limits is the proxies' X-Forwarded-For
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=int(app.config["TRUSTED_PROXIES"]))
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = config.session_secret()
    app.extensions["desk"] = Desk(config)

    csrf.init_app(app)
    from web import auth, i18n  # noqa: PLC0415 - the guard and login manager come first

    i18n.init_app(app)

    auth.init_app(app)
    for module in pkgutil.iter_modules(__path__):
        mod = importlib.import_module(f"{__name__}.{module.name}")
        blueprint = getattr(mod, "bp", None)
        if blueprint is not None:
            app.register_blueprint(blueprint)

    app.jinja_env.globals["has_endpoint"] = lambda name: name in app.view_functions

    @app.errorhandler(403)
    def _forbidden(_error):  # noqa: ANN001, ANN202
        return render_template("errors/403.html"), 403

    def _cpu_start() -> None:
        g.cpu_start, g.wall_start = time.thread_time(), time.perf_counter()

    app.before_request_funcs.setdefault(None, []).insert(0, _cpu_start)  # first, so every hook is counted

    @app.after_request
    def _headers(response):  # noqa: ANN001, ANN202
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        if request.path.startswith("/api/") and "cpu_start" in g:
            # This request's CPU time in its worker thread (a load-independent cost for the CMS and benchmarks),
            # and its wall time inside the app: what is left of a client's wait was spent before the app saw it.
            response.headers["Server-Timing"] = (f"cpu;dur={(time.thread_time() - g.cpu_start) * 1000:.2f}, "
                                                 f"app;dur={(time.perf_counter() - g.wall_start) * 1000:.2f}")
        return response

    @app.get("/")
    @auth.public
    def index():  # noqa: ANN202
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login"))
        return redirect(auth.home_for(current_user.role))

    return app
