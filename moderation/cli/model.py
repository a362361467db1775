"""`moderation model train|evaluate|activate|rollback|list`: a site's own classifier, measured before it is used.

Versions live in the database (bytes, card, metrics); activation reaches every web and worker process within
seconds. MODERATION_MODEL_PATH overrides the registry; with nothing active the shipped model scores."""
from __future__ import annotations

from pathlib import Path

import click

from moderation.cli import State, emit, fail, main, pass_state
from moderation.cli.language import _


@main.group()
def model() -> None:
    """Train, evaluate, activate and list toxicity models."""


@model.command()
@click.option("--data", "data_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Labelled CSV/TSV/JSONL with text and label columns (repeatable).")
@click.option("--from-decisions", is_flag=True, help="Learn from moderators' approve/reject decisions in the store.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the model to this file instead of storing it in the registry.")
@click.option("--name", default="site", show_default=True, help="Model name (versions count up per name).")
@click.option("--target-precision", default=0.8, show_default=True, help="Per-label threshold target.")
@click.option("--actor", default="cli", show_default=True, help="Recorded as who created the version.")
@click.option("--activate-if-better/--keep-inactive", default=True, show_default=True,
              help="With --from-decisions: compare on the held-out decisions and activate only if it beats the "
                   "active model.")
@click.option("--prior/--no-prior", default=True, show_default=True,
              help="Give the site's model the shipped model's score as one more feature (weighed by the site's data); "
                   "--no-prior learns from the given data alone.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def train(state: State, data_files: tuple[Path, ...], from_decisions: bool, out: Path | None, name: str,
          target_precision: float, actor: str, activate_if_better: bool, prior: bool, as_json: bool) -> None:
    """Train a classifier; a fifth of the data is held out to choose thresholds and measure it."""
    from moderation.learning import training as learning, sitemodel  # noqa: PLC0415

    if not data_files and not from_decisions:
        fail("give --data FILE and/or --from-decisions")
    try:
        if from_decisions and activate_if_better and out is None:
            result = sitemodel.retrain(state.db, state.config, state.ruleset(), data_files=data_files, name=name,
                                       target_precision=target_precision, actor=actor, prior=prior)
        else:
            result = sitemodel.train(state.db, state.config, state.ruleset(), data_files=data_files,
                                     from_decisions=from_decisions, out=out, name=name,
                                     target_precision=target_precision, actor=actor, prior=prior)
    except learning.DataError as exc:
        fail(str(exc))
    except sitemodel.SiteModelError as exc:
        fail(str(exc), 1)
    version, tox = result["version"], result["heldout"]["toxicity"]
    emit(result, as_json, f"trained {version} on {result['rows']} rows -> {result['path'] or 'the registry'}"
         + (f" ({result['skipped_empty']} rows with empty text skipped)" if result["skipped_empty"] else "") + "\n"
         f"held-out: ROC-AUC {tox['roc_auc']}, official F1 {tox['f1_official']}, threshold {tox['threshold']}"
         + _prior(result["prior"]) + _outcome(result))


def _prior(prior_card: dict) -> str:
    """How much the shipped model's score counts beside the site's own (or why it was not used)."""
    if prior_card["model"] is None:
        return "" if prior_card["why"] == "not asked for" else f"\nno prior: {prior_card['why']}"
    weight = prior_card["weights"].get("toxicity")
    return "" if weight is None else f"\nweight of {prior_card['model']}'s score in it: {weight}"


def _outcome(result: dict) -> str:
    """What happened to a trained version: activated, kept (and why), or the next steps."""
    version = result["version"]
    if "comparison" in result:
        cmp = result["comparison"]
        active = cmp["active"]["model"] if cmp["active"] else "nothing"
        lines = [_line(cmp["candidate"])] + ([_line(cmp["active"])] if cmp["active"] else [])
        verdict = (f"{version} beats {active} on held-out decisions: activated" if result["activated"] else
                   f"{version} does not beat {active} on held-out decisions: kept inactive")
        return "\n" + "\n".join(lines + [verdict])
    if not result["registered"]:
        return ""
    return (f"\nnext: `moderation model evaluate --model-version {version}`, "
            f"then `moderation model activate {version}`")


@model.command()
@click.option("--model", "model_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Model file (default: the active model).")
@click.option("--model-version", help="A registered version: compare it with the active model on held-out decisions.")
@click.option("--data", "data_file", type=click.Path(dir_okay=False, path_type=Path),
              help="CSV/TSV/JSONL with text,label (1 = toxic).")
