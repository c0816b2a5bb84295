"""Composite builders: one scene entry → parts (named '<name>/<part>'), joints, controllers.

Pure functions of the entry and its resolved material; ``BUILDERS`` is the one
explicit table that ``scene.assemble.assemble`` dispatches on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from ..assembly import Assembly
from .chain import build_chain
from .common import Context
from .cradle import build_cradle, build_pendulum
from .ragdoll import build_ragdoll
from .walker import build_walker
from .whegs import build_whegs

Builder = Callable[[object, Context], Assembly]

BUILDERS: Mapping[str, Builder] = MappingProxyType(
    {
        "chain": build_chain,  # type: ignore[dict-item]
        "rope": build_chain,  # type: ignore[dict-item]
        "pendulum": build_pendulum,  # type: ignore[dict-item]
        "newtons_cradle": build_cradle,  # type: ignore[dict-item]
        "ragdoll": build_ragdoll,  # type: ignore[dict-item]
        "walker": build_walker,  # type: ignore[dict-item]
        "whegs": build_whegs,  # type: ignore[dict-item]
    }
)

__all__ = ["BUILDERS", "Context"]
