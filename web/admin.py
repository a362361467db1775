"""Rule tuning for site admins: editor with line-located errors, policy forms, history and rollback,
playground, what-if replay, per-rule statistics."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from sqlalchemy import select

from moderation.learning.calibration import from_decisions
from moderation.assess.pipeline import Item, Pipeline
from moderation.rules import RuleError, compile_ruleset
from moderation.rules.edits import EditError, set_list_entries, set_policy, set_threshold
from moderation.rules.loader import dump_yaml, is_rule_file
from moderation.store.rulestats import rule_stats
from moderation.store import Comment, RuleHit, TriageResult, revisions
from moderation.learning.registry import stored_models, version_scorer
from moderation.store import models_registry as registry
from moderation.services.whatif import replay, with_model
from web.auth import roles
from web.desk import desk
from web.highlight import hit_spans, pieces

bp = Blueprint("admin", __name__, url_prefix="/admin")
LEVELS = ("hold", "reject")


def _active_files() -> tuple[revisions.RuleRevision, dict[str, str]]:
    desk().pipeline  # noqa: B018 - makes sure a first revision exists
    with desk().db.session() as session:
        live = revisions.active(session)
        return live, revisions.files_of(session, live)


def _policy_file(files: dict[str, str]) -> str:
    return next((n for n, t in sorted(files.items()) if is_rule_file(n) and "\npolicy:" in "\n" + t),
                next(n for n in sorted(files) if is_rule_file(n)))


def _save(files: dict[str, str], message: str, activate: bool, parent: int) -> int:
    """Store a new revision (and make it live if asked and its examples pass); raises RuleError if invalid."""
    with desk().db.session() as session:
        revision = revisions.save(session, files, current_user.username, message, parent)
        failures = revisions.failing_examples(session, revision)
    if failures:
        flash(_("Saved, but %(num)s rule examples fail, so it is not active:", num=len(failures)) + " "
              + "; ".join(failures[:5]),
              "error")
    elif activate:
        with desk().db.session() as session:
            revisions.activate(session, revision.id, current_user.username, message)
        desk().rules_changed()
    return revision.id


@bp.get("/")
@roles("admin")
def index():  # noqa: ANN201
    live, files = _active_files()
    ruleset = desk().pipeline.ruleset
    with desk().db.session() as session:
        history = revisions.history(session, 30)
    return render_template("admin/index.html", live=live, ruleset=ruleset, history=history,
                           stats=rule_stats(desk().db), levels=LEVELS,
                           wordlists=sorted(n for n in files if n.startswith("wordlists/")))


@bp.route("/rules/edit", methods=["GET", "POST"])
@roles("admin")
def edit():  # noqa: ANN201
    live, files = _active_files()
    name = request.values.get("file") or _policy_file(files)
    if name not in files and not (name.startswith("wordlists/") and name.endswith(".txt")):
        abort(404)
    text, problems, status = files.get(name, ""), [], 200
    if request.method == "POST":
        text = request.form.get("text", "").replace("\r\n", "\n")
        try:
            if request.form.get("intent") == "check":
                compile_ruleset({**files, name: text}, "draft")
                flash(_("The rule set is valid."), "ok")
            else:
                message = request.form.get("message", "").strip() or f"edit {name}"
                revision = _save({**files, name: text}, message, bool(request.form.get("activate")), live.id)
                flash(_("Saved revision %(id)s.", id=revision), "ok")
                return redirect(url_for("admin.revision", revision_id=revision))
        except RuleError as exc:
            problems, status = _located(exc, name), 422
    return render_template("admin/edit.html", name=name, text=text, files=sorted(files), problems=problems,
                           numbered=list(enumerate(text.splitlines(), start=1)), live=live), status


def _located(exc: RuleError, name: str) -> list[dict]:
    """Problems with the line they are at; those of the edited file first."""
    out = [{"file": path.rsplit("draft/", 1)[-1], "line": line, "rule": rule_id, "message": message}
           for path, line, rule_id, message in exc.problems]
    return sorted(out, key=lambda p: (p["file"] != name, p["line"] or 0))


@bp.post("/rules/check")
@roles("admin")
def check():  # noqa: ANN201
    """htmx: validate the editor's text as it is typed."""
    _live, files = _active_files()
    name = request.form.get("file", "")
    try:
        compile_ruleset({**files, name: request.form.get("text", "").replace("\r\n", "\n")}, "draft")
        problems = []
    except RuleError as exc:
        problems = _located(exc, name)
    return render_template("admin/_problems.html", problems=problems)


