"""Scene templates: a scene file whose values may be distributions, sampled into items.

Any value may be ``{uniform: [a, b]}`` (numbers, or two equal-length lists: per
component), ``{normal: [mu, sigma], clip: [lo, hi]}`` (redrawn until inside ``clip``),
``{choice: [...], weights: [...]}`` (the chosen entry may itself hold distributions) or
``{randint: [a, b]}`` (both ends included). ``variables:`` names values drawn once per
item and used anywhere as ``$name`` (also inside a distribution's parameters); a body
entry's ``repeat: N`` (N may be a distribution) makes N copies, each drawn anew and
named ``<name>_<i>``. ``accept:``, ``label:`` and ``balance:`` are the dataset's
(``scene.outcome``) and never reach the scene.

Every draw comes from the item's seed and the field's path in the template, nothing
else: item *i* is the same whatever was sampled before it, in whatever process, and
setting one variable (a counterfactual twin) leaves the item's other draws alone. The
draws use ``random.Random.random`` only (the one method whose sequence Python promises
to keep), transformed here.

>>> template = parse_template('''
... variables: {speed: {uniform: [2, 4]}}
... bodies:
...   - {kind: floor, y: 0}
...   - {kind: ball, radius: {choice: [0.2, 0.3]}, position: [0, 1], velocity: [$speed, 0],
...      repeat: {randint: [1, 3]}}
... ''')
>>> item = sample(template, 7)
>>> item == sample(template, 7), item.seed != sample(template, 8).seed
(True, True)
>>> 2 <= item.values["speed"] <= 4, item.scene.bodies[1].velocity[0] == item.values["speed"]
(True, True)
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import math
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..errors import Issue, SceneError
from .loader import MAX_ISSUES, Loc, Positions, format_path, read_document, read_file, validate_part
from .loader import validate_data as _validate_data
from .model import MAX_BODIES, WALLS_NAME, Scene, body_names
from .outcome import Rules, matches

DISTRIBUTIONS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "uniform": frozenset({"uniform"}),
        "normal": frozenset({"normal", "clip"}),
        "choice": frozenset({"choice", "weights"}),
        "randint": frozenset({"randint"}),
    }
)
"""Each distribution's head key → every key its mapping may hold."""
DATASET_KEYS = ("variables", "accept", "label", "balance", "retries", "counterfactual")
"""Top-level keys of a template that are not the scene's."""
MAX_SEED = 2**63 - 1
CLIP_TRIES = 100
"""A clipped normal is redrawn this many times before it is clamped to ``clip``."""
_VARIABLE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True, slots=True)
class Template:
    """A parsed, checked template: the file's data, where each value is, and its hash."""

    file: str
    text: str = field(repr=False)
    data: Mapping[str, Any] = field(repr=False)
    positions: Positions = field(repr=False, compare=False)
    sha256: str
    rules: Rules = field(default_factory=Rules)
    """What the dataset asks of each item's outcome (``scene.outcome``)."""
    base_dir: Path | None = None
    """Where files the scene names (samples, images) are looked for."""

    @property
    def variables(self) -> tuple[str, ...]:
        found = self.data.get("variables")
        return tuple(found) if isinstance(found, dict) else ()


@dataclass(frozen=True, slots=True)
class Item:
    """One sampled scene of a template."""

    index: int
    seed: int
    values: Mapping[str, Any]
    """The named variables' values."""
    data: Mapping[str, Any] = field(repr=False, compare=False)
    """The concrete scene as plain data (what ``sample`` prints)."""
    scene: Scene = field(repr=False)
    attempt: int = 0


def item_seed(template_hash: str, global_seed: int, index: int, attempt: int = 0) -> int:
    """The seed of item ``index`` (0 to 2⁶³−1): from these numbers only.

    >>> item_seed("ab", 0, 0) == item_seed("ab", 0, 0) != item_seed("ab", 0, 1)
    True
    """
    key = f"{template_hash}:{global_seed}:{index}:{attempt}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "little") & MAX_SEED


def load_template(path: str | Path) -> Template:
    """Read and check a template file (``SceneError`` with located issues)."""
    return parse_template(read_file(path), str(path))


