"""Text → scene: a corpus of prompts, each checked for the elements it must produce.

Every prompt's scene is validated by the loader inside ``compose``; the expected kinds
are counted in the scene's expanded body names, so a grid of three balls counts three.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from physics_scenes.cli import main
from physics_scenes.physics.simulate import simulate
from physics_scenes.scene.compose.build import compose
from physics_scenes.scene.loader import load_scene
from physics_scenes.scene.model import Scene, body_names

KIND = {"newtons_cradle": "cradle"}


def summary(scene: Scene) -> dict[str, Any]:
    """What a prompt can be checked against: objects by kind (grids expanded), styles,
    duration, camera, the script's verbs and triggers."""
    kinds: Counter[str] = Counter()
    for body, names in zip(scene.bodies, body_names(scene), strict=True):
        kind = KIND.get(body.kind, body.kind)
        if kind == "box" and body.name and body.name.startswith("stairs"):
            kind = "stairs_step"
        elif kind == "box" and body.name and body.name.startswith("domino"):
            kind = "domino"
        elif kind == "box" and body.name and body.name.startswith("wall"):
            kind = "wall"
        elif kind == "box" and body.name and body.name.startswith("pool"):
            kind = "pool_wall"
        elif kind in ("water", "emitter"):
            continue  # liquids are no bodies: counted in "liquids"
        kinds[kind] += 1 if kind in ("pendulum", "chain", "cradle", "walker") else len(names)
    for action in scene.script:
        if action.spawn is not None:
            kinds[KIND.get(action.spawn.kind, action.spawn.kind)] += 1
    return {
        "kinds": dict(kinds),
        "styles": set(scene.style),
        "duration": scene.timing.frame_count / scene.timing.fps,
        "camera": scene.camera.mode if scene.camera is not None else None,  # type: ignore[union-attr]
        "verbs": [a.verb for a in scene.script],
        "triggers": [type(a.when).__name__ for a in scene.script if a.when is not None],
        "materials": {getattr(b, "material", None) for b in scene.bodies} - {None},
        "colors": {getattr(b, "color", None) for b in scene.bodies} - {None},
        "liquids": [b.kind for b in scene.bodies if b.kind in ("water", "emitter")],
    }