@bp.post("/policy")
@roles("admin")
def policy():  # noqa: ANN201
    """The structured form: pre-moderation, reject bar, new-author approvals, thresholds per label."""
    live, files = _active_files()
    name = _policy_file(files)
    text = files[name]
    form = request.form
    try:
        text = set_policy(text, "premoderation", form["premoderation"])
        text = set_policy(text, "reject_at", float(form["reject_at"]))
        text = set_policy(text, "new_author_approvals", int(form["new_author_approvals"]))
        for key, value in form.items():
            if key.startswith("threshold:") and value.strip():
                _prefix, label, level = key.split(":")
                text = set_threshold(text, label, level, float(value))
        revision = _save({**files, name: text}, form.get("message") or "policy and thresholds",
                         bool(form.get("activate")), live.id)
    except (KeyError, ValueError, EditError) as exc:
        flash(_("Not saved: %(error)s", error=exc), "error")
        return redirect(url_for("admin.index"))
    except RuleError as exc:
        flash(_("Not saved, the rule set would be invalid: %(error)s", error=exc), "error")
        return redirect(url_for("admin.index"))
    flash(_("Saved revision %(id)s.", id=revision), "ok")
    return redirect(url_for("admin.revision", revision_id=revision))


@bp.post("/wordlists")
@roles("admin")
def wordlist():  # noqa: ANN201
    live, files = _active_files()
    name = request.form.get("file", "")
    if not (name.startswith("wordlists/") and name.endswith(".txt")):
        abort(400)
    text = set_list_entries(files.get(name, ""), request.form.get("add", "").splitlines(),
                            request.form.get("remove", "").splitlines())
    try:
        revision = _save({**files, name: text}, request.form.get("message") or f"entries of {name}",
                         bool(request.form.get("activate")), live.id)
    except RuleError as exc:
        flash(_("Not saved: %(error)s", error=exc), "error")
        return redirect(url_for("admin.index"))
    flash(_("Saved revision %(id)s.", id=revision), "ok")
    return redirect(url_for("admin.revision", revision_id=revision))


@bp.get("/revisions/<int:revision_id>")
@roles("admin")
def revision(revision_id: int):  # noqa: ANN201
    with desk().db.session() as session:
        rev = session.get(revisions.RuleRevision, revision_id)
        if rev is None:
            abort(404)
        live = revisions.active(session)
        patch = revisions.diff(session, rev)
    return render_template("admin/revision.html", rev=rev, live=live, patch=patch.splitlines())


@bp.post("/revisions/<int:revision_id>/activate")
@roles("admin")
def activate(revision_id: int):  # noqa: ANN201
    try:
        with desk().db.session() as session:
            revisions.activate(session, revision_id, current_user.username, request.form.get("note", ""),
                               force=bool(request.form.get("force")))
    except LookupError:
        abort(404)
    except revisions.ExamplesFail as exc:
        flash(_("Revision %(id)s stays inactive: %(num)s rule examples fail: %(failures)s. "
                "Fix them, or activate anyway.", id=revision_id, num=len(exc.failures),
                failures="; ".join(exc.failures[:5])), "error")
        return redirect(url_for("admin.revision", revision_id=revision_id))
    except RuleError as exc:
        flash(_("Revision %(id)s no longer compiles and stays inactive: %(error)s", id=revision_id, error=exc), "error")
        return redirect(url_for("admin.revision", revision_id=revision_id))
    desk().rules_changed()
    flash(_("Revision %(id)s is now active.", id=revision_id), "ok")
    return redirect(url_for("admin.index"))


def _pipeline_of(revision_id: str | None) -> Pipeline:
    """The pipeline a revision would judge with once live: its own rules, word lists, policy and thresholds."""
    if not revision_id:
        return desk().pipeline
    with desk().db.session() as session:
        rev = session.get(revisions.RuleRevision, int(revision_id))
        if rev is None:
            abort(404)
        ruleset = revisions.compile_revision(session, rev)
        stored = stored_models(session, desk().config)
    return Pipeline.from_config(desk().config, ruleset, stored)  # models are loaded once per process: cheap


@bp.route("/playground", methods=["GET", "POST"])
@roles("admin")
def playground():  # noqa: ANN201
    """A comment (and what it replies to) judged exactly as triage would, by the active or another revision."""
    result = None
    form = request.form
    if request.method == "POST" and form.get("text", "").strip():
        pipeline = _pipeline_of(form.get("revision"))
        reply_to = form.get("reply_to", "").strip() or None
        result = pipeline.assess_one(Item(form["text"], language=form.get("lang") or None,
                                          is_reply=reply_to is not None, parent_text=reply_to))
    with desk().db.session() as session:
        history = revisions.history(session, 30)
    text = form.get("text", "")
    hits = [h.to_dict() for h in result.hits + result.shadow_hits] if result else []
    return render_template("admin/playground.html", result=result, form=form, history=history, hits=hits,
                           pieces=pieces(text, hit_spans(hits)) if result else [])


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    when = datetime.fromisoformat(value)
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


