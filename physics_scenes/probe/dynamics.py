"""Checks on how objects move between and at contacts: one gravity for every free
flight (and no change within one), and bounces that return no more speed than they
received (restitution at most 1: a body never gains height)."""

from __future__ import annotations

import itertools

import numpy as np

from .estimate import Impact, Segment
from .permanence import diameter
from .track import Track
from .violation import Violation


def gravity(
    flights: list[Segment], g: float, g_sigma: float, name: dict[int, str], scale: float | None
) -> list[Violation]:
    """Flights whose gravity differs from the clip's by over 15 % and five sigmas, and
    flights in which it changes."""
    if not np.isfinite(g):
        return []
    found = []
    by_track: dict[int, list[Segment]] = {}
    for s in flights:
        by_track.setdefault(s.track, []).append(s)
    for track, items in by_track.items():
        for before, after in itertools.pairwise(items):
            if after.changed and after.last - after.first >= 7 and _differs(after, before.g):
                found.append(
                    Violation(
                        after.first,
                        "gravity",
                        (track,),
                        f"frame {after.first}: gravity on {name[track]} changes in flight from "
                        f"{_accel(before.g, scale)} to {_accel(after.g, scale)}",
                        after.g / g,
                    )
                )
        for s in items:
            if (
                s.last - s.first >= 7
                and _differs(s, g)
                and not any(v.objects == (track,) and v.frame == s.first for v in found)
            ):
                found.append(
                    Violation(
                        s.first,
                        "gravity",
                        (track,),
                        f"frame {s.first}: {name[track]} falls with {_accel(s.g, scale)}, the rest "
                        f"of the clip with {_accel(g, scale)} ({s.g / g:.2f}x)",
                        s.g / g,
                    )
                )
    return found


def _differs(s: Segment, g: float) -> bool:
    """Over 15 % and five sigmas off, with and without the flight's end points."""
    sigma = s.g_sigma if np.isfinite(s.g_sigma) else 0.0
    limit = max(0.15 * abs(g), 5 * sigma)
    inner = s.g_inner if np.isfinite(s.g_inner) else s.g
    return abs(s.g - g) > limit and abs(inner - g) > limit


def _accel(value: float, scale: float | None) -> str:
    if scale:
        return f"{value * scale:.2f} m/s²"
    return f"{value:.0f} px/s²"


def restitution(
    hits: list[Impact], tracks: dict[int, Track], name: dict[int, str], limit: float = 1.05
) -> tuple[list[Impact], list[Violation]]:
    """Bounces off the scenery (no other object near), and those with restitution over
    ``limit``: the body leaves faster than it came."""
    bounces = [h for h in hits if h.restitution >= 0 and not _near_other(h, tracks)]
    found = []
    for h in bounces:
        if h.restitution > limit:
            gain = h.restitution**2 - 1
            found.append(
                Violation(
                    h.frame,
                    "restitution",
                    (h.track,),
                    f"frame {h.frame}: {name[h.track]} gains {gain:.0%} height after a bounce — "
                    f"restitution {h.restitution:.2f}",
                    h.restitution,
                )
            )
    return bounces, found


def _near_other(hit: Impact, tracks: dict[int, Track]) -> bool:
    """Whether another object is within about a radius of touching at the impact (then
    it is a hit between two objects, not a bounce off the scenery)."""
    me = tracks[hit.track]
    for other in tracks.values():
        if other.id == me.id:
            continue
        reach = diameter(me) + diameter(other)
        for frame in (hit.frame - 1, hit.frame, hit.frame + 1):
            if frame in other.frames:
                i = other.frames.index(frame)
                if np.hypot(other.x[i] - hit.x, other.y[i] - hit.y) < reach:
                    return True
    return False
