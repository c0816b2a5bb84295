"""YAML text → validated ``Scene``, with every problem located by file:line:column.

PyYAML's node tree keeps the position of every key and value; pydantic's
errors carry a field path. Joining the two gives errors such as
``scene.yaml:12:13: bodies[3].radius: must be greater than 0 (got -0.5)``.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ..errors import Issue, SceneError
from . import camera as camera_model
from . import model
from .assemble import check_anchors
from .files import file_checks
from .limits import check_limits
from .model import Scene

Loc = tuple[str | int, ...]
MAX_FILE_BYTES = 16 * 1024 * 1024


@dataclass
class _Positions:
    """Where each value (and each mapping key) starts, by field path; 1-based."""

    values: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Loc, tuple[int, int]] = field(default_factory=dict)

    def locate(self, loc: Loc, *, key: bool = False) -> tuple[int, int]:
        """The nearest known position at or above ``loc``."""
        if key and loc in self.keys:
            return self.keys[loc]
        for end in range(len(loc), -1, -1):
            if loc[:end] in self.values:
                return self.values[loc[:end]]
        return (1, 1)


def load_scene(path: str | Path) -> Scene:
    """Read and validate a scene file; raise ``SceneError`` listing every problem."""
    file = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise SceneError([Issue(file, 1, 1, "", "no such file")]) from None
    except IsADirectoryError:
        raise SceneError([Issue(file, 1, 1, "", "this is a folder, not a scene file")]) from None
    except OSError as error:
        raise SceneError([Issue(file, 1, 1, "", f"cannot read: {error.strerror}")]) from None
    return parse_scene(data, file)


def parse_scene(data: str | bytes, file: str = "<string>") -> Scene:
    """Validate scene text (YAML; JSON is YAML too)."""
    text = _decode(data, file)
    raw, positions = _parse_yaml(text, file)
    try:
        scene = Scene.model_validate(raw)
    except ValidationError as error:
        issues = _merge([_issue(e, raw, positions, file) for e in error.errors()])
        raise SceneError(issues, text) from None
    problems = model.cross_check(scene) or check_anchors(scene) or check_limits(scene)
    if file != "<string>":
        problems += file_checks(scene.audio, scene.look, Path(file).parent)
    if problems:
        issues = [
            Issue(file, *positions.locate(loc), _format_path(loc), message)
            for loc, message in problems
        ]
        raise SceneError(issues, text)
    return scene


def _decode(data: str | bytes, file: str) -> str:
    if isinstance(data, str):
        return data
    if len(data) > MAX_FILE_BYTES:
        raise SceneError([Issue(file, 1, 1, "", "file is larger than 16 MiB; is it a scene?")])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        before = data[: error.start]
        line = before.count(b"\n") + 1
        column = len(before) - (before.rfind(b"\n") + 1) + 1
        message = f"not UTF-8 text (byte 0x{data[error.start]:02x}); save the file as UTF-8"
        raise SceneError([Issue(file, line, column, "", message)]) from None


def _parse_yaml(text: str, file: str) -> tuple[Any, _Positions]:
    if not text.strip() or all(
        not line.strip() or line.lstrip().startswith("#") for line in text.splitlines()
    ):
        message = "the file is empty; a scene needs at least a 'bodies' list"
        raise SceneError([Issue(file, 1, 1, "", message)], text)
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:  # only document markers, such as "---"
            message = "the file holds no document; a scene needs at least a 'bodies' list"
            raise SceneError([Issue(file, 1, 1, "", message)], text)
        positions = _Positions()
        duplicates = _index(node, (), positions, file)
        if duplicates:
            raise SceneError(duplicates, text)
        raw = loader.construct_document(node)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = error.problem or "invalid YAML"
        context = f" ({error.context})" if error.context else ""
        issue = Issue(file, line, column, "", f"YAML syntax: {problem}{context}")
        raise SceneError([issue], text) from None
    except yaml.YAMLError as error:
        raise SceneError([Issue(file, 1, 1, "", f"YAML: {error}")], text) from None
    finally:
        loader.dispose()
    if not isinstance(raw, dict):
        kind = type(raw).__name__ if raw is not None else "nothing"
        message = f"expected a mapping with keys such as 'world', 'timing', 'bodies'; got {kind}"
        raise SceneError([Issue(file, 1, 1, "", message)], text)
    return raw, positions


def _mark(node: yaml.Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def _index(node: yaml.Node, loc: Loc, positions: _Positions, file: str) -> list[Issue]:
    """Record positions below ``node``; return duplicate-key issues.

    PyYAML silently keeps the last of two equal keys; a scene author wants to hear about it.
    """
    positions.values[loc] = _mark(node)
    issues: list[Issue] = []
    if isinstance(node, yaml.MappingNode):
        first_seen: dict[object, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            if key in first_seen:
                line, column = _mark(key_node)
                path = _format_path((*loc, key))
                message = f"duplicate key {key!r} (first at line {first_seen[key]})"
                issues.append(Issue(file, line, column, path, message))
                continue
            first_seen[key] = _mark(key_node)[0]
            positions.keys[(*loc, key)] = _mark(key_node)
            issues += _index(value_node, (*loc, key), positions, file)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            issues += _index(item, (*loc, i), positions, file)
    return issues


_FIELD = re.compile(r"[a-z_][a-z0-9_]*")
_TAGS = {"str", "int", "float", "bool", "list", "dict", "none", "name", "spec", "flag",
         "preset", "gradient", "image", "color"}  # fmt: skip
_TYPE_HINTS = {
    "material": "expected a material name such as 'rubber', or {density, friction, elasticity}",
    "walls": "expected true, false, or a mapping such as {material: stone, sides: [bottom]}",
}


def _data_path(loc: Loc, raw: Any) -> Loc:
    """Drop pydantic's union tags from ``loc`` so it follows the file's own keys."""
    path: list[str | int] = []
    current: Any = raw
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if (isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)) or (
            isinstance(current, dict) and part in current
        ):
            # part is an int whenever current is a list (tested above); mypy cannot pair them
            current = current[part]  # type: ignore[index]
            path.append(part)
        elif (isinstance(current, dict) and part in _union_tags(current)) or (
            isinstance(part, str) and (part in _TAGS or not _FIELD.fullmatch(part))
        ):
            continue
        elif (last and isinstance(current, dict)) or isinstance(part, int):
            path.append(part)
            current = None
    return tuple(path)


def _union_tags(mapping: dict[Any, Any]) -> set[object]:
    """The tag pydantic puts in an error path for this mapping's union member."""
    mode = mapping.get("mode")
    return {mapping.get("kind"), mode, "fit" if mode == "wide" else None} - {None}


