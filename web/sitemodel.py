"""The site's own model for admins: what is active, retraining from moderators' decisions, old vs new, activation."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from moderation.learning import training as learning, sitemodel
from moderation.learning.curve import published
from moderation.learning.registry import active_scorer
from moderation.store import models_registry as registry
from web.auth import roles
from web.desk import desk

bp = Blueprint("sitemodel", __name__, url_prefix="/admin/model")


def _active_card() -> dict:
    try:
        with desk().db.session() as session:
            scorer = active_scorer(session, desk().config)
    except (OSError, ValueError, KeyError) as exc:
        return {"error": f"cannot load the active model: {exc}"}
    return {**scorer.card, "scorer_version": scorer.version} if scorer else {"error": "no model active and none shipped"}


@bp.get("/")
@roles("admin")
def index():  # noqa: ANN201
    with desk().db.session() as session:
        versions = [r.to_dict() for r in registry.all_versions(session)]
        log = registry.history(session)
    shown = next((v for v in versions if v["version"] == request.args.get("version")), None)
    decided, held = sitemodel.decision_counts(desk().db)
    return render_template("sitemodel/index.html", active=_active_card(), versions=versions, shown=shown,
                           decided=decided, held=held, minimum=sitemodel.MIN_TRAINING, log=log, curve=published())


@bp.post("/train")
@roles("admin")
def train():  # noqa: ANN201
    """Train on the decisions, then compare with the active model on the held-out ones; nothing goes live."""
    d = desk()
    try:
        version = sitemodel.train(d.db, d.config, d.pipeline.ruleset, from_decisions=True,
                                  actor=current_user.username)["version"]
    except (sitemodel.SiteModelError, learning.DataError) as exc:
        flash(_("Not trained: %(error)s", error=exc), "error")
        return redirect(url_for("sitemodel.index"))
    try:
        sitemodel.compare(d.db, d.config, version)
    except (sitemodel.SiteModelError, learning.DataError) as exc:
        flash(_("Trained %(version)s, but it could not be compared: %(error)s", version=version, error=exc), "error")
    return redirect(url_for("sitemodel.index", version=version))


@bp.post("/<version>/activate")
@roles("admin")
def activate(version: str):  # noqa: ANN201
    try:
        sitemodel.activate(desk().db, version, current_user.username)
    except sitemodel.SiteModelError as exc:
        flash(_("Not activated: %(error)s", error=exc), "error")
        return redirect(url_for("sitemodel.index", version=version))
    desk().models_changed()
    flash(_("%(version)s is now the active model; new comments are scored with it.", version=version), "ok")
    return redirect(url_for("sitemodel.index"))


@bp.post("/rollback")
@roles("admin")
def rollback():  # noqa: ANN201
    """Back to the model active before the newest activation; every process follows within seconds."""
    try:
        version = sitemodel.rollback(desk().db, current_user.username)
    except sitemodel.SiteModelError as exc:
        flash(_("Not rolled back: %(error)s", error=exc), "error")
        return redirect(url_for("sitemodel.index"))
    desk().models_changed()
    flash(_("Rolled back: %(version)s is the active model again.", version=version or _("the shipped model")), "ok")
    return redirect(url_for("sitemodel.index"))
