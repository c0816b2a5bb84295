"""Water: the scene format, the particle fluid against known results, the Frame, the picture.

The cheap checks run by default (about 2 s together); the validation cases of the issue
(Archimedes, the U-tube, the examples rendered) are slow. benchmarks/water_validation.py
prints the same measurements at finer resolutions.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from physics_scenes import load_scene, simulate
from physics_scenes.errors import SceneError
from physics_scenes.frame import Frame, pack, unpack
from physics_scenes.physics.fluid import Collider, Fluid
from physics_scenes.picture.renderer import Renderer
from physics_scenes.scene.assembly import EmitterSpec, FluidSpec
from physics_scenes.scene.limits import MAX_PARTICLES

from helpers import SCENES, decode_video, probe_video

WATER = FluidSpec("water", 1000.0, 0.02, 0.0, (40, 120, 200))
G = 9.81


def grid(x0: float, y0: float, x1: float, y1: float, s: float) -> np.ndarray:
    xs, ys = np.meshgrid(np.arange(x0 + s / 2, x1, s), np.arange(y0 + s / 2, y1, s))
    return np.column_stack((xs.ravel(), ys.ravel()))


def tank(width: float, walls_row: int = -1) -> list[Collider]:
    """Floor (its impulses reported as body 0 when ``walls_row`` is 0) and two walls."""
    box = [
        [(-0.2, -0.2), (width + 0.2, -0.2), (width + 0.2, 0.0), (-0.2, 0.0)],
        [(-0.2, 0.0), (0.0, 0.0), (0.0, 3.0), (-0.2, 3.0)],
        [(width, 0.0), (width + 0.2, 0.0), (width + 0.2, 3.0), (width, 3.0)],
    ]
    return [
        Collider("poly", np.array(v), 0.0, walls_row if k == 0 else -1) for k, v in enumerate(box)
    ]


def fluid(points: np.ndarray, s: float, emitters: tuple[EmitterSpec, ...] = ()) -> Fluid:
    kinds = np.zeros(len(points), dtype=np.int16)
    return Fluid(
        (WATER,), s, points, np.zeros_like(points), kinds, emitters, (0.0, -G), 1 / 240,
        (-10.0, -10.0, 10.0, 10.0), 0,
    )  # fmt: skip


# --- hydrostatics: the solver alone -------------------------------------------------------


def test_a_tank_holds_its_water_and_the_floor_carries_its_weight() -> None:
    """After settling, the floor's push on the water averages its weight (within 3 %), no
    particle leaks through floor or walls, and the surface is level (within two particles:
    it still sways a little after 0.4 s)."""
    s, width = 0.05, 0.4
    water = fluid(grid(0, 0, width, 0.3, s), s)
    shapes = tank(width, walls_row=0)
    lifted, steps = 0.0, 0
    for step in range(100):
        pushes = water.step(shapes)
        if step >= 50:
            lifted -= sum(p.impulse[1] for p in pushes if p.body == 0)
            steps += 1
    weight = water.count * 1000.0 * s * s * G
    assert lifted / (steps * water.dt) == pytest.approx(weight, rel=0.03)
    x = water.position
    assert water.count == 48
    assert x[:, 0].min() > 0 and x[:, 0].max() < width and x[:, 1].min() > 0
    top = [x[(x[:, 0] > a) & (x[:, 0] < a + 0.1), 1].max() for a in (0.0, 0.15, 0.3)]
    assert max(top) - min(top) < 2 * s


def test_an_emitter_pours_its_rate_and_stops() -> None:
    s = 0.05
    tap = EmitterSpec("tap", (0.3, 0.6), -np.pi / 2, 2.0, 50.0, 0.1, 0.05, 0.4, 0.0, 0)
    water = fluid(np.zeros((0, 2)), s, (tap,))
    for _ in range(120):  # 0.5 s: open from 0.05 to 0.4 s
        water.step(tank(0.6))
    poured = water.count * 1000.0 * s * s
    assert poured == pytest.approx(50.0 * 0.35, abs=2 * 1000.0 * s * s)  # within a row
    assert water.position[:, 1].min() > 0  # all of it caught by the floor


def test_the_fluid_is_deterministic_to_the_bit() -> None:
    def run() -> bytes:
        water = fluid(grid(0, 0, 0.3, 0.6, 0.05), 0.05)
        for _ in range(12):
            water.step(tank(0.6))
        return water.position.tobytes() + water.velocity.tobytes()

    assert run() == run()


# --- the scene format ---------------------------------------------------------------------

POOL = """
world: {{size: [2, 1.2]}}
timing: {{duration: 0.25, fps: 20, substeps: 4}}
bodies:
  - {{kind: floor, y: 0}}
  - {{kind: box, name: left, position: [0.05, 0.6], size: [0.1, 1.2], body_type: static}}
  - {{kind: box, name: right, position: [1.95, 0.6], size: [0.1, 1.2], body_type: static}}
  - {{kind: box, name: crate, position: [1.0, 0.52], size: [0.42, 0.2], material: wood}}
  - {{kind: water, box: [0.1, 0, 1.9, 0.5], resolution: {s}{extra}}}
