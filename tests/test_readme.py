"""The README's Python examples run as written, so they cannot rot."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT

README = ROOT / "README.md"
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


def python_blocks(text: str) -> list[tuple[int, str]]:
    """Each ```python block as (line number of its first line, code)."""
    return [(text.count("\n", 0, m.start(1)) + 1, m.group(1)) for m in FENCE.finditer(text)]


def as_script(text: str) -> str:
    """Every block in order, one namespace, each at its own line numbers (others blank),
    so a traceback points at the line in the markdown file."""
    lines = [""] * (text.count("\n") + 1)
    for first, code in python_blocks(text):
        for offset, line in enumerate(code.splitlines()):
            lines[first - 1 + offset] = line
    return "\n".join(lines) + "\n"


def run_markdown(path: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run a markdown file's Python blocks in a fresh interpreter, from the repository root."""
    runner = (
        "import sys; source = sys.stdin.read();"
        f"exec(compile(source, {path.name!r}, 'exec'), {{'__name__': '__main__'}})"
    )
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
    return subprocess.run(
        [sys.executable, "-c", runner],
        input=as_script(path.read_text(encoding="utf-8")),
        cwd=path.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.slow  # ~10 s: every API example of the README in one fresh interpreter
def test_every_python_block_in_the_readme_runs() -> None:
    text = README.read_text(encoding="utf-8")
    blocks = python_blocks(text)
    assert len(blocks) >= 2, "the README's Python API examples are gone or unfenced"
    assert all(
        "import physics_scenes" in code or "from physics_scenes" in code for _, code in blocks
    )
    result = run_markdown(README)
    if result.returncode != 0:
        pytest.fail(f"a README example failed:\n{result.stderr[-3000:]}", pytrace=False)


def test_a_failing_block_is_reported_at_its_line_in_the_markdown(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "Intro.\n\n```python\nx = 1\n```\n\n```bash\nexit 1\n```\n\n```python\ny = x / 0\n```\n",
        encoding="utf-8",
    )
    assert python_blocks(page.read_text(encoding="utf-8")) == [(4, "x = 1\n"), (12, "y = x / 0\n")]
    result = run_markdown(page)
    assert result.returncode != 0
    assert 'page.md", line 12' in result.stderr and "ZeroDivisionError" in result.stderr
