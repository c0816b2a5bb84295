"""YAML text → validated ``Scene``, with every problem located by file:line:column.

PyYAML's node tree keeps the position of every key and value; pydantic's
errors carry a field path. Joining the two gives errors such as
``scene.yaml:12:13: bodies[3].radius: must be greater than 0 (got -0.5)``.
"""

from __future__ import annotations

import difflib
import functools
import io
import re
import reprlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from ..errors import Issue, SceneError
from . import camera as camera_model
from . import model
from .assemble import check_anchors
from .files import Roots, file_checks
from .limits import check_limits, check_particles
from .model import Scene

Loc = tuple[str | int, ...]
MAX_FILE_BYTES = 16 * 1024 * 1024


@dataclass
class Positions:
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


def load_scene(path: str | Path, assets: tuple[Path, ...] = ()) -> Scene:
    """Read and validate a scene file; raise ``SceneError`` listing every problem.
    ``assets``: the ``--assets`` folders its files may also be in."""
    return parse_scene(read_file(path), str(path), assets)


def parse_scene(data: str | bytes, file: str = "<string>", assets: tuple[Path, ...] = ()) -> Scene:
    """Validate scene text (YAML; JSON is YAML too)."""
    text, raw, positions = read_document(data, file)
    return validate_data(raw, positions, text, file, assets=assets)


def read_file(path: str | Path) -> bytes:
    """A scene-like file's bytes (at most 16 MiB + 1), or a located ``SceneError``."""
    file = str(path)
    try:
        with open(path, "rb") as stream:
            return stream.read(MAX_FILE_BYTES + 1)  # never more: /dev/zero is a file too
    except FileNotFoundError:
        raise SceneError([Issue(file, 1, 1, "", "no such file")]) from None
    except IsADirectoryError:
        raise SceneError([Issue(file, 1, 1, "", "this is a folder, not a scene file")]) from None
    except ValueError:
        raise SceneError([Issue(file, 1, 1, "", "a path cannot hold a NUL byte")]) from None
    except OSError as error:
        raise SceneError([Issue(file, 1, 1, "", f"cannot read: {error.strerror}")]) from None


def read_document(data: str | bytes, file: str = "<string>") -> tuple[str, Any, Positions]:
    """YAML text → (the text, plain data, where each value is): for scene templates,
    which are sampled into plain data before ``validate_data`` checks it."""
    text = _decode(data, file)
    raw, positions = _parse_yaml(text, file)
    return text, raw, positions


def dump_yaml(data: Any) -> str:
    """Plain data as block YAML (keys in their order; short lists of scalars in flow style).

    >>> print(dump_yaml({"seed": 3, "bodies": [{"kind": "ball", "position": [1.5, 2]}]}), end="")
    seed: 3
    bodies:
    - kind: ball
      position: [1.5, 2]
    """
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


class _Dumper(yaml.SafeDumper):
    def represent_list(self, data: Any) -> yaml.Node:  # type: ignore[override]
        flat = all(isinstance(item, int | float | str | bool) for item in data)
        return self.represent_sequence(_CORE + "seq", data, flow_style=flat or None)


_Dumper.add_representer(list, _Dumper.represent_list)
_Dumper.add_representer(tuple, _Dumper.represent_list)


M = TypeVar("M", bound=BaseModel)


def validate_part(kind: type[M], raw: Any, positions: Positions, text: str, file: str) -> M:
    """Validate ``raw`` (keys at the top of the file, such as a template's ``accept:``) as
    ``kind``, with errors located like a scene's."""
    try:
        return kind.model_validate(raw)
    except ValidationError as error:
        found = error.errors(include_url=False)
        issues = _merge([_issue(e, raw, positions, file) for e in found[:MAX_ISSUES]])
        raise SceneError(issues, text, omitted=max(0, len(found) - MAX_ISSUES)) from None