"""


def test_a_water_scene_fills_around_bodies_and_hashes_its_particles(write_scene) -> None:
    scene = load_scene(write_scene(POOL.format(s=0.1, extra="")))
    layout, frames = simulate(scene)
    frame = next(frames)
    assert [f.name for f in layout.fluids] == ["water"] and layout.fluid_spacing == 0.1
    assert layout.fluids[0].particle_mass == pytest.approx(10.0)
    # 18 x 5 grid points, less those inside the crate (bottom at 0.42) or closer to it than
    # half a spacing: 4 in the top row under it, one more each side
    x = frame.fluid_position
    inside = (abs(x[:, 0] - 1.0) < 0.25) & (x[:, 1] > 0.4)
    assert len(x) == 90 - 6 and not inside.any()
    still = Frame(0, 0.0, frame.position, frame.angle, frame.velocity, frame.angular_velocity)
    assert frame.state_hash() != still.state_hash()  # the particles are part of the state
    assert unpack(pack(frame)).state_hash() == frame.state_hash()
    assert all(len(f.fluid_kind) == 84 for f in frames)


@pytest.mark.parametrize(
    ("entry", "where", "says"),
    [
        ("{kind: water, box: [1, 0, 0, 1]}", "bodies[1]:", "x1 > x0"),
        ("{kind: water, box: [0, 0, 1, 1], polygon: [[0, 0], [1, 0], [1, 1]]}", "bodies[1]:",
         "one of them"),
        ("{kind: emitter, position: [0, 1]}", "bodies[1].rate:", "missing required field"),
        ("{kind: emitter, position: [0, 1], rate: 5, start: 2, stop: 1}", "bodies[1]:",
         "stop must be later"),
        ("{kind: water, box: [0, 0, 1, 1], fluid: {like: tar}}", "bodies[1].fluid.like:",
         "'water', 'oil' or 'honey'"),
        ("{kind: water, box: [0, 0, 1, 1], fluid: {viscosity: 3}}",
         "bodies[1].fluid.viscosity:", "less than or equal to 1"),
        ("{kind: water, box: [0, 0, 100, 10], resolution: 0.05}", "bodies[1].resolution:",
         f"the limit is {MAX_PARTICLES:,}"),
        ("{kind: emitter, position: [0, 1], rate: 100000}", "bodies[1].rate:",
         "particles"),
    ],
)  # fmt: skip
def test_bad_liquids_get_located_errors(write_scene, entry: str, where: str, says: str) -> None:
    path = write_scene(f"bodies:\n  - {{kind: floor}}\n  - {entry}\n")
    with pytest.raises(SceneError) as caught:
        load_scene(path)
    text = str(caught.value)
    assert "scene.yaml:3:" in text and where in text and says in text, text


@pytest.mark.parametrize(
    ("fluid", "says"),
    [
        ("hony", "bodies[1].fluid: expected 'water', 'oil' or 'honey' (got 'hony')"),
        ("{like: oil, densty: 3}", "bodies[1].fluid.densty: unknown field 'densty'"),
    ],
)
def test_a_wrong_fluid_is_one_error_not_one_per_union_member(
    write_scene, fluid: str, says: str
) -> None:
    path = write_scene(
        f"bodies:\n  - {{kind: floor}}\n  - {{kind: water, box: [0, 0, 1, 1], fluid: {fluid}}}\n"
    )
    with pytest.raises(SceneError) as caught:
        load_scene(path)
    assert [issue.path for issue in caught.value.issues] == [says.split(":")[0]]
    assert says in str(caught.value)


def test_liquids_share_one_resolution(write_scene) -> None:
    path = write_scene(
        "bodies:\n  - {kind: water, box: [0, 0, 1, 1], resolution: 0.1}\n"
        "  - {kind: emitter, position: [0, 2], rate: 5, resolution: 0.05}\n"
    )
    with pytest.raises(SceneError, match=r"bodies\[1\]\.resolution: every liquid"):
        load_scene(path)


# --- the picture --------------------------------------------------------------------------


def test_water_is_drawn_as_a_surface_over_the_bodies(write_scene) -> None:
    """Below the surface the pool's blue covers the picture without gaps between particles;
    above it the background shows; the submerged crate shows through, tinted."""
    scene = load_scene(write_scene(POOL.format(s=0.05, extra="")))
    layout, frames = simulate(scene, 1)
    frame = next(frames)
    rgb = Renderer(layout, 200, 120).render(frame).rgb().astype(int)
    # the view: 100 px/m, origin at the bottom-left; water from y=0 to 0.5 m = rows 70..120
    water = rgb[80:115, 15:70]
    blue = (water[..., 2] > water[..., 0] + 60).all()
    assert blue and water.std(axis=(0, 1)).max() < 12  # smooth: no dots
    air = rgb[5:40, 15:70]
    assert (abs(air - np.array(layout.background)).max(axis=2) <= 2).all()
    # look.fluid: particles draws dots: background shows between them
    dots = Renderer(layout, 200, 120, fluid="particles").render(frame).rgb().astype(int)
    blue = dots[80:115, 15:70, 2] > dots[80:115, 15:70, 0] + 60
    assert 0.1 < blue.mean() < 0.6


# --- slow: validation cases and the examples ----------------------------------------------

TANK = """
world: {{size: [2.4, 1.2]}}
timing: {{duration: {t}, fps: 30, substeps: 8}}
bodies:
  - {{kind: floor, y: 0}}
  - {{kind: box, position: [-0.1, 0.6], size: [0.2, 1.2], body_type: static}}
  - {{kind: box, position: [2.5, 0.6], size: [0.2, 1.2], body_type: static}}
  - {{kind: water, box: [0, 0, 2.4, 0.6], resolution: 0.05}}
