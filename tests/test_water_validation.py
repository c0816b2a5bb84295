"""The fluid solver against known results beyond hydrostatics (tests/test_water.py has those):
the reused neighbour list, and Torricelli's jet through benchmarks/water_validation.py (the
same measurement the benchmark prints)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial import cKDTree

from physics_scenes.physics.fluid import Collider, Fluid
from physics_scenes.scene.assembly import FluidSpec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

WATER = FluidSpec("water", 1000.0, 0.02, 0.0, (40, 120, 200))


def test_the_reused_neighbour_list_finds_every_pair_a_fresh_tree_finds() -> None:
    """A column collapsing against a wall (particles move fast, some leave the world): after
    every step the pairs the solver uses are exactly those a new tree finds within h."""
    s = 0.05
    xs, ys = np.meshgrid(np.arange(s / 2, 0.4, s), np.arange(s / 2, 0.8, s))
    points = np.column_stack((xs.ravel(), ys.ravel()))
    water = Fluid((WATER,), s, points, np.zeros_like(points), np.zeros(len(points), np.int16),
                  (), (0.0, -9.81), 1 / 240, (-1.0, -1.0, 0.7, 3.0), 0)  # fmt: skip
    floor = Collider(
        "poly", np.array([(-1.0, -0.2), (3.0, -0.2), (3.0, 0.0), (-1.0, 0.0)]), 0.0, -1
    )
    wall = Collider("poly", np.array([(-0.2, 0.0), (0.0, 0.0), (0.0, 2.0), (-0.2, 2.0)]), 0.0, -1)
    start, checked = water.count, 0
    for _ in range(60):
        water.step([floor, wall])
        x = water.position
        i, j = water._pairs(x)
        fresh = cKDTree(x).query_pairs(water.h, output_type="ndarray")
        n = water.count
        assert np.array_equal(np.sort(i * n + j), np.sort(fresh[:, 0] * n + fresh[:, 1]))
        checked += len(i)
    assert water.count < start  # the front ran out of the world: rows were renumbered
    assert checked > 60 * 200


@pytest.mark.slow
def test_torricelli_a_jet_leaves_at_the_speed_of_free_fall_from_the_surface() -> None:
    """A tank 0.8 m wide and 1.6 m deep drains through a sharp-edged hole 0.2 m wide in a
    thin wall (8 spacings of 0.025 m): the jet, 1.5 to 2.5 hole widths out, moves at
    √(2 g h) within 10 % (h from the surface to each particle, at that moment), and it
    speeds up from the hole outwards. At 0.05 m (4 spacings) it is 0.91: see the README."""
    from water_validation import torricelli

    result = torricelli(0.025)
    assert result["jet_over_sqrt_2gh"] == pytest.approx(1.0, abs=0.10)
    profile = list(result["profile"].values())  # type: ignore[union-attr]
    assert profile[0] < profile[-1]


@pytest.mark.slow
def test_dam_break_front_at_the_finer_spacing_follows_martin_and_moyce() -> None:
    """The column a = 0.5 m at 0.025 m (800 particles): the front, the farthest point with
    1 % of the water beyond it (the same share at any spacing), is within 10 % of the
    measured one at each of their times up to T = 4 (tests/test_water.py checks 0.05 m)."""
    from test_water import MARTIN_MOYCE  # the measured front, T <= 4
    from water_validation import dam_break

    rows = dam_break(0.025)["mass"]
    assert [t for t, _, _ in rows] == [t for t, _ in MARTIN_MOYCE]
    for t, z, reference in rows:
        assert z == pytest.approx(reference, rel=0.10), t