def validate_data(
    raw: Any,
    positions: Positions,
    text: str,
    file: str = "<string>",
    base_dir: Path | None = None,
    *,
    assets: tuple[Path, ...] = (),
) -> Scene:
    """Plain data → ``Scene``, every problem located through ``positions`` (in ``text``).

    ``base_dir``: where the files a scene names are looked for (default: the file's folder;
    none for ``<string>``)."""
    try:
        scene = Scene.model_validate(raw)
    except ValidationError as error:
        found = error.errors(include_url=False)
        issues = _merge([_issue(e, raw, positions, file) for e in found[:MAX_ISSUES]])
        raise SceneError(issues, text, omitted=max(0, len(found) - MAX_ISSUES)) from None
    problems = (
        model.cross_check(scene)
        or check_particles(scene)
        or check_anchors(scene)
        or check_limits(scene)
    )
    if base_dir is None and file != "<string>":
        base_dir = Path(file).parent
    if base_dir is not None:
        roots = Roots(base_dir, assets)
        problems += file_checks(scene.audio, scene.look, roots, scene.bodies, scene.script)
    if problems:
        issues = [
            Issue(file, *positions.locate(loc), format_path(loc), message)
            for loc, message in problems[:MAX_ISSUES]
        ]
        raise SceneError(issues, text, omitted=max(0, len(problems) - MAX_ISSUES))
    return scene


def _decode(data: str | bytes, file: str) -> str:
    if isinstance(data, bytes):
        if len(data) > MAX_FILE_BYTES:
            message = "file is larger than 16 MiB; is it a scene?"
            raise SceneError([Issue(file, 1, 1, "", message)])
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            before = data[: error.start]
            line = before.count(b"\n") + 1
            column = len(before) - (before.rfind(b"\n") + 1) + 1
            message = f"not UTF-8 text (byte 0x{data[error.start]:02x}); save the file as UTF-8"
            raise SceneError([Issue(file, line, column, "", message)]) from None
    else:
        if len(data) > MAX_FILE_BYTES:
            message = "the text is longer than 16 MiB; is it a scene?"
            raise SceneError([Issue(file, 1, 1, "", message)])
        text = data.removeprefix("\ufeff")
    bad = _NOT_PRINTABLE.search(text)
    if bad is not None:
        line, column = _line_column(text, bad.start())
        char = bad.group()
        what = "a NUL byte" if char == "\0" else f"the character U+{ord(char):04X}"
        if "\ud800" <= char <= "\udfff":
            what = f"a lone surrogate (U+{ord(char):04X})"
        message = f"{what} is not allowed in a scene file (YAML allows only printable text)"
        raise SceneError([Issue(file, line, column, "", message)], text)
    return text


# What YAML may contain (its c-printable set). libyaml also refuses a byte-order mark
# inside the text, so both parsers get the same verdict here, with a location.
_NOT_PRINTABLE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)


def _line_column(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of ``text[index]``, counting line breaks as YAML does."""
    before = text[:index]
    lines = before.splitlines(keepends=True)
    if not lines or lines[-1].rstrip("\r\n\x85\u2028\u2029") != lines[-1]:
        return len(lines) + 1, 1
    return len(lines), len(lines[-1]) + 1


def _parse_yaml(text: str, file: str) -> tuple[Any, Positions]:
    reader = _Reader(text, file)
    try:
        raw = reader.document()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = error.problem or "invalid YAML"
        context = f" ({error.context})" if error.context else ""
        issue = Issue(file, line, column, "", f"YAML syntax: {problem}{context}")
        raise SceneError([issue], text) from None
    except yaml.YAMLError as error:  # a reader error: no mark, perhaps a position
        position = getattr(error, "position", None)
        line, column = (1, 1)
        if isinstance(position, int) and 0 <= position <= len(text):
            line, column = _line_column(text, position)
        message = f"YAML: {str(error).splitlines()[0]}"
        raise SceneError([Issue(file, line, column, "", message)], text) from None
    finally:
        reader.dispose()
    if reader.issues:
        raise SceneError(reader.issues[:MAX_ISSUES], text, omitted=reader.omitted)
    if not isinstance(raw, dict):
        kind = type(raw).__name__ if raw is not None else "nothing"
        message = f"expected a mapping with keys such as 'world', 'timing', 'bodies'; got {kind}"
        raise SceneError([Issue(file, 1, 1, "", message)], text)
    return raw, reader.positions


class _PyParser(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser):
    """PyYAML's own parser, for when libyaml is missing: the same events, slower."""

    def __init__(self, text: str) -> None:
        yaml.reader.Reader.__init__(self, text)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)

    def dispose(self) -> None:
        self.states = []
        self.state = None


