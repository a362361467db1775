"""The `worker` command: a Celery worker for deep scoring, triage batches and webhook delivery."""
from __future__ import annotations

import click

from moderation.cli import State, fail, main, pass_state


@main.command()
@click.option("--concurrency", type=int, help="Worker processes (default: one per CPU).")
@click.option("--beat", is_flag=True, help="Also run the periodic sweeps; exactly one worker should.")
@click.option("--loglevel", default="info", show_default=True)
@click.option("--pool", default="prefork", show_default=True, type=click.Choice(["prefork", "solo", "threads"]))
@pass_state
def worker(state: State, concurrency: int | None, beat: bool, loglevel: str, pool: str) -> None:
    """Run a worker on MODERATION_BROKER_URL (same as `celery -A moderation.worker.tasks worker`)."""
    if not state.config.broker_url:
        fail("no broker configured: set MODERATION_BROKER_URL (e.g. redis://127.0.0.1:6379/0); without one, "
             "background work runs inline and no worker is needed")
    from moderation.worker import tasks  # noqa: PLC0415

    app = tasks.configure(state.config)
    argv = ["worker", f"--loglevel={loglevel}", f"--pool={pool}", "-Q", state.config.task_queue]
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    if beat:
        argv.append("--beat")
    app.worker_main(argv)