@bp.route("/whatif", methods=["GET", "POST"])
@roles("admin")
def whatif():  # noqa: ANN201
    """Replay a saved revision over stored comments of a period, against the active rules and the moderators."""
    data = None
    form = request.values
    with desk().db.session() as session:
        history = revisions.history(session, 30)
        models = [m.version for m in registry.all_versions(session)]
    if request.method == "POST" and form.get("revision"):
        draft = _pipeline_of(form["revision"])
        if form.get("model"):  # score the texts again with a trained version instead of reusing stored scores
            if form["model"] not in models:
                abort(400)
            with desk().db.session() as session:
                draft = with_model(draft, version_scorer(session, form["model"]))
        data = replay(desk().db, draft, desk().pipeline, since=_when(form.get("since")),
                      until=_when(form.get("until"))).to_dict(with_changes=200)
    return render_template("admin/whatif.html", data=data, form=form, history=history, models=models)


@bp.get("/rules/<rule_id>")
@roles("admin")
def rule(rule_id: str):  # noqa: ANN201
    """One rule: its definition, statistics by week, recent hits; for a shadow rule, what it would change."""
    ruleset = desk().pipeline.ruleset
    spec = next((r.rule for r in ruleset.rules if r.rule.id == rule_id), None)
    stats = next((s for s in rule_stats(desk().db) if s.rule_id == rule_id), None)
    if spec is None and stats is None:
        abort(404)
    recent = []
    effect = {"would_hold": 0, "caught": 0, "false_alarms": 0}
    query = (select(Comment.id, Comment.text, Comment.status, Comment.decided_by_human, TriageResult.decision,
                    TriageResult.hits, TriageResult.shadow_hits)
             .join(RuleHit, RuleHit.triage_id == Comment.triage_id).join(TriageResult, TriageResult.id == RuleHit.triage_id)
             .where(RuleHit.rule_id == rule_id).order_by(Comment.id.desc()))
    with desk().db.session() as session:
        for row in session.execute(query.execution_options(yield_per=1000)):
            hits = [h for h in (row.hits or []) + (row.shadow_hits or []) if h["rule"] == rule_id]
            if spec is not None and spec.status == "experimental" and row.decision == "approve":
                effect["would_hold"] += 1
                if row.decided_by_human and row.status in ("approved", "rejected"):
                    effect["caught" if row.status == "rejected" else "false_alarms"] += 1
            if len(recent) < 25:
                recent.append({"id": row.id, "decision": row.decision, "status": row.status,
                               "human": row.decided_by_human, "pieces": pieces(row.text, hit_spans(hits))})
    definition = dump_yaml(spec.model_dump(mode="json", by_alias=True, exclude_defaults=True,
                                           exclude={"examples"})) if spec else ""
    return render_template("admin/rule.html", spec=spec, stats=stats, recent=recent, effect=effect,
                           definition=definition, weeks=stats.to_dict()["precision_by_week"] if stats else {})


@bp.route("/calibrate", methods=["GET", "POST"])
@roles("admin")
def calibrate():  # noqa: ANN201
    """Suggest per-label thresholds for a target precision from moderators' decisions; save as a revision."""
    target = float(request.values.get("target", 0.9))
    level = request.values.get("level", "hold")
    if level not in LEVELS or not 0 < target <= 1:
        abort(400)
    suggestions = from_decisions(desk().db, target)
    if request.method == "POST":
        live, files = _active_files()
        name = _policy_file(files)
        text = files[name]
        for s in suggestions:
            if s.threshold is not None:
                text = set_threshold(text, s.label, level, s.threshold)
        try:
            revision = _save({**files, name: text}, f"{level} thresholds for precision {target} from decisions",
                             False, live.id)
        except RuleError as exc:
            flash(_("Not saved: %(error)s", error=exc), "error")
            return redirect(url_for("admin.calibrate", target=target, level=level))
        flash(_("Saved revision %(id)s; replay it with what-if before activating.", id=revision), "ok")
        return redirect(url_for("admin.revision", revision_id=revision))
    return render_template("admin/calibrate.html", suggestions=suggestions, target=target, level=level,
                           levels=LEVELS, current=desk().pipeline.ruleset.policy.thresholds)