try:
    from yaml._yaml import CParser as _CParser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _CParser = None  # type: ignore[assignment, misc]
USE_LIBYAML = _CParser is not None
"""Parse with libyaml when PyYAML has it (tests switch this off to check the fallback)."""

_CORE = "tag:yaml.org,2002:"
_NULL, _BOOL, _INT, _FLOAT, _STR = (
    f"{_CORE}{name}" for name in ("null", "bool", "int", "float", "str")
)
_MERGE = f"{_CORE}merge"
# PyYAML's implicit types, less timestamps and '=' (a date or '=' in a scene is text).
_IMPLICIT = {
    first: [
        (tag, pattern) for tag, pattern in resolvers if tag in (_NULL, _BOOL, _INT, _FLOAT, _MERGE)
    ]
    for first, resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.items()
}
_CONSTRUCT = yaml.constructor.SafeConstructor()
_SCALARS: dict[str, Callable[[yaml.ScalarNode], Any]] = {
    _NULL: _CONSTRUCT.construct_yaml_null,
    _BOOL: _CONSTRUCT.construct_yaml_bool,
    _INT: _CONSTRUCT.construct_yaml_int,
    _FLOAT: _CONSTRUCT.construct_yaml_float,
    _STR: _CONSTRUCT.construct_yaml_str,
}
MAX_DEPTH = 64
"""Lists and mappings nested deeper than this are refused (a scene needs about 8)."""
MAX_NODES = 250_000
"""Values in the document, counting every use of an alias as a copy of what it names."""
MAX_ALIASES = 10_000
"""Uses of aliases (``*name``) in one document."""
MAX_NUMBER_CHARS = 100
"""A number written with more characters than this is refused before it is converted."""
MAX_ISSUES = 1_000
"""Issues kept in a SceneError; the rest are only counted (the report shows even fewer)."""
_INT_LIMIT = 2**63


class _Fatal(Exception):
    """Stops reading: the document cannot be read any further (or should not be)."""


