"""Loading rule files: YAML validated against the schema, errors located by file, line and rule id."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

from pydantic import ValidationError
from ruamel.yaml import YAML, MappingNode, Node, SequenceNode
from ruamel.yaml.error import YAMLError

from moderation.rules import cache as rules_cache
from moderation.rules.compiler import RuleCompileError, build_ruleset
from moderation.rules.engine import RuleSet
from moderation.rules.schema import RuleSetFile
from moderation.rules.wordlists import WordListError, parse_lists

Problem = tuple[str, "int | None", "str | None", str]  # file, line, rule id, message


class RuleError(ValueError):
    """An invalid rule set; lists every problem as `file:line: rule <id>: message`."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(self.format(p) for p in problems))

    @staticmethod
    def format(problem: Problem) -> str:
        path, line, rule_id, message = problem
        where = f"{path}:{line}" if line else path
        return f"{where}: rule {rule_id}: {message}" if rule_id else f"{where}: {message}"


@dataclass
class _Source:
    """One parsed rule file and where its rules sit in the merged list."""

    path: Path
    data: dict
    node: Node
    first_rule: int

    def line(self, loc: tuple) -> int:
        """Line of the deepest YAML node along a pydantic location (union tags that are not keys skipped)."""
        node = self.node
        for part in loc:
            if isinstance(node, MappingNode) and isinstance(part, str):
                node = next((v for k, v in node.value if k.value == part), node)
            elif isinstance(node, SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
        return node.start_mark.line + 1

    def rule_id(self, index: int) -> str:
        rules = self.data.get("rules") or []
        rule = rules[index] if index < len(rules) else None
        return str(rule.get("id", f"#{index + 1}")) if isinstance(rule, dict) else f"#{index + 1}"


def _parse(path: Path, text: str) -> tuple[object, Node | None]:
    """The document and its node tree (which knows the line of every value)."""
    yaml = YAML(typ="safe", pure=True)  # pure: the nodes keep their marks
    try:
        node = yaml.compose(text)
        return (yaml.constructor.construct_document(node) if node is not None else None), node
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise RuleError([(str(path), mark.line + 1 if mark else None, None,
                          f"not valid YAML: {getattr(exc, 'problem', None) or exc}")]) from None


def dump_yaml(data: object) -> str:
    """Plain data as block-style YAML, keys in their given order (a rule's definition as the desk shows it)."""
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style, yaml.sort_base_mapping_type_on_output = False, False
    out = StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def read_files(path: Path) -> dict[str, str]:
    """A rule set's files as {relative path: text}: the YAML file(s) and wordlists/<language>/<name>.txt."""
    root = path if path.is_dir() else path.parent
    yamls = [path] if path.is_file() else sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
    if not yamls:
        raise RuleError([(str(path), None, None, "no rule files (*.yaml) here")])
    files = {f.name: f.read_text(encoding="utf-8") for f in yamls}
    files.update({p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
                  for p in sorted((root / "wordlists").glob("*/*.txt"))})
    return files


def is_rule_file(relative: str) -> bool:
    return "/" not in relative and relative.endswith((".yaml", ".yml"))


def _merge(root: Path, contents: dict[str, str]) -> tuple[dict, list[_Source]]:
    """One document from several files: header keys from exactly one file, rules concatenated."""
    merged: dict = {"rules": []}
    sources: list[_Source] = []
    for name, text in sorted(contents.items()):
        data, node = _parse(root / name, text)
        if data is None:
            continue
        source = _Source(root / name, data if isinstance(data, dict) else {}, node, len(merged["rules"]))
        if not isinstance(data, dict):
            raise RuleError([(str(source.path), 1, None, "a rule file is a mapping of site, policy and rules")])
        for key, value in data.items():
            if key == "rules":
                merged["rules"].extend(value if isinstance(value, list) else [value])
            elif key in merged:
                raise RuleError([(str(source.path), source.line((key,)), None,
                                  f"{key!r} is set in more than one rule file")])
            else:
                merged[key] = value
        sources.append(source)
    return merged, sources


def _owner(sources: list[_Source], loc: tuple) -> tuple[_Source, tuple]:
    """The file a merged-document location came from, and the location within that file."""
    if len(loc) > 1 and loc[0] == "rules" and isinstance(loc[1], int):
        source = next(s for s in reversed(sources) if s.first_rule <= loc[1] or s is sources[0])
        return source, ("rules", loc[1] - source.first_rule) + loc[2:]
    source = next((s for s in sources if loc and loc[0] in s.data), sources[0])
    return source, loc


def _field(loc: tuple) -> str:
    # Discriminated unions repeat the condition kind ("any", "any"): show it once.
    parts = [p for i, p in enumerate(loc) if not (i and loc[i - 1] == p)]
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).lstrip(".")


