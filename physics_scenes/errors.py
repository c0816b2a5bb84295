"""Errors as values with a location, until the CLI prints them."""

from __future__ import annotations

import re
import signal
from dataclasses import dataclass
from typing import Any

STOP_SIGNALS: tuple[int, ...] = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)
"""The signals that stop a command (where the platform has them): 128 + the number."""

EXIT_INTERRUPTED = 130
"""The exit code after Ctrl-C (128 + SIGINT, as shells report it)."""
INTERRUPTED = "physics-scenes: interrupted; no partial output was left behind"


def interrupted(signum: int | None) -> tuple[int, str]:
    """The exit code (128 + the signal's number) and the message after a stop signal.

    >>> interrupted(None)[0], interrupted(2)[0], interrupted(15)
    (130, 130, (143, 'physics-scenes: stopped by SIGTERM; no partial output was left behind'))
    """
    if signum is None or signum == signal.SIGINT:
        return EXIT_INTERRUPTED, INTERRUPTED
    name = signal.Signals(signum).name
    return 128 + signum, f"physics-scenes: stopped by {name}; no partial output was left behind"


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem in an input file: where it is and what was expected."""

    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class SceneError(Exception):
    """A scene that cannot be used, with every issue found in it (at least one)."""

    def __init__(self, issues: list[Issue], source: str | None = None, *, omitted: int = 0) -> None:
        assert issues, "a SceneError needs at least one issue"
        self.issues = tuple(sorted(issues, key=lambda i: (i.line, i.column, i.path)))
        self.source = source
        self.omitted = omitted
        """Further issues found but not kept (a file can hold millions)."""
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(issue) for issue in self.issues)

    @property
    def count(self) -> int:
        """Every issue found, kept or not."""
        return len(self.issues) + self.omitted

    def report(self) -> str:
        """Every issue with the offending source line and a caret under the column.

        >>> source = "bodies:\\n  - {kind: ball, radius: -1}\\n"
        >>> issue = Issue("scene.yaml", 2, 26, "bodies[0].radius", "must be greater than 0")
        >>> print(SceneError([issue], source).report())
        scene.yaml:2:26: bodies[0].radius: must be greater than 0
             2 |   - {kind: ball, radius: -1}
               |                          ^
        1 error found
        """
        shown = self.issues[:REPORTED_ISSUES]
        lines = _lines(self.source or "", {issue.line for issue in shown})
        out = []
        for issue in shown:
            line = str(issue)
            out.append(line if len(line) <= 1000 else line[:997] + "...")
            if issue.line in lines:
                text, column = _excerpt(lines[issue.line].replace("\t", " "), issue.column)
                out.append(f"  {issue.line:>4} | {text}")
                out.append("       | " + " " * (column - 1) + "^")
        count = self.count
        if count > REPORTED_ISSUES:
            more = count - REPORTED_ISSUES
            out.append(f"... and {more:,} more error{'s' if more != 1 else ''}")
        out.append(f"{count:,} error{'s' if count != 1 else ''} found")
        return "\n".join(out)


REPORTED_ISSUES = 50
"""The report shows this many issues; a count stands for the rest."""
EXCERPT_CHARS = 200
"""A source line longer than this is shown cut around the caret."""


_LINE_BREAK = re.compile("\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
"""Where ``str.splitlines`` breaks lines."""


def _lines(source: str, wanted: set[int]) -> dict[int, str]:
    """The source lines numbered in ``wanted`` (1-based), without splitting all of it.

    >>> _lines("a\\nb\\r\\nc", {2, 3, 9})
    {2: 'b', 3: 'c'}
    """
    found: dict[int, str] = {}
    last = max(wanted, default=0)
    start = 0
    number = 1
    for match in _LINE_BREAK.finditer(source):
        if number > last:
            return found
        if number in wanted:
            found[number] = source[start : match.start()]
        start = match.end()
        number += 1
    if number in wanted and start < len(source):
        found[number] = source[start:]
    return found


def _excerpt(line: str, column: int) -> tuple[str, int]:
    """The part of ``line`` shown under an issue, and the caret's column in it.

    >>> text, column = _excerpt("x" * 300 + "^" + "y" * 300, 301)
    >>> len(text), text[:4], text[-4:], text[column - 1]
    (206, '...x', 'y...', '^')
    """
    if len(line) <= EXCERPT_CHARS:
        return line, column
    half = EXCERPT_CHARS // 2
    start = min(max(0, column - 1 - half), len(line) - EXCERPT_CHARS)
    start = max(0, start)
    end = start + EXCERPT_CHARS
    prefix = "..." if start > 0 else ""
    suffix = "..." if end < len(line) else ""
    return prefix + line[start:end] + suffix, column - start + len(prefix)


class RenderError(ValueError):
    """A scene that validated but cannot be rendered as asked (a file it names changed,
    a limit that depends on the command line, a simulation that blew up). The message is
    one line, ready for the CLI (exit 1)."""


class AudioInputError(RenderError):
    """A user WAV file that cannot be used (missing, not PCM, empty)."""


class ScriptSoundError(AudioInputError):
    """A ``say`` line or ``sound`` cue that cannot be made (an unknown voice, a file that
    will not decode): its field, to be located in the scene file, and why.

    >>> print(ScriptSoundError(("script", 2, "say"), "script[2].say", "no such voice"))
    script[2].say: no such voice
    """

    def __init__(self, loc: tuple[str | int, ...], path: str, message: str) -> None:
        self.loc, self.path, self.message = loc, path, message
        super().__init__(f"{path}: {message}")

    def __reduce__(self) -> tuple[type[ScriptSoundError], tuple[Any, str, str]]:
        return (ScriptSoundError, (self.loc, self.path, self.message))


class InputFileError(RenderError):
    """A file the scene names (an image, a sample) that cannot be used at render time."""


class SimulationError(RenderError):
    """The simulation blew up: a body's state became non-finite, impossibly fast, or left
    the world far behind. Names the body, the simulation time and what happened.

    >>> print(SimulationError("ball", 1.25, 300, "has a non-finite position"))
    the simulation blew up at t = 1.25 s (step 300): body 'ball' has a non-finite position
    """

    def __init__(self, body: str, time: float, step: int, what: str) -> None:
        self.body, self.time, self.step, self.what = body, time, step, what
        super().__init__(
            f"the simulation blew up at t = {time:.6g} s (step {step}): body {body!r} {what}"
        )

    def __reduce__(self) -> tuple[type[SimulationError], tuple[str, float, int, str]]:
        # sent from the worker process by pickle, which would call __init__(message)
        return (SimulationError, (self.body, self.time, self.step, self.what))