@dataclass
class _Reader:
    """YAML events → plain Python data, with positions, limits and checks on the way.

    One pass over the parser's events, without PyYAML's node tree: an alias is the
    same Python object as its anchor (read once), and every limit (depth, size with
    aliases expanded, alias count, number length) is checked before the next event.
    """

    text: str
    file: str
    positions: Positions = field(default_factory=Positions)
    issues: list[Issue] = field(default_factory=list)
    omitted: int = 0
    anchors: dict[str, tuple[Any, int]] = field(default_factory=dict)
    open_anchors: set[str] = field(default_factory=set)
    size: int = 0
    aliases: int = 0

    def __post_init__(self) -> None:
        self.parser: Any = _CParser(self.text) if USE_LIBYAML else _PyParser(self.text)

    def dispose(self) -> None:
        self.parser.dispose()

    def document(self) -> Any:
        """The single document's data (``SceneError`` for anything wrong with it)."""
        data = None
        try:
            self._expect(yaml.StreamStartEvent)
            if isinstance(self.parser.peek_event(), yaml.StreamEndEvent):
                lines = io.StringIO(self.text)  # one line at a time: it may be megabytes
                if all(not line.strip() or line.lstrip().startswith("#") for line in lines):
                    message = "the file is empty; a scene needs at least a 'bodies' list"
                else:
                    message = "the file holds no document; a scene needs at least a 'bodies' list"
                raise SceneError([Issue(self.file, 1, 1, "", message)], self.text)
            self._expect(yaml.DocumentStartEvent)
            data, _ = self._value((), 0)
            self._expect(yaml.DocumentEndEvent)
            event = self.parser.get_event()
            if not isinstance(event, yaml.StreamEndEvent):
                line, column = _mark(event)
                message = "YAML syntax: a second document starts here; a scene file holds one"
                self._add(line, column, (), message)
                raise _Fatal
        except _Fatal:
            pass
        return None if self.issues else data

    def _expect(self, kind: type[yaml.Event]) -> yaml.Event:
        event = self.parser.get_event()
        assert isinstance(event, kind), f"the YAML parser gave {event!r}, not {kind.__name__}"
        return event

    def _add(self, line: int, column: int, loc: Loc, message: str) -> None:
        if len(self.issues) < MAX_ISSUES:
            self.issues.append(Issue(self.file, line, column, format_path(loc), message))
        else:
            self.omitted += 1

    def _fatal(self, event: yaml.Event, loc: Loc, message: str) -> NoReturn:
        self._add(*_mark(event), loc, message)
        raise _Fatal

    def _grow(self, event: yaml.Event, loc: Loc, amount: int) -> None:
        self.size += amount
        if self.size > MAX_NODES:
            self._fatal(
                event,
                loc,
                f"the document holds more than {MAX_NODES:,} values (aliases count as the "
                "values they repeat); a scene is far smaller",
            )

    def _value(self, loc: Loc, depth: int) -> tuple[Any, int]:
        """Read one value at ``loc``: (its data, its size with aliases expanded)."""
        event = self.parser.get_event()
        self.positions.values[loc] = _mark(event)
        if isinstance(event, yaml.AliasEvent):
            return self._alias(event, loc)
        self._grow(event, loc, 1)
        anchor = event.anchor
        if anchor is not None:
            if anchor in self.anchors or anchor in self.open_anchors:
                self._fatal(event, loc, f"YAML: the anchor &{anchor} is defined twice")
            self.open_anchors.add(anchor)
        if isinstance(event, yaml.ScalarEvent):
            data, size = self._scalar(event, loc), 1
        elif isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
            if depth >= MAX_DEPTH:
                self._fatal(event, loc, f"lists and mappings are nested more than {MAX_DEPTH} deep")
            is_list = isinstance(event, yaml.SequenceStartEvent)
            self._collection_tag(event, loc, _CORE + ("seq" if is_list else "map"))
            if is_list:
                data, size = self._sequence(loc, depth)
            else:
                data, size = self._mapping(loc, depth)
        else:  # pragma: no cover - the parser's grammar allows nothing else here
            self._fatal(event, loc, f"YAML: unexpected {type(event).__name__}")
        if anchor is not None:
            self.open_anchors.discard(anchor)
            self.anchors[anchor] = (data, size)
        return data, size

    def _alias(self, event: yaml.AliasEvent, loc: Loc) -> tuple[Any, int]:
        name = event.anchor
        if name in self.open_anchors:
            self._fatal(
                event,
                loc,
                f"the alias *{name} is inside the value its anchor &{name} names "
                "(a recursive alias never ends)",
            )
        if name not in self.anchors:
            self._fatal(event, loc, f"the alias *{name} comes before any anchor &{name}")
        self.aliases += 1
        if self.aliases > MAX_ALIASES:
            self._fatal(event, loc, f"more than {MAX_ALIASES:,} aliases in one document")
        data, size = self.anchors[name]
        self._grow(event, loc, size)
        return data, size

    def _sequence(self, loc: Loc, depth: int) -> tuple[list[Any], int]:
        items: list[Any] = []
        size = 1
        while not isinstance(self.parser.peek_event(), yaml.SequenceEndEvent):
            item, item_size = self._value((*loc, len(items)), depth + 1)
            items.append(item)
            size += item_size
        self.parser.get_event()
        return items, size

    def _mapping(self, loc: Loc, depth: int) -> tuple[dict[Any, Any], int]:
        own: dict[Any, Any] = {}
        first_line: dict[Any, int] = {}
        merged: list[dict[Any, Any]] = []
        size = 1
        while not isinstance(self.parser.peek_event(), yaml.MappingEndEvent):
            key_event = self.parser.peek_event()
            key, usable = self._key(loc, depth)
            line, column = _mark(key_event)
            if not usable:
                size += self._value((*loc, "?"), depth + 1)[1]
                continue
            if key is _MERGE_KEY:
                value, value_size = self._value((*loc, "<<"), depth + 1)
                size += value_size
                merged += self._merge_sources(value, key_event, loc)
                continue
            path_key = key if isinstance(key, str | int) else str(key)
            if key in first_line:
                message = f"duplicate key {_show(key)} (first at line {first_line[key]})"
                self._add(line, column, (*loc, path_key), message)
                size += self._value((*loc, path_key), depth + 1)[1]
                continue
            first_line[key] = line
            self.positions.keys[(*loc, path_key)] = (line, column)
            value, value_size = self._value((*loc, path_key), depth + 1)
            own[key] = value
            size += value_size
        self.parser.get_event()
        if not merged:
            return own, size
        result: dict[Any, Any] = {}
        for source in reversed(merged):  # the first mapping named wins, as in PyYAML
            result.update(source)
        result.update(own)
        return result, size

    def _merge_sources(self, value: Any, event: yaml.Event, loc: Loc) -> list[dict[Any, Any]]:
        sources = value if isinstance(value, list) else [value]
        if all(isinstance(source, dict) for source in sources):
            return sources
        line, column = _mark(event)
        message = "'<<' merges a mapping (such as *defaults) or a list of mappings"
        self._add(line, column, (*loc, "<<"), message)
        return []

    def _key(self, loc: Loc, depth: int) -> tuple[Any, bool]:
        """Read a mapping key: (the key, whether it can be one)."""
        event = self.parser.peek_event()
        if isinstance(event, yaml.ScalarEvent):
            self.parser.get_event()
            self._grow(event, loc, 1)
            if event.tag is None and event.implicit[0] and event.value == "<<":
                return _MERGE_KEY, True
            key = self._scalar(event, loc)
            if event.anchor is not None:
                if event.anchor in self.anchors or event.anchor in self.open_anchors:
                    self._fatal(event, loc, f"YAML: the anchor &{event.anchor} is defined twice")
                self.anchors[event.anchor] = (key, 1)
            return key, True
        if isinstance(event, yaml.AliasEvent):
            self.parser.get_event()
            data, _ = self._alias(event, loc)
            if isinstance(data, str | int | float | bool) or data is None:
                return data, True
        else:
            self._value((*loc, "?"), depth + 1)
        line, column = _mark(event)
        self._add(line, column, loc, "a key must be a name, not a list or a mapping")
        return None, False

    def _collection_tag(self, event: yaml.CollectionStartEvent, loc: Loc, core: str) -> None:
        tag = event.tag
        if tag is not None and tag != "!" and tag != core:
            what = "a list" if core.endswith("seq") else "a mapping"
            self._add(*_mark(event), loc, f"the tag {_short_tag(tag)} is not allowed on {what}")

    def _scalar(self, event: yaml.ScalarEvent, loc: Loc) -> Any:
        value = event.value
        tag = event.tag
        if tag is None or tag == "!":
            if not event.implicit[0]:
                return value
            tag = _STR
            for candidate, pattern in _IMPLICIT.get(value[:1], ()):
                if pattern.match(value):
                    tag = candidate
                    break
            if tag in (_STR, _MERGE):
                return value
            if tag == _INT and _PLAIN_INT.match(value):
                return self._int(int(value), event, loc)
            if tag == _FLOAT and _PLAIN_FLOAT.match(value):
                return float(value)
        construct = _SCALARS.get(tag)
        if construct is None:
            message = (
                f"the tag {_short_tag(tag)} is not allowed; write a plain value "
                "(only !!str, !!int, !!float, !!bool and !!null)"
            )
            self._add(*_mark(event), loc, message)
            return None
        if tag in (_INT, _FLOAT) and len(value) > MAX_NUMBER_CHARS:
            message = f"a number written with {len(value):,} characters is too long"
            self._add(*_mark(event), loc, message)
            return None
        try:
            data = construct(yaml.ScalarNode(tag, value))
        except (ArithmeticError, LookupError, ValueError, TypeError):  # PyYAML checks little
            message = f"{_show(value)} is not a valid {_short_tag(tag)} value"
            self._add(*_mark(event), loc, message)
            return None
        if isinstance(data, int) and not isinstance(data, bool):
            return self._int(data, event, loc)
        return data

    def _int(self, number: int, event: yaml.ScalarEvent, loc: Loc) -> int | None:
        if abs(number) < _INT_LIMIT:
            return number
        message = f"the integer {_show(event.value)} is out of range (at most 2**63 - 1 either way)"
        self._add(*_mark(event), loc, message)
        return None