# prompt → expected: kinds (exact counts), styles (subset), duration, camera, verbs
# (exact list), triggers, materials/colours (subset), skipped (exact list).
CORPUS: list[tuple[str, dict[str, Any]]] = [
    ("a ball", {"kinds": {"ball": 1}}),
    ("two balls", {"kinds": {"ball": 2}}),
    ("3 boxes", {"kinds": {"box": 3}}),
    ("five red balls", {"kinds": {"ball": 5}, "colors": {(230, 57, 70)}}),
    ("a dozen marbles", {"kinds": {"ball": 12}}),
    ("several crates", {"kinds": {"box": 5}}),
    ("a few rubber balls bounce", {"kinds": {"ball": 3}, "materials": {"rubber"}}),
    ("a steel ball", {"kinds": {"ball": 1}, "materials": {"metal"}}),
    ("a wooden crate", {"kinds": {"box": 1}, "materials": {"wood"}}),
    ("a big ice cube", {"kinds": {"box": 1}, "materials": {"ice"}}),
    ("a tiny glass marble", {"kinds": {"ball": 1}, "materials": {"glass"}}),
    ("a huge stone block", {"kinds": {"box": 1}, "materials": {"stone"}}),
    ("a plastic ball and a metal box", {"kinds": {"ball": 1, "box": 1}}),
    ("a stack of 4 crates", {"kinds": {"box": 4}}),
    ("a tower of ten blocks", {"kinds": {"box": 10}}),
    ("a pile of 9 balls", {"kinds": {"ball": 9}}),
    ("a pyramid of 6 crates", {"kinds": {"box": 6}}),
    ("a pyramid of ten boxes", {"kinds": {"box": 10}}),
    ("a row of dominoes", {"kinds": {"domino": 8}}),
    ("a row of 12 dominoes", {"kinds": {"domino": 12}}),
    ("a line of twenty dominoes", {"kinds": {"domino": 20}}),
    ("a ramp", {"kinds": {"ramp": 1}}),
    ("a ball rolls down a ramp", {"kinds": {"ball": 1, "ramp": 1}}),
    ("a red ball rolling down the slope", {"kinds": {"ball": 1, "ramp": 1}}),
    ("three rubber balls bounce down the stairs", {"kinds": {"ball": 3, "stairs_step": 5}}),
    ("a ball falls down the staircase", {"kinds": {"ball": 1, "stairs_step": 5}}),
    ("a ball is thrown at a wall", {"kinds": {"ball": 1, "wall": 1}}),
    ("two balls thrown at a stack of five boxes", {"kinds": {"ball": 2, "box": 5}}),
    ("a pendulum", {"kinds": {"pendulum": 1}}),
    ("a pendulum swings", {"kinds": {"pendulum": 1}}),
    ("a chain hangs", {"kinds": {"chain": 1}, "skipped": ["hangs"]}),
    ("a rope", {"kinds": {"chain": 1}}),
    ("a newton cradle", {"kinds": {"cradle": 1}, "skipped": ["newton"]}),
    ("a cradle and two balls", {"kinds": {"cradle": 1, "ball": 2}}),
    ("a man walks", {"kinds": {"walker": 1}}),
    ("a woman walking", {"kinds": {"walker": 1}}),
    ("a person walks past a pile of crates", {"kinds": {"walker": 1, "box": 3}}),
    ("a robot walks", {"kinds": {"walker": 1}}),
    ("a ball, slow motion", {"kinds": {"ball": 1}, "styles": {"slow motion"}}),
    ("a ball in slow-motion", {"styles": {"slow motion"}}),
    ("close-up cinematic shot of a ball", {"styles": {"close-up cinematic"}, "skipped": ["shot"]}),
    ("a cinematic ball", {"styles": {"cinematic"}}),
    ("drone view of five boxes", {"styles": {"drone view"}, "kinds": {"box": 5}}),
    ("a ball seen from above", {"styles": {"drone view"}, "skipped": ["seen"]}),
    ("follow the ball as it rolls down the ramp", {"camera": "follow"}),
    ("a ball for 8 seconds", {"duration": 8.0}),
    ("a ten-second clip of a ball", {"duration": 10.0}),
    ("a ball 3 s", {"duration": 3.0}),
    ("a ball, then a box falls", {"verbs": ["spawn"], "kinds": {"ball": 1, "box": 1}}),
    ('a ball, then "hello"', {"verbs": ["caption"]}),
    ('"Watch this" a ball bounces', {"verbs": ["caption"]}),
    (
        "a ball rolls down a ramp and hits a row of dominoes. when the ball hits the first "
        "domino, a crate falls",
        {
            "verbs": ["spawn"],
            "triggers": ["OnContact"],
            "kinds": {"ball": 1, "ramp": 1, "domino": 8, "box": 1},
        },
    ),
    (
        "a crate and a ball rolls down a ramp, when the ball hits the floor the crate falls",
        {"verbs": ["set"], "triggers": ["OnContact"]},
    ),
    ('a ball is thrown at a wall. when the ball hits the wall, "ouch"', {"verbs": ["caption"]}),
    ("a ball, then it stops", {"verbs": ["end"], "skipped": []}),
    ("a ball rolls, then the ball is kicked", {"verbs": ["impulse"]}),
    (
        "a ball falls into a pool of water",
        {"kinds": {"ball": 1, "pool_wall": 2}, "liquids": ["water"], "skipped": []},
    ),
    ("a tap drips", {"kinds": {}, "liquids": ["emitter"], "skipped": []}),
    (
        "two crates fall into a big pool while a faucet pours",
        {"kinds": {"box": 2, "pool_wall": 2}, "liquids": ["water", "emitter"], "skipped": []},
    ),
    ("a purple unicorn dances", {"skipped": ["unicorn", "dances"]}),
    (
        "three rubber balls bounce down the stairs while a man walks past, slow motion close-up",
        {
            "kinds": {"ball": 3, "walker": 1, "stairs_step": 5},
            "styles": {"slow motion", "close-up cinematic"},
            "skipped": [],
        },
    ),
]


def test_the_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 50


@pytest.mark.parametrize(("prompt", "expected"), CORPUS, ids=[p[:40] for p, _ in CORPUS])
def test_prompt_makes_the_expected_scene(prompt: str, expected: dict[str, Any]) -> None:
    result = compose(prompt)  # validated by the loader inside
    got = summary(result.scene)
    kinds = dict(got["kinds"])
    kinds.pop("floor", None)
    if "kinds" in expected:
        assert kinds == expected["kinds"], (prompt, kinds)
    for key in ("styles", "materials", "colors"):
        if key in expected:
            assert expected[key] <= got[key], (prompt, key, got[key])
    for key in ("duration", "camera", "verbs", "triggers"):
        if key in expected:
            assert got[key] == expected[key], (prompt, key, got[key])
    assert got["liquids"] == expected.get("liquids", []), (prompt, got["liquids"])
    assert result.skipped == expected.get("skipped", []), (prompt, result.skipped)
    assert compose(prompt).text == result.text  # deterministic