"""


@pytest.mark.slow
@pytest.mark.parametrize("density", [500, 800])
def test_archimedes_a_box_floats_with_its_density_ratio_submerged(write_scene, density) -> None:
    """A wide box (0.5 x 0.3 m, so it floats flat) settles with density/1000 of its height
    under the liquid, within 5 %: its depth in equivalent liquid (the liquid's mass per
    metre above the box's bottom, away from the box, over ρ; what the pressure at its
    bottom says), averaged over the last 1.5 s of 3 (the box bobs a little)."""
    text = TANK.format(t=3) + (
        "  - {kind: box, name: box, position: [1.2, 0.77], size: [0.5, 0.3], "
        f"material: {{density: {density}}}}}\n"
    )
    layout, frames = simulate(load_scene(write_scene(text)))
    row, area = layout.index("box"), layout.fluid_spacing**2
    fractions = []
    for frame in frames:
        if frame.time < 1.5:
            continue
        cx, cy = frame.position[row]
        x = frame.fluid_position
        band = (abs(x[:, 0] - cx) > 0.5) & (x[:, 0] > 0.3) & (x[:, 0] < 2.1)
        above = (band & (x[:, 1] > cy - 0.15)).sum() * area / (1.8 - 1.0)
        fractions.append(above / 0.3)
    assert np.mean(fractions) == pytest.approx(density / 1000, abs=0.05)
    assert abs(frame.angle[row]) < 0.2  # flat


@pytest.mark.slow
def test_a_stone_sinks_and_a_light_ball_pushed_under_pops_up(write_scene) -> None:
    text = TANK.format(t=1.5) + (
        "  - {kind: box, name: stone, position: [0.5, 0.9], size: [0.2, 0.2], material: stone}\n"
        "  - {kind: ball, name: cork, position: [1.4, 0.2], radius: 0.1,\n"
        "     material: {density: 200, friction: 0.3, elasticity: 0.2}}\n"
    )
    layout, frames = simulate(load_scene(write_scene(text)))
    stone, cork = layout.index("stone"), layout.index("cork")
    *_, last = frames
    # on the floor: its centre is 0.1 m above it, plus at most a film of particles under it
    # (the density constraint never squeezes the last layer out: one spacing, 0.05 m)
    assert last.position[stone, 1] < 0.1 + 0.05
    surface = np.sort(last.fluid_position[:, 1])[-20:].mean()
    assert last.position[cork, 1] > surface - 0.1  # floating at the surface


@pytest.mark.slow
def test_u_tube_levels_settle_equal(write_scene) -> None:
    """Two columns joined at the bottom, started 0.6 m apart, end within 5 % of the column
    height (1.3 m) of each other, at the level the volume gives (0.6 m, within 0.1)."""
    text = """