@click.option("--threshold", type=float, help="Decision threshold (default: the one chosen on held-out data).")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def evaluate(state: State, model_path: Path | None, model_version: str | None, data_file: Path | None,
             threshold: float | None, as_json: bool) -> None:
    """ROC-AUC, official F1 (GermEval), macro F1 at the model's threshold, on a file or held-out decisions."""
    from moderation.learning import training as learning  # noqa: PLC0415
    from moderation.learning.registry import active_scorer  # noqa: PLC0415
    from moderation.scoring.sklearn import SklearnScorer  # noqa: PLC0415

    if model_version:
        _compare(state, model_version, data_file, threshold, as_json)
        return
    if data_file is None:
        fail("give --data FILE (or --model-version VERSION to compare on held-out decisions)")
    try:
        data = learning.read_labelled(data_file)
        if model_path:
            scorer = SklearnScorer.from_file(model_path)
        else:
            with state.db.session() as session:
                scorer = active_scorer(session, state.config)
    except learning.DataError as exc:
        fail(str(exc))
    except (OSError, ValueError, KeyError) as exc:
        fail(f"cannot load model {model_path or 'the active model'}: {exc}")
    if scorer is None:
        fail("no model active and none shipped (run `make model` or `moderation model train`)")
    t = threshold if threshold is not None else float(scorer.card.get("threshold", 0.5))
    if "toxicity" not in data.labels:
        fail(f"{data_file}: no label column")
    result = {**learning.evaluate(scorer.model, data, t), "model": scorer.card.get("version", scorer.version)}
    emit(result, as_json, _line(result))


def _line(r: dict) -> str:
    return (f"{r.get('model')}: n {r['n']}, ROC-AUC {r['roc_auc']}, official F1 {r['f1_official']}, "
            f"macro F1 {r['f1_macro']}, threshold {r['threshold']}")


def _compare(state: State, version: str, data_file: Path | None, threshold: float | None, as_json: bool) -> None:
    """Candidate vs the active model on held-out decisions (never trained on); recorded in the registry."""
    from moderation.learning import training as learning, sitemodel  # noqa: PLC0415

    try:
        metrics = sitemodel.compare(state.db, state.config, version, data_file, threshold)
    except learning.DataError as exc:
        fail(str(exc))
    except sitemodel.SiteModelError as exc:
        fail(str(exc), 1)
    results = {role: metrics[role] for role in ("candidate", "active")}
    emit(metrics, as_json, "\n".join(f"{role}: {_line(r) if r else 'none'}" for role, r in results.items())
         + ("\ncandidate is at least as good: `moderation model activate " + version + "`"
            if metrics["candidate_not_worse"] else "\ncandidate is worse than the active model"))


@model.command()
@click.argument("version")
@click.option("--force", is_flag=True, help="Activate even without an evaluation, or when it was worse.")
@click.option("--actor", default="cli", show_default=True, help="Recorded in the activation log.")
@pass_state
def activate(state: State, version: str, force: bool, actor: str) -> None:
    """Make a registered version the model triage uses (logged; every process picks it up within seconds)."""
    from moderation.learning import sitemodel  # noqa: PLC0415

    try:
        sitemodel.activate(state.db, version, actor, force=force)
    except sitemodel.SiteModelError as exc:
        fail(str(exc), 1)
    click.echo(_("activated %(version)s", version=version))


@model.command()
@click.option("--actor", default="cli", show_default=True, help="Recorded in the activation log.")
@pass_state
def rollback(state: State, actor: str) -> None:
    """Back to the model that was active before the newest activation (the shipped one if none was)."""
    from moderation.learning import sitemodel  # noqa: PLC0415

    try:
        version = sitemodel.rollback(state.db, actor)
    except sitemodel.SiteModelError as exc:
        fail(str(exc), 1)
    click.echo(_("rolled back to %(version)s", version=version or _("the shipped model")))


@model.command(name="list")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def list_models(state: State, as_json: bool) -> None:
    """Registered model versions, newest last; * marks the active one; then the activation log."""
    from moderation.store import models_registry as registry  # noqa: PLC0415

    with state.db.session() as session:
        rows = [r.to_dict() for r in registry.all_versions(session)]
        log = registry.history(session)
    text = "\n".join(f"{'*' if r['active'] else ' '} {r['version']}  {r['created_at']}  by {r['created_by']}  "
                     f"{'evaluated' if r['evaluated'] else 'not evaluated'}  sha256 {r['sha256'][:12]}" for r in rows)
    text += "".join(f"\n  {e['at']}  {e['action']} {e['version'] or 'shipped model'} (was "
                    f"{e['previous'] or 'shipped model'}) by {e['actor']}" for e in log)
    emit(rows, as_json, text or "no models trained on this site yet (the shipped model is in use)")
