"""The admin page for a site's integrations: API keys (shown once), webhook endpoints, the delivery log."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectMultipleField, StringField
from wtforms.validators import URL, DataRequired, Length, NumberRange, Optional

from moderation.store import apikeys, webhooks
from moderation.store.events import TYPES
from web.auth import roles
from web.desk import desk

bp = Blueprint("integrations", __name__, url_prefix="/integrations")


class KeyForm(FlaskForm):
    site = StringField(lazy_gettext("Site"), validators=[DataRequired(), Length(max=200)])
    label = StringField(lazy_gettext("Label"), validators=[Optional(), Length(max=200)])
    rate_limit = IntegerField(lazy_gettext("Requests per minute"), validators=[Optional(), NumberRange(min=1)])
    scopes = SelectMultipleField(lazy_gettext("Scopes"), choices=list(apikeys.SCOPES),
                                 default=list(apikeys.DEFAULT_SCOPES))


class EndpointForm(FlaskForm):
    site = StringField(lazy_gettext("Site"), validators=[DataRequired(), Length(max=200)])
    url = StringField(lazy_gettext("URL"), validators=[DataRequired(), URL(require_tld=False), Length(max=2000)])
    events = SelectMultipleField(lazy_gettext("Events (none: all)"), choices=list(TYPES))


class ActionForm(FlaskForm):
    """Revoke and remove buttons: nothing but the CSRF token."""


def _page(shown: dict | None = None, status: int = 200, **forms: FlaskForm):  # noqa: ANN202
    with desk().db.session() as session:
        keys = apikeys.keys(session)
        endpoints = webhooks.endpoints(session)
        deliveries = webhooks.log(session, limit=25)
        page = render_template("integrations/index.html", keys=keys, endpoints=endpoints, deliveries=deliveries,
                               key_form=forms.get("key_form") or KeyForm(formdata=None),
                               endpoint_form=forms.get("endpoint_form") or EndpointForm(formdata=None),
                               action_form=ActionForm(), shown=shown)
    return page, status


@bp.get("/")
@roles("admin")
def index():  # noqa: ANN201
    return _page()


@bp.post("/keys")
@roles("admin")
def add_key():  # noqa: ANN201
    form = KeyForm()
    if not form.validate_on_submit():
        return _page(status=400, key_form=form)
    try:
        with desk().db.session() as session:
            key, plain = apikeys.create(session, form.site.data, label=form.label.data or None,
                                        scopes=tuple(form.scopes.data), rate_limit=form.rate_limit.data)
            shown = {"what": _("API key %(id)s for site %(site)s", id=key.id, site=key.site), "value": plain}
    except apikeys.ApiKeyError as exc:
        form.site.errors.append(str(exc))
        return _page(status=400, key_form=form)
    # Rendered, never flashed: the flash message would sit in the session cookie.
    return _page(shown)


@bp.post("/keys/<int:key_id>/revoke")
@roles("admin")
def revoke_key(key_id: int):  # noqa: ANN201
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        with desk().db.session() as session:
            key = apikeys.revoke(session, str(key_id))
            flash(_("Revoked key %(id)s (%(prefix)s…) of %(site)s.", id=key.id, prefix=key.prefix, site=key.site))
    except apikeys.ApiKeyError:
        abort(404)
    current_app.extensions["api_keys"].clear()  # at once here; other processes within KEY_CACHE_SECONDS
    return redirect(url_for(".index"))


@bp.post("/webhooks")
@roles("admin")
def add_endpoint():  # noqa: ANN201
    form = EndpointForm()
    if not form.validate_on_submit():
        return _page(status=400, endpoint_form=form)
    try:
        with desk().db.session() as session:
            endpoint = webhooks.add_endpoint(session, form.site.data, form.url.data,
                                             event_types=tuple(form.events.data or ()))
            shown = {"what": _("signing secret of endpoint %(id)s (%(url)s)", id=endpoint.id, url=endpoint.url),
                     "value": endpoint.secret}
    except webhooks.WebhookError as exc:
        form.url.errors.append(str(exc))
        return _page(status=400, endpoint_form=form)
    return _page(shown)


@bp.post("/webhooks/<int:endpoint_id>/remove")
@roles("admin")
def remove_endpoint(endpoint_id: int):  # noqa: ANN201
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        with desk().db.session() as session:
            webhooks.deactivate(session, endpoint_id)
    except webhooks.WebhookError:
        abort(404)
    flash(_("Removed webhook endpoint %(id)s.", id=endpoint_id))
    return redirect(url_for(".index"))
