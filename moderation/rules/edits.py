"""Changing a rule file's policy values in place: only the edited value changes, comments and layout stay."""
from __future__ import annotations

import re
from io import StringIO

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

_SCALAR_END = re.compile(r"[,}\]\s#]|$")


class EditError(ValueError):
    pass


def _load(text: str) -> CommentedMap:
    data = YAML().load(StringIO(text))
    if not isinstance(data, CommentedMap):
        raise EditError("the file is not a mapping")
    return data


def _replace_at(text: str, line: int, col: int, value: str) -> str:
    lines = text.splitlines(keepends=True)
    row = lines[line]
    end = _SCALAR_END.search(row, col + 1).start() if col < len(row) else col
    rest = row[end:]
    spaces = len(rest) - len(rest.lstrip(" "))
    if rest.lstrip(" ").startswith("#"):  # keep a trailing comment in its column
        rest = " " * max(1, spaces - (len(value) - (end - col))) + rest.lstrip(" ")
    lines[line] = row[:col] + value + rest
    return "".join(lines)


def _format(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".") if value not in (0.0, 1.0) else f"{value:.1f}"
    return str(value)


def set_policy(text: str, key: str, value: object) -> str:
    """Set policy.<key> (premoderation, reject_at, new_author_approvals) in a rule file's text."""
    data = _load(text)
    policy = data.get("policy")
    if not isinstance(policy, CommentedMap):
        raise EditError("the file has no policy block")
    if key not in policy:
        line, _ = data.lc.key("policy")
        indent = " " * (policy.lc.col if policy else 2)
        lines = text.splitlines(keepends=True)
        lines.insert(line + 1, f"{indent}{key}: {_format(value)}\n")
        return "".join(lines)
    line, col = policy.lc.value(key)
    return _replace_at(text, line, col, _format(value))


def set_threshold(text: str, label: str, level: str, value: float) -> str:
    """Set policy.thresholds.<label>.<level>; a new label gets its own line under `thresholds:`."""
    if not 0 <= value <= 1:
        raise EditError("a threshold lies between 0 and 1")
    data = _load(text)
    thresholds = (data.get("policy") or {}).get("thresholds")
    if not isinstance(thresholds, CommentedMap):
        raise EditError("the file has no policy.thresholds block")
    current = thresholds.get(label)
    if isinstance(current, CommentedMap) and level in current:
        line, col = current.lc.value(level)
        return _replace_at(text, line, col, _format(value))
    if current is not None and not isinstance(current, CommentedMap):
        line, col = thresholds.lc.value(label)
        return _replace_at(text, line, col, f"{{{level}: {_format(value)}}}")
    if isinstance(current, CommentedMap):  # a new level for a known label: rewrite that label's line
        levels = {**current, level: value}
        line, _ = thresholds.lc.key(label)
        indent = " " * thresholds.lc.key(label)[1]
        body = ", ".join(f"{k}: {_format(v)}" for k, v in levels.items())
        lines = text.splitlines(keepends=True)
        lines[line] = f"{indent}{label}: {{{body}}}\n"
        return "".join(lines)
    line, col = data["policy"].lc.key("thresholds")
    first = next(iter(thresholds), None)
    indent = " " * (thresholds.lc.key(first)[1] if first is not None else col + 2)
    lines = text.splitlines(keepends=True)
    lines.insert(line + 1, f"{indent}{label}: {{{level}: {_format(value)}}}\n")
    return "".join(lines)


def set_list_entries(text: str, add: list[str] = (), remove: list[str] = ()) -> str:
    """A word list's text with entries added at the end and others removed (comments and order stay)."""
    gone = {e.strip() for e in remove if e.strip()}
    lines = [line for line in text.splitlines() if line.split(" #", 1)[0].strip() not in gone]
    present = {line.split(" #", 1)[0].strip() for line in lines}
    lines += [e.strip() for e in add if e.strip() and e.strip() not in present]
    return "\n".join(lines) + "\n"