world: {size: [1.2, 1.6]}
timing: {duration: 3, fps: 30, substeps: 8}
bodies:
  - {kind: floor, y: 0}
  - {kind: box, position: [-0.1, 0.8], size: [0.2, 1.6], body_type: static}
  - {kind: box, position: [1.1, 0.8], size: [0.2, 1.6], body_type: static}
  - {kind: box, position: [0.5, 0.85], size: [0.4, 1.3], body_type: static}
  - {kind: water, box: [0, 0, 1.0, 0.2], resolution: 0.05}
  - {kind: water, box: [0, 0.2, 0.3, 0.9], resolution: 0.05}
  - {kind: water, box: [0.7, 0.2, 1.0, 0.3], resolution: 0.05}
"""
    _, frames = simulate(load_scene(write_scene(text)))
    ends = []
    for frame in frames:
        if frame.time >= 2.0:
            x = frame.fluid_position
            ends.append([np.sort(x[(x[:, 0] > lo) & (x[:, 0] < hi), 1])[-6:].mean() + 0.025
                         for lo, hi in ((0.0, 0.3), (0.7, 1.0))])  # fmt: skip
    left, right = np.mean(ends, axis=0)
    assert abs(left - right) < 0.05 * 1.3
    assert 0.5 < left < 0.7


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [
        "ball_into_pool",
        "dam_break",
        "domino_splash",
        "floating_crates",
        "tap_fills_glass",
        "u_tube",
    ],
)
def test_water_examples_render_a_video_with_water(tmp_path: Path, name: str) -> None:
    """Each water example, its first 0.25 s at 192 x 108: a playable video whose last frame
    has the liquid's blue where the liquid is."""
    from physics_scenes.job.pipeline import RenderJob, run

    scene = load_scene(SCENES / f"{name}.yaml")
    short = scene.model_copy(update={"timing": scene.timing.model_copy(update={"duration": 0.25})})
    video = tmp_path / f"{name}.mp4"
    run(RenderJob(short, video, "mp4", 192, 108, "draft", audio="none", parallel=False))
    header = probe_video(video)
    assert header.size == (192, 108) and header.frame_count == round(0.25 * scene.timing.fps)
    text = (tmp_path / f"{name}.states.jsonl").read_text(encoding="utf-8")
    states = [json.loads(line) for line in text.splitlines()]
    assert states[0]["fluids"][0]["name"] == "water" and states[-1]["type"] == "footer"
    poured = name == "tap_fills_glass"  # no water at the start: a jet after 0.25 s
    assert states[-2]["fluid_particles"] > (10 if poured else 150)
    # (not imageio's reader: its ffmpeg pipes are left open, a ResourceWarning whenever
    # the collector finds them: helpers.decode_video runs ffmpeg to the end)
    last = decode_video(video).frames[header.frame_count - 1].astype(int)
    bluish = (last[..., 2] > last[..., 0] + 50).mean()
    assert bluish > (0.001 if poured else 0.05)  # a visible body of water (or jet)


