"""`moderation model train|evaluate|activate|list`: a site's own classifier, measured before it is used."""
from __future__ import annotations

import hashlib
from pathlib import Path

import click

from moderation.cli import State, emit, fail, main, pass_state


@main.group()
def model() -> None:
    """Train, evaluate, activate and list toxicity models."""


def _lexicon(state: State) -> dict:
    from moderation.scoring.sklearn import lexicon_from_ruleset  # noqa: PLC0415

    return lexicon_from_ruleset(state.ruleset())


@model.command()
@click.option("--data", "data_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Labelled CSV/TSV/JSONL with text and label columns (repeatable).")
@click.option("--from-decisions", is_flag=True, help="Learn from moderators' approve/reject decisions in the store.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the model here (default: instance/models/<version>.skops, registered, not active).")
@click.option("--name", default="site", show_default=True, help="Model name (versions count up per name).")
@click.option("--target-precision", default=0.8, show_default=True, help="Per-label threshold target.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def train(state: State, data_files: tuple[Path, ...], from_decisions: bool, out: Path | None, name: str,
          target_precision: float, as_json: bool) -> None:
    """Train a classifier; a fifth of the data is held out to choose thresholds and measure it."""
    from moderation import learning  # noqa: PLC0415
    from moderation.scoring.sklearn import save_model  # noqa: PLC0415

    if not data_files and not from_decisions:
        fail("give --data FILE and/or --from-decisions")
    try:
        parts = [learning.read_labelled(p) for p in data_files]
        if from_decisions:
            decided = learning.from_decisions(state.db, heldout=False)
            if len(decided) < 20:
                fail(f"only {len(decided)} decided comments for training (need at least 20)", 1)
            parts.append(decided)
        data = learning.Dataset.concat(parts)
        model_obj, report = learning.train(data, lexicon=_lexicon(state), target_precision=target_precision)
    except (learning.DataError, ValueError) as exc:  # ValueError: e.g. too few examples of a class to split
        fail(str(exc))
    sources = [{"name": p.name, "licence": "supplied by the site"} for p in data_files]
    if from_decisions:
        sources.append({"name": "moderator decisions", "licence": "the site's own data"})
    registered = out is None
    if registered:
        from moderation.store import models_registry as registry  # noqa: PLC0415

        with state.db.session() as session:
            version = registry.next_version(session, name)
        out = Path(state.config.instance_path) / "models" / f"{version}.skops"
    else:
        version = f"{name}-{out.stem}"
    card = learning.make_card(name, version, report, data, sources)
    sha = save_model(model_obj, out, card)
    if registered:
        with state.db.session() as session:
            registry.add(session, name, version, out.resolve(), sha, card)
    result = {"version": version, "path": str(out), "sha256": sha, "rows": len(data),
              "heldout": report["heldout"], "threshold": report["threshold"], "registered": registered}
    tox = report["heldout"]["toxicity"]
    emit(result, as_json, f"trained {version} on {len(data)} rows -> {out}\n"
         f"held-out: ROC-AUC {tox['roc_auc']}, official F1 {tox['f1_official']}, threshold {tox['threshold']}"
         + ("\nnext: `moderation model evaluate --model-version " + version + "`, then `moderation model activate "
            + version + "`" if registered else ""))


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
    from moderation import learning  # noqa: PLC0415
    from moderation.scoring.sklearn import active_model_path, load_model  # noqa: PLC0415

    if model_version:
        _compare(state, model_version, data_file, threshold, as_json)
        return
    if data_file is None:
        fail("give --data FILE (or --model-version VERSION to compare on held-out decisions)")
    path = model_path or active_model_path(state.config)
    try:
        data = learning.read_labelled(data_file)
        model_obj, card = load_model(path)
    except learning.DataError as exc:
        fail(str(exc))
    except (OSError, ValueError, KeyError) as exc:
        fail(f"cannot load model {path}: {exc}")
    t = threshold if threshold is not None else float(card.get("threshold", 0.5))
    if "toxicity" not in data.labels:
        fail(f"{data_file}: no label column")
    result = {**learning.evaluate(model_obj, data, t), "model": card.get("version", path.name)}
    emit(result, as_json, _line(result))


