"""Fuzzing the loader: mutated example scenes give a Scene or a SceneError, never a traceback.

The mutations work on the text (deletions, insertions of YAML syntax and of any Unicode,
surrogates and control characters included, truncation, duplicated slices, huge repeats,
deep nesting, extreme numbers) and on the data (a value swapped for one of another type,
a key dropped), starting from every file in ``scenes/``. The quick run is part of the
default tests (derandomized: the same cases on every machine); the slow one runs
100,000 cases (``FUZZ_EXAMPLES`` changes that) and prints its counts.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import resource
import time
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from physics_scenes.cli import main
from physics_scenes.errors import SceneError
from physics_scenes.scene.loader import parse_scene

from helpers import SCENES

pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")
TEXTS = [path.read_text(encoding="utf-8") for path in sorted(SCENES.glob("*.yaml"))]
DATA = [yaml.safe_load(text) for text in TEXTS]
SECONDS = 2.0
"""CPU time allowed for one case (a small file; the corpus test times the big ones)."""
LOCATED = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<column>\d+): ")

NASTY = [
    "&a ", "*a", "*b", "&a [*a]", "&b {x: *b}", "<<: *a\n", "<<: ", "? ", "? [1]\n: 2\n",
    "!!float ", "!!int ", "!!bool ", "!!null ", "!!str ", "!!binary ", "!!set ", "!!omap ",
    "!!timestamp ", "!!python/object/apply:os.system ['true'] ", "!local ", "! ", "!<x> ",
    "---\n", "...\n", "%YAML 1.1\n", "%TAG ! tag:x,2000:\n", "- ", ": ", ", ", "\n  ", "\t",
    "#", "'", '"', "{", "}", "[", "]", "|", ">-", "~", "null", "true", "no", "=", "2001-13-45",
    "1e308", "1.0e+308", "-1.0e+999", "1.0e-999", ".nan", ".inf", "-.inf", "0x" + "f" * 40,
    "0o777", "0b101", "1_000", "190:20:30", "-0", "9" * 4301, "1" * 40, "-" + "9" * 19,
    "\x00", "\x07", "\x1b", "\x7f", "\x85", "\ufeff", "\u2028", "\ud800", "\udfff", "\r",
    "\U0001f600", "é", "\u200b",
]  # fmt: skip
EXTREME_NUMBERS = [
    "0", "-0", "0.0", "-1", "1e308", "1.0e+308", "-1.0e+308", "1.0e-320", ".nan", ".inf",
    "-.inf", "4294967296", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
    "1" + "0" * 100, "9" * 4301, "0x7fffffffffffffff", "1e6", "1000000.0001",
    "1.7976931348623157e+308",
]  # fmt: skip

characters = st.characters(codec=None, exclude_categories=())  # surrogates and controls too
values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(characters, max_size=8)
    | st.sampled_from(["ball", "box", "chain", "walker", "fixed", "follow", "red", "world"]),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def text_mutation(draw: st.DrawFn, text: str) -> str:
    n = len(text)
    i = draw(st.integers(0, n))
    j = draw(st.integers(i, min(n, i + 200)))
    kind = draw(
        st.sampled_from(
            [
                "delete",
                "nasty",
                "unicode",
                "truncate",
                "duplicate",
                "repeat",
                "nest",
                "number",
                "value",
                "duplicate_key",
                "alias",
            ]
        )
    )
    if kind == "delete":
        return text[:i] + text[j:]
    if kind == "nasty":
        return text[:i] + draw(st.sampled_from(NASTY)) + text[i:]
    if kind == "unicode":
        return text[:i] + draw(st.text(characters, min_size=1, max_size=10)) + text[i:]
    if kind == "truncate":
        return text[:i]
    if kind == "duplicate":
        return text[:j] + text[i:j] + text[j:]
    if kind == "repeat":
        piece = draw(st.sampled_from([*NASTY, text[i:j], "- 1\n", "a: 1\n", "seed: 1\n"]))
        return text[:i] + piece * draw(st.integers(2, 5000)) + text[i:]
    if kind == "nest":
        depth = draw(st.integers(1, 2000))
        opener, closer = draw(st.sampled_from([("[", "]"), ("{a: ", "}"), ("- ", "")]))
        return text[:i] + opener * depth + text[i:j] + closer * depth + text[j:]
    numbers = list(re.finditer(r"-?\d+(\.\d+)?", text))
    if kind == "number" and numbers:
        match = draw(st.sampled_from(numbers))
        number = draw(st.sampled_from(EXTREME_NUMBERS))
        return text[: match.start()] + number + text[match.end() :]
    lines = text.splitlines(keepends=True)
    if kind == "duplicate_key" and lines:
        k = draw(st.integers(0, len(lines) - 1))
        return "".join([*lines[: k + 1], lines[k], *lines[k + 1 :]])
    if kind == "alias":
        bomb = "".join(
            f"a{k}: &a{k} [" + ", ".join([f"*a{k - 1}" if k else "x"] * 9) + "]\n"
            for k in range(draw(st.integers(1, 10)))
        )
        return bomb + text
    colons = list(re.finditer(r": ", text))
    if colons:
        match = draw(st.sampled_from(colons))
        end = text.find("\n", match.end())
        end = len(text) if end < 0 else end
        value = json.dumps(draw(values), ensure_ascii=draw(st.booleans()))
        return text[: match.end()] + value + text[end:]
    return text


def _paths(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*path, index))
    return found


@st.composite
def data_mutation(draw: st.DrawFn, data: Any) -> str:
    """Swap one value of the parsed scene for another of any type, or drop it."""
    data = json.loads(json.dumps(data))
    path = draw(st.sampled_from(_paths(data)[1:]))
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    if draw(st.booleans()) and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(values)
    if draw(st.booleans()):
        return yaml.safe_dump(data, allow_unicode=draw(st.booleans()))
    return json.dumps(data, ensure_ascii=False)


@st.composite
def scene_inputs(draw: st.DrawFn) -> str | bytes:
    index = draw(st.integers(0, len(TEXTS) - 1))
    mutate_data = draw(st.integers(0, 3)) == 0
    text = draw(data_mutation(DATA[index])) if mutate_data else TEXTS[index]
    for _ in range(draw(st.integers(1, 4))):
        text = draw(text_mutation(text))
    encoding = draw(st.sampled_from(["str", "utf-8", "bytes"]))
    if encoding == "str":
        return text
    raw = text.encode("utf-8", errors="surrogatepass")  # lone surrogates: invalid UTF-8
    if encoding == "bytes":
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.binary(min_size=1, max_size=8)) + raw[at:]
    return raw


def check(document: str | bytes, file: Path, counts: Counter[str]) -> None:
    """The properties: a Scene or a located SceneError, in time; the CLI never crashes."""
    try:
        _check(document, file, counts)
    except BaseException:
        keep = os.environ.get(
            "FUZZ_FAILURES"
        )  # a folder to keep failing inputs in, for tests/corpus
        if keep:
            raw = (
                document.encode("utf-8", "surrogatepass") if isinstance(document, str) else document
            )
            name = f"{zlib.crc32(raw):08x}.{'txt' if isinstance(document, str) else 'bin'}"
            Path(keep).mkdir(parents=True, exist_ok=True)
            (Path(keep) / name).write_bytes(raw)
        raise


def _check(document: str | bytes, file: Path, counts: Counter[str]) -> None:
    start = time.process_time()
    try:
        parse_scene(document, "fuzz.yaml")
        counts["accepted"] += 1
    except SceneError as error:
        assert all(issue.line >= 1 and issue.column >= 1 for issue in error.issues)
        assert len(error.report()) < 200_000
        counts["clean errors"] += 1
    seconds = time.process_time() - start
    assert seconds < SECONDS, f"{seconds:.1f} s for one case"
    file.write_bytes(
        document.encode("utf-8", "surrogatepass") if isinstance(document, str) else document
    )
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["validate", str(file)])
    assert code in (0, 1) and "Traceback" not in out.getvalue() + err.getvalue()
    if code == 1:
        located = LOCATED.match(err.getvalue())
        assert located and located["file"] == str(file), err.getvalue()[:300]
    counts["cases"] += 1


FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)


@settings(FUZZ, max_examples=200)
@given(document=scene_inputs())
def test_mutated_scenes_give_a_scene_or_a_located_error(
    document: str | bytes, fuzz_file: Path
) -> None:
    check(document, fuzz_file, Counter())


COUNTS: Counter[str] = Counter()


@pytest.mark.slow
@settings(FUZZ, max_examples=int(os.environ.get("FUZZ_EXAMPLES", "100000")))
@given(document=scene_inputs())
def test_fuzz_the_loader_for_long(document: str | bytes, fuzz_file: Path) -> None:
    check(document, fuzz_file, COUNTS)


@pytest.fixture(scope="module")
def fuzz_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "fuzz.yaml"


@pytest.fixture(scope="module", autouse=True)
def _print_counts() -> Any:
    start = time.perf_counter()
    yield
    if COUNTS:
        seconds = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"\nfuzz: {COUNTS['cases']:,} cases in {seconds:.0f} s "
            f"({COUNTS['cases'] / seconds:.0f}/s): {COUNTS['clean errors']:,} clean errors, "
            f"{COUNTS['accepted']:,} accepted, 0 tracebacks, 0 hangs; peak memory {peak:.0f} MB"
        )
