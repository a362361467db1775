"""Login, logout, and the role guard: every view is public or names the roles that may use it."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext, ngettext, refresh
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from moderation.store import User
from moderation.domain.messages import LANGUAGES
from moderation.store.accounts import authenticate, set_language
from web.desk import desk

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = lazy_gettext("Please log in.")

HOMES = {"moderator": "queue.index", "admin": "queue.index", "researcher": "research.index"}


@dataclass
class Account(UserMixin):
    """The logged-in user, detached from any database session."""

    id: int
    username: str
    role: str
    language: str | None = None  # the interface language chosen on the account page


def public(view: Callable) -> Callable:
    """Mark a view as open without login (it checks any other credentials itself)."""
    view.public = True
    return view


def roles(*allowed: str) -> Callable[[Callable], Callable]:
    """Mark a view as open to these roles; admins may use every view."""
    def decorate(view: Callable) -> Callable:
        view.roles = frozenset(allowed) | {"admin"}
        return view
    return decorate


def may(role: str, view: Callable) -> bool:
    return role in getattr(view, "roles", ())


def home_for(role: str) -> str:
    endpoint = HOMES.get(role, "auth.login")
    try:
        return url_for(endpoint)
    except Exception:  # noqa: BLE001 - that part of the app is not installed
        return url_for("auth.account")


def _guard() -> None:
    """Deny by default: a view without @public or @roles answers 403 even to a logged-in admin."""
    if request.endpoint is None or request.endpoint == "static" or request.endpoint.endswith(".static"):
        return None
    from flask import current_app  # noqa: PLC0415

    view = current_app.view_functions.get(request.endpoint)
    if view is None or getattr(view, "public", False):
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not hasattr(view, "roles"):
        abort(403)
    if current_user.role not in view.roles:
        abort(403)
    return None


@login_manager.user_loader
def _load(user_id: str) -> Account | None:
    with desk().db.session() as session:
        user = session.get(User, int(user_id))
        return Account(user.id, user.username, user.role, user.language) if user is not None and user.active else None


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    app.before_request(_guard)
    _limit_logins(app)

    @app.context_processor
    def _roles():  # noqa: ANN202
        return {"may": lambda endpoint: current_user.is_authenticated and may(
            current_user.role, app.view_functions.get(endpoint, object()))}


def _account() -> str:
    return "account:" + request.form.get("username", "").strip()[:100]  # the name as authenticate() reads it


def _address() -> str:
    return "address:" + get_remote_address()


def _limit_logins(app: Flask) -> None:
    """Failed logins counted per account and per client address, in RATELIMIT_STORAGE_URI (Redis in production,
    so every process shares them); past a limit every login, even with the right password, is a 429.
    The limits are LOGIN_LIMIT_PER_ACCOUNT and _PER_ADDRESS, from the settings (moderation.config)."""
    # One limiter per app: Flask-Limiter keeps its storage and key prefix on the instance.
    limiter = Limiter(key_func=get_remote_address, strategy="moving-window", headers_enabled=True,
                      in_memory_fallback_enabled=True)  # Redis down: counted per process rather than not at all
    for setting, key, message in (
            ("LOGIN_LIMIT_PER_ACCOUNT", _account, lazy_gettext("Too many failed logins for this account.")),
            ("LOGIN_LIMIT_PER_ADDRESS", _address, lazy_gettext("Too many failed logins from this address."))):
        limiter.limit(lambda setting=setting: current_app.config[setting], key_func=key, methods=["POST"],
                      exempt_when=lambda: request.endpoint != "auth.login", error_message=message,
                      deduct_when=lambda response: response.status_code == 401)(bp)  # only failures count
    limiter.init_app(app)
    app.extensions["login_limiter"] = limiter


@bp.errorhandler(RateLimitExceeded)
def _throttled(exc: RateLimitExceeded):  # noqa: ANN202
    limit = current_app.extensions["login_limiter"].current_limit
    minutes = math.ceil(max(limit.reset_at - time.time(), 1) / 60) if limit else 1
    flash(f"{exc.description} " + ngettext("Try again in %(num)d minute.", "Try again in %(num)d minutes.", minutes),
          "error")
    return render_template("auth/login.html", form=LoginForm()), 429


class LoginForm(FlaskForm):
    username = StringField(lazy_gettext("Username"), validators=[DataRequired(), Length(max=100)])
    password = PasswordField(lazy_gettext("Password"), validators=[DataRequired(), Length(max=200)])


class LanguageForm(FlaskForm):
    """The account page's language choice (the select is in the template: the CSRF token is what the form checks)."""


def _safe_next(target: str | None) -> str | None:
    # Only paths on this site: an absolute "next" would make the login page an open redirect.
    if not target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc and target.startswith("/") else None


@bp.route("/login", methods=["GET", "POST"])
@public
def login():  # noqa: ANN201
    form = LoginForm()
    if form.validate_on_submit():
        with desk().db.session() as session:
            user = authenticate(session, form.username.data, form.password.data)
            account = Account(user.id, user.username, user.role, user.language) if user else None
        if account is not None:
            login_user(account)
            return redirect(_safe_next(request.args.get("next")) or home_for(account.role))
        flash(_("Unknown user or wrong password."), "error")
    status = 401 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
@roles("moderator", "researcher")
def logout():  # noqa: ANN201
    logout_user()
    return redirect(url_for("auth.login"))


@bp.route("/account", methods=["GET", "POST"])
@roles("moderator", "researcher")
def account():  # noqa: ANN201
    """Who is logged in, and the interface language they chose (or the browser's)."""
    form = LanguageForm()
    if form.validate_on_submit():
        chosen = request.form.get("language") if request.form.get("language") in LANGUAGES else None
        with desk().db.session() as session:
            set_language(session, current_user.username, chosen)
        current_user.language = chosen  # this request already loaded the account; the flash is in the new language
        refresh()
        flash(_("Language saved."), "ok")
        return redirect(url_for("auth.account"))
    return render_template("auth/account.html", form=form)
