"""Commands on API keys: apikeys add, list, revoke."""
from __future__ import annotations

import click

from moderation.cli import State, emit, fail, main, pass_state
from moderation.cli.language import _
from moderation.domain.vocabulary import SCOPES


@main.group("apikeys")
def apikeys_group() -> None:
    """Keys a site's CMS uses for the live API and the Akismet verbs."""


@apikeys_group.command("add")
@click.argument("site")
@click.option("--label", help="What the key is for (e.g. the CMS instance).")
@click.option("--scope", "scopes", multiple=True, type=click.Choice(SCOPES),
              help="Repeat; default: submit, read, feedback. import: the key may send decisions taken elsewhere "
                   "(for migrating history).")
@click.option("--rate-limit", type=int, help="Requests per minute (default: MODERATION_API_RATE_LIMIT).")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def add(state: State, site: str, label: str | None, scopes: tuple[str, ...], rate_limit: int | None,
        as_json: bool) -> None:
    """Create a key for SITE (the comments' source name); the key is printed once and never stored."""
    from moderation.store.apikeys import DEFAULT_SCOPES, ApiKeyError, create  # noqa: PLC0415

    try:
        with state.db.session() as session:
            key, plain = create(session, site, label=label, scopes=scopes or DEFAULT_SCOPES,
                                rate_limit=rate_limit)
            data = {"id": key.id, "site": key.site, "key": plain, "scopes": key.scopes}
    except ApiKeyError as exc:
        fail(str(exc))
    emit(data, as_json, f"{plain}\nkey {data['id']} for site {site} ({', '.join(data['scopes'])}); "
                        f"it is shown only now")


@apikeys_group.command("list")
@click.option("--site")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def list_(state: State, site: str | None, as_json: bool) -> None:
    """Keys with their site, prefix, scopes, limit and last use (never the key itself)."""
    from moderation.store.apikeys import keys  # noqa: PLC0415

    with state.db.session() as session:
        rows = [{"id": k.id, "site": k.site, "prefix": k.prefix, "label": k.label, "scopes": k.scopes,
                 "rate_limit": k.rate_limit, "created_at": k.created_at.isoformat(),
                 "last_used_at": k.last_used_at.isoformat() if k.last_used_at else None,
                 "revoked": k.revoked_at is not None} for k in keys(session, site)]
    lines = [f"{r['id']}\t{r['site']}\t{r['prefix']}…\t{','.join(r['scopes'])}\t{r['rate_limit'] or 'default'}/min"
             f"\t{'revoked' if r['revoked'] else 'active'}\t{r['label'] or ''}" for r in rows]
    emit(rows, as_json, "\n".join(lines) or "no keys")


@apikeys_group.command("revoke")
@click.argument("ref")
@pass_state
def revoke_(state: State, ref: str) -> None:
    """Revoke a key by id or prefix; requests with it are refused from now on."""
    from moderation.store.apikeys import ApiKeyError, revoke  # noqa: PLC0415

    try:
        with state.db.session() as session:
            key = revoke(session, ref)
            site = key.site
    except ApiKeyError as exc:
        fail(str(exc))
    click.echo(_("revoked key %(ref)s of site %(site)s", ref=ref, site=site))