def _format_path(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _all_field_names() -> set[str]:
    names: set[str] = set()
    for value in [*vars(model).values(), *vars(camera_model).values()]:
        if isinstance(value, type) and issubclass(value, BaseModel):
            names |= set(value.model_fields)
    return names


def _issue(error: Any, raw: Any, positions: _Positions, file: str) -> Issue:
    loc = _data_path(tuple(error["loc"]), raw)
    kind = error["type"]
    message = str(error["msg"])
    value = error.get("input")
    path = _format_path(loc)
    at_key = False
    if kind == "missing":
        message = f"missing required field {loc[-1]!r}"
        loc = loc[:-1]
    elif kind == "extra_forbidden":
        unknown = str(loc[-1])
        close = difflib.get_close_matches(unknown, sorted(_all_field_names()), n=1, cutoff=0.7)
        message = f"unknown field {unknown!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
        at_key = True
    elif kind in ("union_tag_invalid", "union_tag_not_found") and "camera" in loc:
        modes = ", ".join(camera_model.MODES)
        if kind == "union_tag_not_found" or not isinstance(value, dict) or "mode" not in value:
            message = f"missing 'mode'; expected one of: {modes}"
        else:
            close = difflib.get_close_matches(str(value["mode"]), camera_model.MODES, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            message = f"unknown mode {value['mode']!r}{hint}; expected one of: {modes}"
            loc = (*loc, "mode")
            path = _format_path(loc)
    elif kind in ("union_tag_invalid", "union_tag_not_found"):
        kinds = ", ".join(model.BODY_KINDS)
        if kind == "union_tag_not_found":
            message = f"missing 'kind'; expected one of: {kinds}"
        else:
            tag = value.get("kind") if isinstance(value, dict) else value
            close = difflib.get_close_matches(str(tag), model.BODY_KINDS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            message = f"unknown kind {tag!r}{hint}; expected one of: {kinds}"
            loc = (*loc, "kind")
            path = _format_path(loc)
    elif kind == "string_pattern_mismatch" and loc and loc[-1] == "name":
        message = (
            "a name may not contain '/' (reserved for parts: 'crate/3') or start with a space"
            f" (got {_show(value)})"
        )
    elif kind.endswith("_type") and loc and loc[-1] in _TYPE_HINTS:
        message = f"{_TYPE_HINTS[str(loc[-1])]} (got {_show(value)})"
    else:
        message = message.removeprefix("Value error, ")
        for prefix, replacement in (
            ("Input should be greater", "must be greater"),
            ("Input should be less", "must be less"),
            ("Input should be ", "expected "),
            ("List should have ", "expected "),
        ):
            if message.startswith(prefix):
                message = replacement + message.removeprefix(prefix)
                break
        message = message.replace(", unable to parse string as a number", "")
        message = message.replace(" after validation, not 0", "")
        if kind == "finite_number":
            message = "expected a finite number (NaN and infinity are not allowed)"
        if not isinstance(value, dict | list):
            message += f" (got {_show(value)})"
    line, column = positions.locate(loc, key=at_key)
    return Issue(file, line, column, path, message)


def _merge(issues: list[Issue]) -> list[Issue]:
    """Drop exact repeats (pydantic can report one fault through several routes)."""
    return list(dict.fromkeys(issues))
