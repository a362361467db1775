"""Commands on webhooks: add, list and remove endpoints; deliver what is due; read the delivery log."""
from __future__ import annotations

import click

from moderation.cli import State, emit, fail, main, pass_state
from moderation.cli.language import _
from moderation.domain.vocabulary import EVENT_TYPES as TYPES


@main.group("webhooks")
def webhooks_group() -> None:
    """Endpoints a site's CMS gives to hear about decisions (signed POSTs, retried with backoff)."""


@webhooks_group.command("add")
@click.argument("site")
@click.argument("url")
@click.option("--secret", help="Signing secret (default: a new random one, printed once).")
@click.option("--event", "event_types", multiple=True, type=click.Choice(TYPES), help="Repeat; default: all.")
@pass_state
def add(state: State, site: str, url: str, secret: str | None, event_types: tuple[str, ...]) -> None:
    """Send SITE's events to URL, signed as Standard Webhooks (headers webhook-id, -timestamp, -signature)."""
    from moderation.store.webhooks import WebhookError, add_endpoint, standard_secret  # noqa: PLC0415

    try:
        with state.db.session() as session:
            endpoint = add_endpoint(session, site, url, secret=secret, event_types=event_types)
            endpoint_id, secret = endpoint.id, endpoint.secret
    except WebhookError as exc:
        fail(str(exc))
    click.echo(f"endpoint {endpoint_id} for site {site}: {url}\nsigning secret: {secret}")
    if standard_secret(secret) != secret:  # a raw key: what Standard Webhooks libraries take instead
        click.echo(f"as a Standard Webhooks secret: {standard_secret(secret)}")


@webhooks_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def list_(state: State, as_json: bool) -> None:
    """Endpoints with their site, events and state."""
    from moderation.store.webhooks import endpoints  # noqa: PLC0415

    with state.db.session() as session:
        rows = [{"id": e.id, "site": e.site, "url": e.url, "events": e.events or list(TYPES), "active": e.active}
                for e in endpoints(session)]
    emit(rows, as_json, "\n".join(f"{r['id']}\t{r['site']}\t{r['url']}\t{','.join(r['events'])}\t"
                                  f"{'active' if r['active'] else 'removed'}" for r in rows) or "no endpoints")


@webhooks_group.command("remove")
@click.argument("endpoint_id", type=int)
@pass_state
def remove(state: State, endpoint_id: int) -> None:
    """Stop sending to an endpoint (its delivery log stays)."""
    from moderation.store.webhooks import WebhookError, deactivate  # noqa: PLC0415

    try:
        with state.db.session() as session:
            deactivate(session, endpoint_id)
    except WebhookError as exc:
        fail(str(exc))
    click.echo(_("removed endpoint %(id)s", id=endpoint_id))


@webhooks_group.command("deliver")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def deliver(state: State, as_json: bool) -> None:
    """Attempt every due delivery now (what workers do every 30 s; for cron when no broker runs)."""
    from moderation.integrations.webhooks import deliver as run  # noqa: PLC0415

    results = run(state.db, limit=1000, retry_base=state.config.webhook_retry_seconds)
    counts = {s: sum(1 for _, x in results if x == s) for s in ("delivered", "pending", "failed")}
    emit(counts, as_json, f"attempted {len(results)}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


@webhooks_group.command("log")
@click.option("--limit", default=20, show_default=True)
@click.option("--state", "only", type=click.Choice(["pending", "delivered", "failed"]))
@click.option("--json", "as_json", is_flag=True)
@pass_state
def log(state: State, limit: int, only: str | None, as_json: bool) -> None:
    """Recent deliveries: event, endpoint, state, attempts, last answer."""
    from moderation.store.webhooks import log as recent  # noqa: PLC0415

    with state.db.session() as session:
        rows = [{"delivery": d.id, "event": etype, "cursor": payload.get("cursor"), "comment": payload.get("id"),
                 "url": url, "state": d.state, "attempts": d.attempts, "last_status": d.last_status,
                 "last_error": d.last_error, "next_attempt_at": d.next_attempt_at.isoformat()}
                for d, url, etype, payload in recent(session, limit=limit, state=only)]
    emit(rows, as_json, "\n".join(f"{r['delivery']}\t{r['event']}\t{r['comment']}\t{r['url']}\t{r['state']}\t"
                                  f"attempts {r['attempts']}\t{r['last_status'] or r['last_error'] or ''}"
                                  for r in rows) or "no deliveries")
