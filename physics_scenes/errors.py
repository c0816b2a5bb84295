"""Errors as values with a location, until the CLI prints them."""

from __future__ import annotations

from dataclasses import dataclass

EXIT_INTERRUPTED = 130
"""The exit code after Ctrl-C (128 + SIGINT, as shells report it)."""
INTERRUPTED = "physics-scenes: interrupted; no partial output was left behind"


def interrupted(signum: int | None) -> tuple[int, str]:
    """The exit code (128 + the signal's number) and the message after a stop signal.

    >>> interrupted(None)[0], interrupted(2)[0], interrupted(15)
    (130, 130, (143, 'physics-scenes: stopped by SIGTERM; no partial output was left behind'))
    """
    import signal

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

    def __init__(self, issues: list[Issue], source: str | None = None) -> None:
        assert issues, "a SceneError needs at least one issue"
        self.issues = tuple(sorted(issues, key=lambda i: (i.line, i.column, i.path)))
        self.source = source
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(issue) for issue in self.issues)

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
        lines = self.source.splitlines() if self.source is not None else []
        out = []
        for issue in self.issues:
            out.append(str(issue))
            if 1 <= issue.line <= len(lines):
                text = lines[issue.line - 1].replace("\t", " ")
                out.append(f"  {issue.line:>4} | {text}")
                out.append("       | " + " " * (issue.column - 1) + "^")
        count = len(self.issues)
        out.append(f"{count} error{'s' if count != 1 else ''} found")
        return "\n".join(out)


class AudioInputError(ValueError):
    """A user WAV file that cannot be used (missing, not PCM, empty)."""