@pytest.mark.slow  # ~1300 particles for 1.5 s
def test_a_ball_dropped_into_a_pool_lands_in_its_water() -> None:
    """'falls into a pool': the ball starts over the pool's middle, splashes in and ends
    between its walls, under the water's surface (a stone ball sinks to the bed)."""
    scene = compose("a stone ball falls into a pool, 1.5 seconds").scene
    layout, stream = simulate(scene)
    *_, last = stream
    ball = layout.names.index("ball")
    left, right = (layout.names.index(f"pool_{side}") for side in ("left", "right"))
    x, y = last.position[ball]
    assert last.position[left][0] < x < last.position[right][0]
    water = next(b for b in scene.bodies if b.kind == "water")
    surface, radius = water.box[3], 0.15  # type: ignore[union-attr]
    assert y < surface - radius and y == pytest.approx(radius, abs=0.05)  # on the bed
    assert last.fluid_position is not None and len(last.fluid_position) > 1000


def test_explain_and_skipped_words_reach_the_user(tmp_path: Path, capsys: Any) -> None:
    target = tmp_path / "scene.yaml"
    code = main(["new", "two red balls bounce, a unicorn, slow motion", "-o", str(target),
                 "--explain"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0 and target.is_file()
    assert "'balls' → 2 x ball, color red" in out and "style: slow motion" in out
    assert "skipped (not understood): unicorn" in err
    assert main(["new", "a ball", "-o", str(target)]) != 0  # exists: no overwrite
    scene = load_scene(target)
    assert sum(len(n) for n in body_names(scene)) == 3  # floor + two balls


@pytest.mark.parametrize(
    "prompt",
    [
        "a ball rolls down a ramp and hits a row of dominoes. when the ball hits the first "
        "domino, the crate falls",
        "a crate and a ball rolls down a ramp, when the ball hits the floor the crate falls",
    ],
)
def test_generated_scripts_run_and_fire(prompt: str) -> None:
    scene = compose(prompt).scene
    scene = scene.model_copy(update={"timing": scene.timing.model_copy(update={"duration": 3.0})})
    _, frames = simulate(scene)
    fired = [e for f in frames for e in f.events if e.kind == "action"]
    assert len(fired) == 1  # the ball reaches what it should hit within 3 s


@pytest.mark.slow
@pytest.mark.parametrize(
    "prompt",
    [
        "three rubber balls bounce down the stairs while a man walks past, slow motion close-up",
        "a pyramid of 6 wooden crates, then a big metal ball falls",
        'a ball is thrown at a wall. when the ball hits the wall, "ouch"',
    ],
)
def test_generated_scenes_render(prompt: str, tmp_path: Path) -> None:
    from physics_scenes.job.pipeline import RenderJob, run

    scene = compose(prompt).scene
    scene = scene.model_copy(update={"timing": scene.timing.model_copy(update={"duration": 0.5})})
    result = run(RenderJob(scene, tmp_path / "clip", "png", 160, 90))
    assert result.frames >= 30  # slow motion stretches the 0.5 s
    assert len(list((tmp_path / "clip").glob("*.png"))) == result.frames


WORDS = [
    "a",
    "the",
    "ball",
    "balls",
    "box",
    "crates",
    "domino",
    "dominoes",
    "ramp",
    "stairs",
    "wall",
    "floor",
    "pendulum",
    "chain",
    "rope",
    "cradle",
    "man",
    "woman",
    "then",
    "when",
    "hits",
    ",",
    ".",
    "slow",
    "motion",
    "close-up",
    "drone",
    "view",
    "follow",
    "3",
    "five",
    "red",
    "rubber",
    "big",
    "pyramid",
    "stack",
    "pile",
    "row",
    "falls",
    "rolls",
    "down",
    "bounces",
    "thrown",
    "at",
    "kicked",
    "stops",
    '"hi"',
    "seconds",
    "4",
    "water",
    "1000",
    "99999999999",
    "0",
    "unicorn",
]


def test_any_jumble_of_known_words_makes_a_valid_scene() -> None:
    """No prompt makes compose fail: its output is always a scene the loader accepts."""
    import random

    rng = random.Random(16)
    for _ in range(150):
        prompt = " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 14)))
        compose(prompt)  # raises if the generated scene is invalid


@pytest.mark.parametrize("count", [2, 4, 7, 9])
def test_a_pyramid_has_exactly_its_count(count: int) -> None:
    kinds = summary(compose(f"a pyramid of {count} crates").scene)["kinds"]
    assert kinds["box"] == count
