"""The site's own model for admins: what is active, retraining from moderators' decisions, old vs new, activation."""
from __future__ import annotations

import re
from pathlib import PurePath

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from moderation.learning import training as learning, sitemodel
from moderation.learning.curve import published
from moderation.learning.registry import active_scorer
from moderation.research import aggregates
from moderation.store import models_registry as registry
from moderation.worker import tasks
from web import charts
from web.auth import roles
from web.desk import desk

bp = Blueprint("sitemodel", __name__, url_prefix="/admin/model")
# An absolute or home-relative path, or one with a folder: the page names files, never where they lie.
PATH = re.compile(r"(?:~|\.{1,2})?/(?:[^\s/'\"]+/)*[^\s/'\"]*|\b(?:[\w.-]+/)+[\w.-]+\.\w+")


def without_paths(text: str) -> str:
    """The text with every filesystem path replaced by its file name."""
    return PATH.sub(lambda m: PurePath(m.group(0)).name or "…", text)


def _active_card() -> dict:
    try:
        with desk().db.session() as session:
            scorer = active_scorer(session, desk().config)
    except (OSError, ValueError, KeyError) as exc:
        return {"error": _("Cannot load the active model: %(error)s", error=without_paths(str(exc)))}
    if scorer is None:
        return {"error": _("No model is active and none is shipped.")}
    # Named as the queue cards name it: the scorer's version, which every triage result records.
    return {**scorer.card, "name": scorer.version, "sources": [{"name": s.get("name"), "licence": s.get("licence")}
                                                                for s in scorer.card.get("sources", [])]}


def _accuracy(versions: list[dict]) -> tuple[list[dict], dict | None, dict | None, dict]:
    """Each version's held-out accuracy (card and this site), the risk order's AUC, and the figures' state."""
    stored, state = aggregates.read(desk().db, aggregates.MODELS)
    risk, _state = aggregates.read(desk().db, aggregates.RISK_ORDER)
    if state["stale"]:
        state["refresh"] = tasks.request_refresh()
    rows = list((stored or {}).get("versions", []))
    known = {r.get("registry") for r in rows}
    for v in versions:  # trained since the last refresh: its comparison measured it on the same held-out decisions
        if v["version"] not in known:
            site = (v.get("metrics") or {}).get("candidate")
            rows.append({"version": v["version"], "registry": v["version"], "card": None, "site": site,
                         "pending": True})
    return rows, (stored or {}).get("heldout"), risk, state


@bp.get("/")
@roles("admin")
def index():  # noqa: ANN201
    with desk().db.session() as session:
        versions = [r.to_dict() for r in registry.all_versions(session)]
        log = registry.history(session)
    shown = next((v for v in versions if v["version"] == request.args.get("version")), None)
    if shown and shown.get("metrics"):
        data = shown["metrics"].get("data") or ""
        shown["data_name"] = _("held-out decisions") if data == "held-out decisions" else PurePath(data).name
    decided, held = sitemodel.decision_counts(desk().db)
    accuracy, heldout, risk, state = _accuracy(versions)
    curve = published()
    return render_template("sitemodel/index.html", active=_active_card(), versions=versions, shown=shown,
                           decided=decided, held=held, minimum=sitemodel.MIN_TRAINING, log=log, curve=curve,
                           curve_spec=charts.learning_curve(curve), accuracy=accuracy, heldout=heldout, risk=risk,
                           state=state)


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
