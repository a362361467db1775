"""Commands on accounts: users add, list, set."""
from __future__ import annotations

import sys

import click

from moderation.cli import State, fail, main, pass_state
from moderation.cli.language import _
from moderation.domain.vocabulary import ROLES


@main.group("users")
def users_group() -> None:
    """Accounts of moderators, admins and researchers."""


def read_password(prompt: str = "Password") -> str:
    """From a prompt on a terminal; from the first line of stdin otherwise (for scripts)."""
    if sys.stdin.isatty():
        return click.prompt(prompt, hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")


@users_group.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES))
@pass_state
def add(state: State, name: str, role: str) -> None:
    """Add a user; the password comes from a prompt, or stdin when it is not a terminal."""
    from moderation.store.accounts import AccountError, add_user  # noqa: PLC0415

    password = read_password()
    try:
        with state.db.session() as session:
            add_user(session, name, password, role)
    except AccountError as exc:
        fail(str(exc))
    click.echo(_("added %(role)s %(name)s", role=_(role), name=name))


@users_group.command("list")
@pass_state
def list_(state: State) -> None:
    """List users and their roles."""
    from moderation.store.accounts import users  # noqa: PLC0415

    with state.db.session() as session:
        for user in users(session):
            state_word = _("active") if user.active else _("disabled")
            click.echo(f"{user.username}\t{user.role}\t{state_word}")


@users_group.command("set")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES))
@click.option("--disable/--enable", "disabled", default=None)
@pass_state
def set_(state: State, name: str, role: str | None, disabled: bool | None) -> None:
    """Change a user's role, or disable/enable the account."""
    from moderation.store.accounts import AccountError, set_role  # noqa: PLC0415

    try:
        with state.db.session() as session:
            set_role(session, name, role, None if disabled is None else not disabled)
    except AccountError as exc:
        fail(str(exc))
    click.echo(_("updated %(name)s", name=name))
