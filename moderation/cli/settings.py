"""The `settings` command: what this desk reads from its settings sources, secrets and passwords hidden."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

import click

from moderation.cli import State, emit, main, pass_state

if TYPE_CHECKING:
    from moderation.config import Config

_PASSWORD = re.compile(r"(//[^:/@]*:)[^@/]+@")  # the password in scheme://user:password@host


def shown(config: Config) -> dict[str, object]:
    """Every setting as it will be used; a secret only says whether it is set."""
    from pydantic import SecretStr  # noqa: PLC0415 - loaded with the settings, not for --help

    values: dict[str, object] = {}
    for name in type(config).model_fields:
        value = getattr(config, name)
        if isinstance(value, SecretStr):
            value = "(set)" if value.get_secret_value() else "(not set: the instance folder's own)"
        elif isinstance(value, str):
            value = _PASSWORD.sub(r"\1***@", value)
        elif isinstance(value, tuple):
            value = list(value)
        elif value is not None and not isinstance(value, (int, float, bool)):
            value = str(value)
        values[name] = value
    return values


@main.command("settings")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def settings(state: State, as_json: bool) -> None:
    """Show the settings in effect (options, MODERATION_* variables, .env, MODERATION_CONFIG_FILE, defaults)."""
    values = shown(state.config)
    variable = type(state.config).variable
    emit(values, as_json, "\n".join(f"{variable(k)}={','.join(v) if isinstance(v, list) else v}"
                                    for k, v in values.items()))