def parse_template(data: str | bytes, file: str = "<string>") -> Template:
    """Check a template's text: its distributions and variables, then item 0 as a scene."""
    text, raw, positions = read_document(data, file)
    issues = [  # an unknown key is shown at the key, the rest at their values
        Issue(file, *positions.locate(loc, key=message.startswith("unknown key")),
              format_path(loc), message)
        for loc, message in _check(raw)[:MAX_ISSUES]
    ]  # fmt: skip
    if issues:
        raise SceneError(issues, text)
    base_dir = Path(file).parent if file != "<string>" else None
    rules = validate_part(
        Rules, {k: raw[k] for k in DATASET_KEYS if k in raw}, positions, text, file
    )
    template = Template(file, text, raw, positions, _hash(raw, text), rules, base_dir)
    first = sample(template, 0)  # a template validates like a scene: its first item must be one
    problems = _check_rules(rules, first.scene, set(template.variables))
    twin = rules.counterfactual
    if not problems and twin is not None:  # and so must its counterfactual twin
        sample(template, 0, overrides={twin.variable: twin.value})
    if problems:
        raise SceneError(
            [Issue(file, *positions.locate(loc), format_path(loc), m) for loc, m in problems], text
        )
    return template


def _check_rules(rules: Rules, scene: Scene, variables: set[str]) -> list[tuple[Loc, str]]:
    """Names in the rules that item 0 does not have; a label balance needs a label."""
    bodies = [name for names in body_names(scene) for name in names]
    if scene.world.walls:
        bodies.append(WALLS_NAME + "/bottom")
    problems: list[tuple[Loc, str]] = [
        (loc, f"no body {name!r} in item 0 (nor copies {name}_0, ... or parts {name}/...)")
        for loc, name in rules.names()
        if not any(matches(name, body) for body in bodies)
    ]
    label = rules.label
    if label is not None and label.variable is not None and label.variable not in variables:
        problems.append(
            (("label", "variable"), f"no variable {label.variable!r} under 'variables:'")
        )
    twin = rules.counterfactual
    if twin is not None and twin.variable not in variables:
        message = f"no variable {twin.variable!r} under 'variables:'"
        problems.append((("counterfactual", "variable"), message))
    if rules.balance is not None and label is None:
        problems.append((("balance",), "balance needs a 'label:' to balance"))
    return problems


def _hash(raw: Any, text: str) -> str:
    try:
        canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):  # keys of mixed types, NaN: the text itself then
        canonical = text
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def sample(
    template: Template,
    index: int,
    global_seed: int = 0,
    *,
    attempt: int = 0,
    overrides: Mapping[str, Any] | None = None,
) -> Item:
    """Item ``index`` as a validated ``Scene`` (``SceneError`` located in the template).

    ``overrides`` sets named variables instead of drawing them (counterfactual pairs)."""
    seed = item_seed(template.sha256, global_seed, index, attempt)
    # drawn without noting where each value came from (a third of the draw's time): a
    # valid item never needs it; an invalid one is drawn again, the same, noting it
    drawer = _Drawer(template, seed, dict(overrides or {}), where=False)
    concrete = drawer.scene_data()
    if drawer.issues:  # (each issue locates itself: it does not need the positions)
        raise SceneError(drawer.issues[:MAX_ISSUES], template.text)
    try:
        scene = _validate_data(
            concrete, drawer.positions, template.text, template.file, template.base_dir
        )
    except SceneError:
        drawer = _Drawer(template, seed, dict(overrides or {}))
        concrete = drawer.scene_data()
        try:
            scene = _validate_data(
                concrete, drawer.positions, template.text, template.file, template.base_dir
            )
        except SceneError as error:
            raise _in_template(error, drawer.origins, index) from None
    values = MappingProxyType(dict(drawer.values))
    return Item(index, seed, values, MappingProxyType(concrete), scene, attempt)


_BODY_PATH = re.compile(r"bodies\[(\d+)\]")


def _in_template(error: SceneError, origins: list[tuple[int, str]], index: int) -> SceneError:
    """The sampled scene's issues on the template's paths, once per template field."""
    issues: dict[tuple[int, int, str], Issue] = {}
    for issue in error.issues:
        path, note = issue.path, ""
        match = _BODY_PATH.match(path)
        if match is not None and int(match[1]) < len(origins):
            entry, note = origins[int(match[1])]
            path = f"bodies[{entry}]{path[match.end() :]}"
        message = f"{issue.message} (item {index}{note})"
        key = (issue.line, issue.column, path)
        issues.setdefault(key, Issue(issue.file, issue.line, issue.column, path, message))
    return SceneError(list(issues.values()), error.source, omitted=error.omitted)