MARTIN_MOYCE = [(0.85, 1.25), (1.21, 1.44), (1.60, 1.88), (2.28, 2.69), (2.95, 3.73),
                (3.60, 4.53), (3.91, 5.00)]  # fmt: skip
"""Martin & Moyce (1952), n² = 2: (T = t·√(2g/a), Z = x/a) of the surge front, T ≤ 4."""


@pytest.mark.slow
def test_dam_break_front_follows_martin_and_moyce(write_scene) -> None:
    """A column a = 0.5 m wide and 1 m high collapses along a dry floor; its front (the
    third-farthest particle within two spacings of the floor, plus half a spacing: 1.5 %
    of the water at this spacing) is within 10 % of the measured one at each of their
    times up to T = 4 (spacing 0.05 m; tests/test_water_validation.py checks 0.025 m with
    a front that is the same share of the water at any spacing: see the README)."""
    a, s = 0.5, 0.05
    scale = math.sqrt(2 * G / a)
    text = f"""
world: {{size: [3, 1.6]}}
timing: {{duration: {4.2 / scale}, fps: 120, substeps: 2}}
bodies:
  - {{kind: floor, y: 0}}
  - {{kind: box, position: [-0.1, 1.0], size: [0.2, 2.0], body_type: static}}
  - {{kind: box, position: [3.1, 1.0], size: [0.2, 2.0], body_type: static}}
  - {{kind: water, box: [0, 0, {a}, {2 * a}], resolution: {s}}}
"""
    _, frames = simulate(load_scene(write_scene(text)))
    times, fronts = [], []
    for frame in frames:
        x = frame.fluid_position
        low = np.sort(x[x[:, 1] < 2 * s, 0])
        times.append(frame.time * scale)
        fronts.append((low[-3] + s / 2) / a)
    for t, z in MARTIN_MOYCE:
        assert float(np.interp(t, times, fronts)) == pytest.approx(z, rel=0.10), t


@pytest.mark.slow
def test_a_water_render_is_the_same_in_one_process_and_in_two(tmp_path: Path) -> None:
    """The physics worker process sends the particles through the pipe: the same run hash
    and the same video bytes as a render in one process."""
    from physics_scenes.job.pipeline import RenderJob, run

    scene = load_scene(SCENES / "ball_into_pool.yaml")
    short = scene.model_copy(update={"timing": scene.timing.model_copy(update={"duration": 0.2})})
    results = []
    for parallel in (False, True):
        video = tmp_path / f"{parallel}.mp4"
        result = run(RenderJob(short, video, "mp4", 160, 90, "draft", audio="none",
                               parallel=parallel))  # fmt: skip
        results.append((result.run_hash, video.read_bytes()))
    assert results[0] == results[1]


def test_splash_events_sound_as_a_low_body_with_rising_plinks() -> None:
    """A splash in the score becomes a sound whose energy sits low (its noisy body) with
    droplet plinks above 900 Hz; a pour's per-step events merge into one splash."""
    from physics_scenes.audio.score import Score
    from physics_scenes.audio.synth import ImpactSynth
    from physics_scenes.frame import Event, Layout

    layout = Layout((), (0.0, 0.0), (2.0, 1.0), (0, 0, 0), (0.0, -G))
    score = Score(layout)
    events = tuple(
        Event(k / 240, k, "splash", "water", "", 40.0, (1.0, 0.5), (10.0, 4.0)) for k in range(6)
    )
    none = np.zeros((0, 2)), np.zeros(0), np.zeros((0, 2)), np.zeros(0)
    score.add(Frame(1, 1 / 60, *none, events))
    assert [(h.kind, h.impulse) for h in score.hits] == [("splash", 240.0)]
    audio, _ = ImpactSynth(1).splash(0.5, np.random.default_rng(1))
    spectrum = np.abs(np.fft.rfft(audio)) ** 2
    hz = np.fft.rfftfreq(len(audio), 1 / 48000)
    low, plinks = spectrum[hz < 700].sum(), spectrum[(hz > 900) & (hz < 3500)].sum()
    assert low > spectrum.sum() * 0.3 and plinks > spectrum.sum() * 0.05