def _repeated_ids(sources: list[_Source]) -> list[Problem]:
    """Rule ids used before, each located at its repeat and naming where it was first defined."""
    first: dict[str, str] = {}
    problems: list[Problem] = []
    for source in sources:
        rules = source.data.get("rules")
        for index, rule in enumerate(rules if isinstance(rules, list) else []):
            rule_id = rule.get("id") if isinstance(rule, dict) else None
            if not isinstance(rule_id, str):
                continue  # the schema reports a missing or mistyped id
            line = source.line(("rules", index))
            if rule_id in first:
                problems.append((str(source.path), line, rule_id,
                                 f"rule ids must be unique; repeated: {rule_id}, first defined at {first[rule_id]}"))
            else:
                first[rule_id] = f"{source.path}:{line}"
    return problems


def _schema_problems(exc: ValidationError, sources: list[_Source]) -> list[Problem]:
    errors = exc.errors(include_url=False)
    locs = [tuple(e["loc"]) for e in errors]
    problems: list[Problem] = []
    for err, loc in zip(errors, locs):
        if any(o != loc and o[:len(loc)] == loc for o in locs):
            continue  # a container error echoing a more precise one inside it
        source, local = _owner(sources, loc)
        rule_id = source.rule_id(local[1]) if local[:1] == ("rules",) and len(local) > 1 else None
        where = _field(local[2:] if rule_id else local)
        problems.append((str(source.path), source.line(local), rule_id,
                         f"{where}: {err['msg']}" if where else err["msg"]))
    return problems


def load_ruleset(path: str | Path, overrides: dict[str, str] | None = None, cache: Path | None = None) -> RuleSet:
    """Load, validate and compile the rule set in a file or folder; `overrides` replaces file contents;
    `cache`: a folder that keeps the parsed rules for the next process (see cache.py)."""
    path = Path(path)
    if not path.exists():
        raise RuleError([(str(path), None, None, "no such file or folder")])
    root = path if path.is_dir() else path.parent
    return compile_ruleset({**read_files(path), **(overrides or {})}, str(root), str(path), cache)


def version_of(files: dict[str, str]) -> str:
    """The content hash that names a rule set: every rule file and word list, in path order."""
    digest = hashlib.sha256()
    for name, text in sorted(files.items()):
        digest.update(name.encode() + b"\0" + text.encode() + b"\0")
    return "rs-" + digest.hexdigest()[:12]


def compile_ruleset(files: dict[str, str], origin: str, label: str | None = None,
                    cache: Path | None = None) -> RuleSet:
    """Validate and compile a rule set given as {relative path: text}; errors name origin/path:line.

    With `cache`, a rule set compiled before (same files, same code) skips YAML parsing and list folding."""
    version = version_of(files)
    kept = rules_cache.load(cache, version) if cache is not None else None
    if kept is not None:
        try:
            return build_ruleset(RuleSetFile.model_validate(kept[0]), kept[1], version, dict(sorted(files.items())),
                                 label or origin)
        except Exception:  # noqa: BLE001 - a kept entry that no longer compiles: compile from the text below
            pass
    root = Path(origin)
    merged, sources = _merge(root, {k: v for k, v in files.items() if is_rule_file(k)})
    if not sources:
        raise RuleError([(origin, None, None, "the rule files are empty")])
    repeated = _repeated_ids(sources)
    if repeated:  # the schema checks this too, but could only point at the document
        raise RuleError(repeated)
    try:
        spec = RuleSetFile.model_validate(merged)
    except ValidationError as exc:
        raise RuleError(_schema_problems(exc, sources)) from None
    try:
        wordlists = parse_lists(files, origin)
    except WordListError as exc:
        raise RuleError([(exc.path, exc.line, None, exc.message)]) from None
    try:
        ruleset = build_ruleset(spec, wordlists, version, dict(sorted(files.items())), label or origin)
    except RuleCompileError as exc:
        source, local = _owner(sources, ("rules", exc.index, "when"))
        raise RuleError([(str(source.path), source.line(local), exc.rule_id, exc.message)]) from None
    if cache is not None:
        rules_cache.store(cache, version, merged, wordlists)
    return ruleset
