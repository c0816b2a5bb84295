"""Reproducers of inputs that once crashed or stalled the loader (tests/corpus/), and big ones.

Every file goes through ``load_scene`` (nothing but ``SceneError`` may come out) and
through ``physics-scenes validate`` (exit 0 or 1, no traceback, a file:line:col first),
within a time bound. Each file's expected first message is listed here, so a reproducer
that starts being accepted, or rejected for another reason, fails.
"""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from physics_scenes.cli import main
from physics_scenes.errors import SceneError
from physics_scenes.scene.loader import MAX_FILE_BYTES, load_scene

CORPUS = Path(__file__).parent / "corpus"
SECONDS = 2.0
"""CPU seconds allowed to validate one file (all of them are far below)."""
MEGABYTES = 200

OK = None
EXPECTED: dict[str, str | None] = {
    "alias_many.yaml": "more than 10,000 aliases",
    "billion_laughs.yaml": "the document holds more than 250,000 values",
    "block_depth_100.yaml": "nested more than 64 deep",
    "bom_inside.yaml": "the character U+FEFF is not allowed",
    "deep_nesting.yaml": "YAML syntax: exceeded maximum nesting depth",
    "depth_100.yaml": "nested more than 64 deep",
    "duplicate_anchor.yaml": "the anchor &x is defined twice",
    "duplicate_keys.yaml": "duplicate key 'seed' (first at line 3)",
    "duration_1e308.yaml": "timing.duration: must be less than or equal to 1000000",
    "duration_1e308_float.yaml": "timing.duration: must be less than or equal to 1000000",
    "equals_value.yaml": OK,
    "float_overflow.yaml": "expected a finite number",
    "frames_duration_product.yaml": "239999760 frames is more than the limit",
    "grid_huge.yaml": "bodies[0].grid.columns: must be less than or equal to 1000000000",
    "hex_huge.yaml": "a number written with 202 characters is too long",
    "huge_int.yaml": "a number written with 4,301 characters is too long",
    "huge_key.yaml": "YAML syntax: mapping values are not allowed",
    "int_64bit.yaml": "is out of range",
    "invalid_utf8.yaml": "not UTF-8 text (byte 0xe9)",
    "list_as_key.yaml": "a key must be a name, not a list or a mapping",
    "long_line_errors.yaml": "bodies[0].radius: must be greater than 0",
    "long_material_name.yaml": "expected at most 200 characters",
    "long_unknown_key.yaml": "YAML syntax: mapping values are not allowed",
    "merge_key_ok.yaml": OK,
    "merge_key_scalar.yaml": "'<<' merges a mapping",
    "nul_in_string.yaml": "a NUL byte is not allowed",
    "only_comments.yaml": "the file is empty",
    "only_document_end.yaml": "YAML syntax: did not find expected node content",
    "recursive_alias.yaml": "the alias *x is inside the value its anchor &x names",
    "surrogate_in_text.yaml": "not UTF-8 text (byte 0xed)",
    "tag_binary.yaml": "the tag !!binary is not allowed",
    "tag_float_abc.yaml": "'abc' is not a valid !!float value",
    "tag_float_underscore.yaml": "'_' is not a valid !!float value",
    "tag_int_empty.yaml": "'' is not a valid !!int value",
    "tag_local.yaml": "the tag !x is not allowed",
    "tag_python.yaml": "the tag !!python/object/apply:os.system is not allowed",
    "tag_set.yaml": "the tag !!set is not allowed on a mapping",
    "tag_str_on_list.yaml": "the tag !!str is not allowed on a list",
    "timestamp_invalid.yaml": OK,
    "two_documents.yaml": "a second document starts here",
    "undefined_alias.yaml": "the alias *nope comes before any anchor",
    "unknown_field_same_word.yaml": "a: unknown field 'a'\n",
    "unknown_keys.yaml": "unknown field 'k0'",
    "utf16_bom.yaml": "not UTF-8 text",
    "valid_minimal.yaml": OK,
    "velocity_huge.yaml": "bodies[0].velocity[0]: must be less than or equal to 1000000",
}
LOCATED = re.compile(r"(?P<file>.+?):(?P<line>\d+):(?P<column>\d+): ")


def test_every_corpus_file_has_an_expectation() -> None:
    assert sorted(p.name for p in CORPUS.iterdir()) == sorted(EXPECTED)


def validate(path: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["validate", str(path)])
    return code, out.getvalue(), err.getvalue()


def outcome_of(path: Path) -> str | None:
    """None for a valid scene, else the report; anything but a SceneError fails the test."""
    try:
        load_scene(path)
    except SceneError as error:
        return error.report()
    return None