def is_template(data: str | bytes, file: str = "<string>") -> bool:
    """Whether a file that failed as a scene looks like a template (dataset keys,
    distributions, ``repeat`` or ``$variables``), so `validate` checks it as one. A scan
    of the text, not a second parse: a huge broken scene costs no more memory.

    Comments are not read: the examples' ``# yaml-language-server: $schema=...`` header
    is not a ``$variable``.

    >>> is_template("variables: {v: {uniform: [1, 2]}}"), is_template("name: x")
    (True, False)
    >>> is_template("name: x  # yaml-language-server: $schema=scene.schema.json")
    False
    """
    text = data.encode("utf-8", "replace") if isinstance(data, str) else data
    if not any(word in text for word in _TEMPLATE_WORDS):
        return False  # a plain substring scan first: ten times faster than the patterns
    return _TEMPLATE_TEXT.search(_COMMENT.sub(b"", text)) is not None


_TEMPLATE_WORDS = (
    b"$", b"variables", b"accept", b"label", b"balance", b"retries", b"counterfactual",
    b"uniform", b"normal", b"choice", b"randint", b"repeat",
)  # fmt: skip
"""Every word `_TEMPLATE_TEXT` needs: a text without any of them is no template."""


_COMMENT = re.compile(rb"(?:^|(?<=\s))#[^\n]*", re.MULTILINE)
"""A YAML comment: ``#`` at a line's start or after a space, to the line's end."""


_TEMPLATE_TEXT = re.compile(
    rb"^(?:variables|accept|label|balance|retries|counterfactual)[ \t]*:"
    rb"|[{,\s](?:uniform|normal|choice|randint|repeat)[ \t]*:"
    rb"|[\s\[{,:]\$[A-Za-z_]",
    re.MULTILINE,
)


def _is_distribution(node: Any) -> bool:
    return isinstance(node, dict) and any(head in node for head in DISTRIBUTIONS)


def _check(raw: Any) -> list[tuple[Loc, str]]:
    """Static checks of a template's structure: distributions, variables, repeats."""
    if not isinstance(raw, dict):
        return []
    problems: list[tuple[Loc, str]] = []
    names: list[str] = []
    variables = raw.get("variables")
    if variables is not None and not isinstance(variables, dict):
        problems.append((("variables",), "expected a mapping of names to values"))
    for name, value in (variables or {}).items() if isinstance(variables, dict) else ():
        loc: Loc = ("variables", str(name))
        if not isinstance(name, str) or not _VARIABLE.fullmatch("$" + name):
            problems.append((loc, "a variable's name is letters, digits and '_'"))
        problems += _check_node(value, loc, set(names))
        names.append(str(name))
    known = set(names)
    for key, value in raw.items():
        if key in DATASET_KEYS:
            continue
        problems += _check_node(value, (key,), known)
    for i, body in enumerate(raw.get("bodies") or ()):
        if isinstance(body, dict) and "repeat" in body:
            count = body["repeat"]
            literal = not _is_distribution(count) and not _is_reference(count)
            if literal and (isinstance(count, bool) or not isinstance(count, int) or count < 0):
                message = f"expected a count of 0 or more (got {count!r})"
                problems.append((("bodies", i, "repeat"), message))
    return problems


def _is_reference(node: Any) -> bool:
    return isinstance(node, str) and _VARIABLE.fullmatch(node) is not None


def _check_node(node: Any, loc: Loc, known: set[str]) -> list[tuple[Loc, str]]:
    if isinstance(node, str):
        match = _VARIABLE.fullmatch(node)
        if match and match[1] not in known:
            hint = f"; defined: {', '.join(sorted(known))}" if known else ""
            return [(loc, f"unknown variable {node!r} (define it under 'variables:'{hint})")]
        return []
    if isinstance(node, list):
        return [p for i, item in enumerate(node) for p in _check_node(item, (*loc, i), known)]
    if not isinstance(node, dict):
        return []
    if not _is_distribution(node):
        if len(node) == 1 and isinstance(head := next(iter(node)), str):
            close = difflib.get_close_matches(head, DISTRIBUTIONS, n=1, cutoff=0.8)
            if close and head != close[0]:  # {unifrm: [1, 5]}: else "expected a number" at a use
                return [
                    (
                        (*loc, head),
                        f"unknown key {head!r} (did you mean the distribution {close[0]!r}?)",
                    )
                ]
        return [p for key, value in node.items() for p in _check_node(value, (*loc, key), known)]
    heads = [head for head in DISTRIBUTIONS if head in node]
    if len(heads) > 1:
        return [(loc, f"one distribution per value, not {' and '.join(heads)}")]
    head = heads[0]
    problems = [
        ((*loc, key), f"unknown key {key!r} for {head}; expected {' or '.join(sorted(allowed))}")
        for allowed in [DISTRIBUTIONS[head]]
        for key in node
        if key not in allowed
    ]
    for key, value in node.items():
        problems += _check_node(value, (*loc, key), known)
    if problems:
        return problems
    if not any(isinstance(v, str) and _VARIABLE.search(v) for v in _leaves(node)):
        message = _parameters_problem(head, node)
        if message:
            problems.append(((*loc, head), message))
    return problems


