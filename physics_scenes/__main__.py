"""``python -m physics_scenes`` and the ``physics-scenes`` command's entry point.

Kept tiny so that Ctrl-C at any moment, while the command's modules are still being
imported included, ends with exit code 130 and one line instead of a traceback.
"""

from __future__ import annotations

import sys


def main() -> int:
    try:
        from .cli import main as run

        return run()
    except KeyboardInterrupt:
        from .errors import EXIT_INTERRUPTED, INTERRUPTED

        print(INTERRUPTED, file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