def check_file(path: Path, expected: str | None, *, memory: bool = True) -> None:
    """load_scene raises only SceneError, validate exits 0/1 with a located first line."""
    start = time.process_time()
    outcome = outcome_of(path)
    seconds = time.process_time() - start
    assert seconds < SECONDS, f"{path.name}: {seconds:.2f} s"
    if memory:  # a second time, traced (tracemalloc makes it several times slower)
        tracemalloc.start()
        outcome_of(path)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        assert peak < MEGABYTES, f"{path.name}: {peak:.0f} MB"
    code, out, err = validate(path)
    assert "Traceback" not in out + err
    if expected is None:
        assert outcome is None and code == 0 and out.startswith(f"{path}: ok")
        return
    assert outcome is not None and code == 1
    assert expected in outcome + "\n", outcome[:500]
    located = LOCATED.match(err)
    assert located and located["file"] == str(path) and int(located["line"]) >= 1, err[:300]
    assert len(err) < 100_000  # the report is bounded, whatever the file


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file(name: str) -> None:
    check_file(CORPUS / name, EXPECTED[name])


def _big(kind: str) -> str:
    """Files just under 10 MB that stress one part each."""
    size = 10_000_000 - 100
    ball = "  - {kind: ball, radius: -1, position: [1, 2], color: red, material: x}\n"
    one = "bodies: [{kind: ball, radius: 1}]\n"
    texts = {
        "flat list": lambda: "bodies: [" + "0," * (size // 2 - 10) + "0]\n",
        "bad bodies": lambda: "bodies:\n" + ball * (size // len(ball)),
        "one string": lambda: one + 'name: "' + "x" * (size - 60) + '"\n',
        "unknown keys": lambda: "".join(f"k{i}: 1\n" for i in range(size // 11)),
        "duplicate keys": lambda: one + "seed: 1\n" * (size // 8 - 10),
        "nesting": lambda: "bodies: " + "[" * (size // 2 - 10) + "]" * (size // 2 - 10) + "\n",
        "aliases": lambda: "name: &a [1]\nbodies: [" + "*a," * (size // 3 - 20) + "*a]\n",
        "comments": lambda: one + ("#" + "x" * 98 + "\n") * (size // 100),
        "documents": lambda: one + "---\na: 1\n" * (size // 9),
    }  # fmt: skip
    text = texts[kind]()
    assert len(text) < 10_000_000
    return text


BIG = [
    pytest.param(kind, marks=[] if kind == "flat list" else [pytest.mark.slow])
    for kind in ("flat list", "bad bodies", "one string", "unknown keys", "duplicate keys",
                 "nesting", "aliases", "comments", "documents")
]  # fmt: skip
CHILD = """
import sys, time
from physics_scenes.cli import main
start = time.process_time()
code = main(["validate", sys.argv[1]])
seconds = time.process_time() - start
peak = next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(f"\\nSTATS {code} {seconds} {peak}")
"""


@pytest.mark.parametrize("kind", BIG)
def test_any_file_under_10_mb_is_validated_in_2_s(kind: str, tmp_path: Path) -> None:
    """In a process of its own, to measure its peak memory (imports included): VmHWM, as
    ru_maxrss would carry over the peak of the pytest process that started it."""
    path = tmp_path / "big.yaml"
    path.write_text(_big(kind), encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=False
    )
    assert "Traceback" not in run.stderr
    code, seconds, kilobytes = run.stdout.split("STATS ")[-1].split()
    assert int(code) == (0 if kind in ("one string", "comments") else 1)
    assert float(seconds) < SECONDS, f"{kind}: {float(seconds):.2f} s"
    assert int(kilobytes) / 1024 < MEGABYTES, f"{kind}: {int(kilobytes) / 1024:.0f} MB"
    if code == "1":
        assert LOCATED.match(run.stderr) and len(run.stderr) < 100_000


def test_a_file_over_16_mib_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    endless = Path("/dev/zero")
    if endless.exists():
        check_file(endless, "file is larger than 16 MiB")
    path = tmp_path / "huge.yaml"
    path.write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    check_file(path, "file is larger than 16 MiB")


def test_the_corpus_gives_the_same_verdicts_without_libyaml(monkeypatch) -> None:
    """PyYAML's pure-Python parser (the fallback) gives the same first message."""
    from physics_scenes.scene import loader

    monkeypatch.setattr(loader, "USE_LIBYAML", False)
    for name, expected in EXPECTED.items():
        if name == "deep_nesting.yaml":  # libyaml's own depth limit; PyYAML stops at 64
            expected = "nested more than 64 deep"
        elif expected is not None and expected.startswith("YAML syntax:"):
            expected = "YAML syntax:"  # the two parsers word their errors differently
        try:
            load_scene(CORPUS / name)
            outcome = None
        except SceneError as error:
            outcome = error.report()
        if expected is None:
            assert outcome is None, name
        else:
            assert outcome is not None and expected in outcome + "\n", (name, outcome[:300])