def _leaves(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return [leaf for value in node.values() for leaf in _leaves(value)]
    if isinstance(node, list):
        return [leaf for value in node for leaf in _leaves(value)]
    return [node]


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _pair(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and all(_number(v) for v in value)


def _parameters_problem(head: str, node: dict[str, Any]) -> str | None:
    """What is wrong with a distribution's (resolved) parameters, or None."""
    value = node[head]
    if head == "uniform":
        if _pair(value):
            low, high = value
        elif (
            isinstance(value, list)
            and len(value) == 2
            and all(isinstance(v, list) and all(_number(x) for x in v) for v in value)
            and len(value[0]) == len(value[1])
        ):
            low, high = min(b - a for a, b in zip(*value, strict=True)), 0
            low, high = (0, 0) if low >= 0 else (1, 0)
        else:
            return "expected [low, high] (two numbers, or two lists of numbers of one length)"
        return f"low must not exceed high (got {value})" if low > high else None
    if head == "normal":
        if not _pair(value):
            return "expected [mean, standard deviation]"
        if value[1] < 0:
            return f"the standard deviation must be 0 or more (got {value[1]})"
        clip = node.get("clip")
        if clip is not None and (not _pair(clip) or clip[0] > clip[1]):
            return f"clip: expected [low, high] with low ≤ high (got {clip!r})"
        return None
    if head == "randint":
        ints = isinstance(value, list) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        )
        if not ints or len(value) != 2:
            return "expected [low, high], two whole numbers (both included)"
        return f"low must not exceed high (got {value})" if value[0] > value[1] else None
    if not isinstance(value, list) or not value:
        return "expected a non-empty list of values to choose from"
    weights = node.get("weights")
    if weights is None:
        return None
    if not isinstance(weights, list) or len(weights) != len(value):
        return f"weights: expected {len(value)} numbers, one per choice"
    if not all(_number(w) and w >= 0 for w in weights) or sum(weights) <= 0:
        return "weights: expected numbers ≥ 0 with a positive sum"
    return None


def _draw(head: str, node: dict[str, Any], rng: random.Random) -> Any:
    """One value from a checked distribution, using ``rng.random()`` only."""
    value = node[head]
    if head == "uniform":
        low, high = value
        if isinstance(low, list):
            return [a + (b - a) * rng.random() for a, b in zip(low, high, strict=True)]
        return low + (high - low) * rng.random()
    if head == "randint":
        low, high = value
        return min(high, low + math.floor(rng.random() * (high - low + 1)))
    if head == "normal":
        mean, sigma = value
        clip = node.get("clip")
        if clip is None:
            radius = math.sqrt(-2.0 * math.log(1.0 - rng.random()))
            return mean + sigma * radius * math.cos(2.0 * math.pi * rng.random())
        for _ in range(CLIP_TRIES):
            # Box–Muller; 1 - u is in (0, 1], so the logarithm is finite
            radius = math.sqrt(-2.0 * math.log(1.0 - rng.random()))
            drawn = mean + sigma * radius * math.cos(2.0 * math.pi * rng.random())
            if clip[0] <= drawn <= clip[1]:
                return drawn
        return min(max(drawn, clip[0]), clip[1])
    return _pick(len(value), node.get("weights"), rng)


def _pick(count: int, weights: list[float] | None, rng: random.Random) -> int:
    """An index below ``count``, with probability proportional to ``weights``."""
    weights = weights or [1.0] * count
    point = rng.random() * sum(weights)
    total = 0.0
    for i, weight in enumerate(weights):
        total += weight
        if point < total:
            return i
    return max(i for i, weight in enumerate(weights) if weight > 0)  # rounding at the top


class _Drawer:
    """Walks a template, drawing every distribution, and keeps each concrete value's
    template position (so the scene's errors point at the template's lines)."""

    def __init__(
        self, template: Template, seed: int, overrides: dict[str, Any], *, where: bool = True
    ) -> None:
        self.template = template
        self.where = where
        """Note each concrete value's template position in ``positions``."""
        self.seed = seed
        self.overrides = overrides
        self.values: dict[str, Any] = {}
        self.positions = Positions()
        self.issues: list[Issue] = []
        self.origins: list[tuple[int, str]] = []
        """Each concrete body's template entry, and which copy it is."""

    def scene_data(self) -> dict[str, Any]:
        raw = self.template.data
        for name, spec in (raw.get("variables") or {}).items():
            loc: Loc = ("variables", name)
            if name in self.overrides:
                self.values[name] = self.overrides[name]
            else:
                self.values[name] = self._value(spec, loc, (), "")
        unknown = sorted(set(self.overrides) - set(self.values))
        if unknown:
            self._issue(("variables",), f"no variable named {unknown[0]!r} to set")
        out: dict[str, Any] = {}
        for key, value in raw.items():
            if key in DATASET_KEYS:
                continue
            if self.where:
                self.positions.keys[(key,)] = self._where((key,), key=True)
            if key == "bodies" and isinstance(value, list):
                out[key] = self._bodies(value)
            else:
                out[key] = self._value(value, (key,), (key,), "")
        out.pop("seed", None)  # the item's seed replaces the template's
        head = {"name": out.pop("name")} if "name" in out else {}
        return {**head, "seed": self.seed, **out}

    def _where(self, loc: Loc, *, key: bool = False) -> tuple[int, int]:
        return self.template.positions.locate(loc, key=key)

    def _issue(self, loc: Loc, message: str) -> None:
        self.issues.append(Issue(self.template.file, *self._where(loc), format_path(loc), message))

    def _bodies(self, entries: list[Any]) -> list[Any]:
        bodies: list[Any] = []
        for i, entry in enumerate(entries):
            loc: Loc = ("bodies", i)
            if not (isinstance(entry, dict) and "repeat" in entry):
                self.origins.append((i, ""))
                bodies.append(self._value(entry, loc, ("bodies", len(bodies)), ""))
                continue
            count = self._value(entry["repeat"], (*loc, "repeat"), None, "")
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                self._issue((*loc, "repeat"), f"expected a count of 0 or more (got {count!r})")
                continue
            if len(bodies) + count > MAX_BODIES:
                self._issue((*loc, "repeat"), f"more than {MAX_BODIES:,} bodies in all")
                return bodies
            rest = {key: value for key, value in entry.items() if key != "repeat"}
            width = len(str(max(count - 1, 0)))
            for copy_index in range(count):
                body = self._value(rest, loc, ("bodies", len(bodies)), f"*{copy_index}")
                if isinstance(body, dict) and isinstance(body.get("name"), str):
                    body["name"] = f"{body['name']}_{copy_index:0{width}d}"
                self.origins.append((i, f", copy {copy_index}"))
                bodies.append(body)
        return bodies

    def _value(self, node: Any, loc: Loc, out: Loc | None, copy_tag: str) -> Any:
        """The concrete value of ``node`` (template path ``loc``; concrete path ``out``)."""
        if out is not None:
            if not self.where:
                out = None  # (the concrete paths are for the positions only)
            else:
                self.positions.values[out] = self._where(loc)
        if isinstance(node, str):
            match = _VARIABLE.fullmatch(node)
            if match is None:
                return node
            if match[1] not in self.values:
                self._issue(loc, f"unknown variable {node!r}")
                return None
            return copy.deepcopy(self.values[match[1]])
        if isinstance(node, list):
            return [
                self._value(item, (*loc, i), None if out is None else (*out, i), copy_tag)
                for i, item in enumerate(node)
            ]
        if not isinstance(node, dict):
            return node
        if not _is_distribution(node):
            result = {}
            for key, value in node.items():
                if out is not None:
                    self.positions.keys[(*out, key)] = self._where((*loc, key), key=True)
                child = None if out is None else (*out, key)
                result[key] = self._value(value, (*loc, key), child, copy_tag)
            return result
        head = next(h for h in DISTRIBUTIONS if h in node)
        # a choice's entries are drawn only once chosen (they may hold distributions)
        resolved = {
            key: value if key == "choice" and isinstance(value, list)
            else self._value(value, (*loc, key), None, copy_tag)
            for key, value in node.items()
        }  # fmt: skip
        problem = _parameters_problem(head, resolved)
        if problem is not None:
            self._issue((*loc, head), problem)
            return None
        rng = random.Random(f"{self.seed}:{format_path(loc)}{copy_tag}")
        drawn = _draw(head, resolved, rng)
        if head == "choice":
            entry = resolved["choice"][drawn]
            if node["choice"] is resolved["choice"]:
                return self._value(entry, (*loc, "choice", drawn), out, copy_tag)
            return entry  # from a variable: already concrete
        return drawn