def _line(r: dict) -> str:
    return (f"{r.get('model')}: n {r['n']}, ROC-AUC {r['roc_auc']}, official F1 {r['f1_official']}, "
            f"macro F1 {r['f1_macro']}, threshold {r['threshold']}")


def _compare(state: State, version: str, data_file: Path | None, threshold: float | None, as_json: bool) -> None:
    """Candidate vs the active model on held-out decisions (never trained on); recorded in the registry."""
    from moderation import learning  # noqa: PLC0415
    from moderation.scoring.sklearn import active_model_path, load_model  # noqa: PLC0415
    from moderation.store import models_registry as registry  # noqa: PLC0415

    with state.db.session() as session:
        row = registry.get(session, version)
        if row is None:
            fail(f"no model version {version!r} (see `moderation model list`)")
        candidate_path = Path(row.path)
    data = learning.read_labelled(data_file) if data_file else learning.from_decisions(state.db, heldout=True)
    truth = data.column("toxicity")
    if len(data) < 10 or len(set(truth.tolist())) < 2:
        fail(f"only {len(data)} held-out decisions (need at least 10, approved and rejected)", 1)
    results: dict[str, dict | None] = {}
    for role, path in (("candidate", candidate_path), ("active", active_model_path(state.config))):
        if role == "active" and not path.is_file():
            results[role] = None  # nothing to beat: no model active and none shipped
            continue
        try:
            model_obj, card = load_model(path)
        except (OSError, ValueError, KeyError) as exc:
            fail(f"cannot load the {role} model {path}: {exc}")
        t = threshold if threshold is not None else float(card.get("threshold", 0.5))
        results[role] = {**learning.evaluate(model_obj, data, t), "model": card.get("version", path.name)}
    active_f1 = (results["active"] or {}).get("f1_official") or 0
    better = (results["candidate"]["f1_official"] or 0) >= active_f1
    metrics = {**results, "candidate_not_worse": better, "data": str(data_file) if data_file else "held-out decisions"}
    with state.db.session() as session:
        registry.get(session, version).metrics = metrics
    emit(metrics, as_json, "\n".join(f"{role}: {_line(r) if r else 'none'}" for role, r in results.items())
         + ("\ncandidate is at least as good: `moderation model activate " + version + "`" if better
            else "\ncandidate is worse than the active model"))


@model.command()
@click.argument("version")
@click.option("--force", is_flag=True, help="Activate even without an evaluation, or when it was worse.")
@pass_state
def activate(state: State, version: str, force: bool) -> None:
    """Make a registered version the model triage uses (recorded; takes effect for newly started processes)."""
    from moderation.store import models_registry as registry  # noqa: PLC0415

    with state.db.session() as session:
        row = registry.get(session, version)
        if row is None:
            fail(f"no model version {version!r} (see `moderation model list`)")
        if not force and not row.metrics:
            fail(f"{version} has not been evaluated: run `moderation model evaluate --model-version {version}`", 1)
        if not force and not row.metrics.get("candidate_not_worse"):
            fail(f"{version} scored worse than the active model on held-out data (use --force to override)", 1)
        if hashlib.sha256(Path(row.path).read_bytes()).hexdigest() != row.sha256:
            fail(f"{row.path} changed since it was trained (sha256 differs); retrain", 1)
        registry.activate(session, row, Path(state.config.instance_path))
    click.echo(f"activated {version}")


@model.command(name="list")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def list_models(state: State, as_json: bool) -> None:
    """Registered model versions, newest last; * marks the active one."""
    from moderation.store import models_registry as registry  # noqa: PLC0415

    with state.db.session() as session:
        rows = [r.to_dict() for r in registry.all_versions(session)]
    text = "\n".join(f"{'*' if r['active'] else ' '} {r['version']}  {r['created_at']}  "
                     f"{'evaluated' if r['evaluated'] else 'not evaluated'}  {r['path']}" for r in rows)
    emit(rows, as_json, text or "no models trained on this site yet (the shipped model is in use)")