# Fast paths for the common numbers; the rest (octal, hex, '1_000', '1:30') go through PyYAML.
_PLAIN_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]{0,30})\Z")
_PLAIN_FLOAT = re.compile(r"[-+]?[0-9]{0,30}\.[0-9]{0,30}(?:[eE][-+][0-9]{1,3})?\Z")
_MERGE_KEY = object()
"""The key ``<<``: merge the mapping(s) it names into this one."""


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix(_CORE) if tag.startswith(_CORE) else tag


def _mark(event: yaml.Event) -> tuple[int, int]:
    mark = event.start_mark
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


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


def format_path(loc: Loc) -> str:
    """A field path as the errors show it: ``("bodies", 3, "radius")`` → ``bodies[3].radius``."""
    out = ""
    for part in loc:
        if isinstance(part, str) and len(part) > 40:
            part = part[:37] + "..."  # a key can be megabytes long
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _show(value: Any) -> str:
    if isinstance(value, str) and len(value) > 100:
        value = value[:100]  # repr of the head only: a value may be megabytes long
    elif isinstance(value, list | dict) and len(value) > 10:
        return f"a {type(value).__name__} of {len(value):,} items"
    text = _REPR.repr(value) if isinstance(value, list | dict | tuple) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


_REPR = reprlib.Repr()
_REPR.maxlevel = 2


