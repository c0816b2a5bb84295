"""``python -m physics_scenes`` and the ``physics-scenes`` command's entry point.

Kept tiny so that Ctrl-C at any moment, while the command's modules are still being
imported included, ends with exit code 130 and one line instead of a traceback.

While the command's modules load, SIGINT, SIGTERM and SIGHUP are only recorded: a
KeyboardInterrupt raised inside pydantic-core while it builds the scene models comes out
as a ``SchemaError`` (measured), which no ``except KeyboardInterrupt`` would catch. The
import finishes (a few hundred milliseconds), then the command stops with 128 + the
signal's number.
"""

from __future__ import annotations

import signal
import sys

STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)
"""``errors.STOP_SIGNALS`` (a test keeps them equal), spelt out so that nothing is imported
before the handlers are in place: errors.py pulls in dataclasses and re (13 ms)."""


def main() -> int:
    try:
        received: list[int] = []
        previous = {sig: signal.signal(sig, lambda signum, _: received.append(signum))
                    for sig in STOP_SIGNALS}  # fmt: skip
        try:
            from .cli import main as run
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if received:
            return _stopped(received[0])
        return run()
    except KeyboardInterrupt:
        return _stopped(None)


def _stopped(signum: int | None) -> int:
    from .errors import interrupted

    code, message = interrupted(signum)
    print(message, file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