@functools.cache
def _all_field_names() -> set[str]:
    names: set[str] = set()
    for value in [*vars(model).values(), *vars(camera_model).values()]:
        if isinstance(value, type) and issubclass(value, BaseModel):
            names |= set(value.model_fields)
    return names


def _issue(error: Any, raw: Any, positions: Positions, file: str) -> Issue:
    loc = _data_path(tuple(error["loc"]), raw)
    kind = error["type"]
    message = str(error["msg"])
    value = error.get("input")
    path = format_path(loc)
    at_key = False
    if kind == "missing" and loc and isinstance(loc[-1], int) and isinstance(value, list):
        loc = loc[:-1]  # a short tuple: one issue at the list, not one per absent item
        path = format_path(loc)
        message = f"too few items (got {len(value)}: {_show(value)})"
    elif kind == "missing":
        message = f"missing required field {loc[-1]!r}"
        loc = loc[:-1]
    elif kind in ("too_short", "too_long") and "actual_length" in (error.get("ctx") or {}):
        ctx = error["ctx"]
        most = kind == "too_long"
        bound = ctx.get("max_length" if most else "min_length")
        items = "item" if bound == 1 else "items"
        got = ctx["actual_length"]
        message = f"expected {'at most' if most else 'at least'} {bound} {items} (got {got})"
    elif kind == "extra_forbidden":
        unknown = str(loc[-1])
        names = sorted(_all_field_names() - {unknown})  # 'a' is a field of segments, not here
        close = difflib.get_close_matches(unknown[:100], names, n=1, cutoff=0.7)
        message = f"unknown field {_show(unknown)}" + (
            f" (did you mean {close[0]!r}?)" if close else ""
        )
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
            path = format_path(loc)
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
            path = format_path(loc)
    elif kind == "string_pattern_mismatch" and loc[-2:] == ("say", "voice"):
        message = (
            "expected an espeak-ng voice name: a language code with an optional variant,"
            f" such as 'en-us', 'en-gb' or 'en-gb+f3' (got {_show(value)})"
        )
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
            ("String should have ", "expected "),
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
