"""Scene templates: distributions, variables, repeats, seeds and located errors."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from pathlib import Path

import pytest

from physics_scenes.cli import main
from physics_scenes.errors import SceneError
from physics_scenes.scene.loader import load_scene
from physics_scenes.scene.template import item_seed, load_template, parse_template, sample

from helpers import ROOT

EXAMPLE = ROOT / "scenes" / "templates" / "thrown_balls.yaml"

ONE_BALL = """
bodies:
  - {{kind: ball, name: b, position: [0, 1], radius: {radius}}}
"""


def radii(template_text: str, count: int = 400) -> list[float]:
    template = parse_template(ONE_BALL.format(radius=template_text))
    return [sample(template, i).scene.bodies[0].radius for i in range(count)]


def test_uniform_covers_its_range_evenly() -> None:
    values = radii("{uniform: [0.2, 0.6]}")
    assert 0.2 <= min(values) < 0.21 and 0.59 < max(values) < 0.6
    assert statistics.fmean(values) == pytest.approx(0.4, abs=0.02)  # σ/√400 = 0.006
    # quarters of the range each hold about a quarter (binomial sd ≈ 8.7 of 100)
    quarters = Counter(min(3, int((v - 0.2) / 0.1)) for v in values)
    assert all(65 <= quarters[q] <= 135 for q in range(4))


def test_normal_has_its_mean_and_spread_and_stays_inside_clip() -> None:
    free = radii("{normal: [1, 0.1]}")
    assert statistics.fmean(free) == pytest.approx(1, abs=0.02)
    assert statistics.stdev(free) == pytest.approx(0.1, rel=0.15)
    clipped = radii("{normal: [1, 0.3], clip: [0.9, 1.1]}")
    assert min(clipped) >= 0.9 and max(clipped) <= 1.1
    assert len(set(clipped)) == len(clipped)  # redrawn, not piled up at the ends


def test_choice_follows_its_weights_and_randint_includes_both_ends() -> None:
    chosen = Counter(radii("{choice: [0.1, 0.2, 0.3], weights: [2, 1, 0]}", 400))
    assert set(chosen) == {0.1, 0.2}
    assert chosen[0.1] / 400 == pytest.approx(2 / 3, abs=0.07)  # sd 0.024
    template = parse_template(
        "bodies: [{kind: ball, radius: 0.1, position: [0, 1], grid: "
        "{columns: {randint: [1, 3]}, spacing: [0.3, 0]}}]"
    )
    scenes = [sample(template, i).scene for i in range(200)]
    assert {len(scene.bodies) for scene in scenes} == {1}  # one grid entry; its columns vary:
    columns = Counter(scene.bodies[0].grid.columns for scene in scenes)
    assert set(columns) == {1, 2, 3} and min(columns.values()) > 45  # 66.7 expected, sd 6.7


def test_uniform_on_lists_draws_each_component_in_its_own_range() -> None:
    template = parse_template(
        "bodies: [{kind: ball, radius: 0.1, position: {uniform: [[0, 10], [1, 11]]}}]"
    )
    points = [sample(template, i).scene.bodies[0].position for i in range(200)]
    assert all(0 <= x <= 1 and 10 <= y <= 11 for x, y in points)
    assert statistics.correlation([p[0] for p in points], [p[1] for p in points]) < 0.3


def test_variables_repeat_and_choices_holding_distributions() -> None:
    template = parse_template("""
variables:
  speed: {uniform: [2, 4]}
  top: {uniform: [$speed, 10]}
bodies:
  - {kind: floor, name: ground, y: 0}
  - kind: ball
    name: ball
    repeat: {randint: [2, 12]}
    radius: {choice: [0.1, {uniform: [0.3, 0.4]}]}
    position: [{uniform: [-5, 5]}, $top]
    velocity: [$speed, 0]
""")
    seen_counts = set()
    for i in range(40):
        item = sample(template, i)
        speed, top = item.values["speed"], item.values["top"]
        assert 2 <= speed <= 4 and speed <= top <= 10
        balls = item.scene.bodies[1:]
        seen_counts.add(len(balls))
        width = len(str(len(balls) - 1))
        assert [b.name for b in balls] == [f"ball_{k:0{width}d}" for k in range(len(balls))]
        assert all(b.velocity == (speed, 0) and b.position[1] == top for b in balls)
        assert all(b.radius == 0.1 or 0.3 <= b.radius <= 0.4 for b in balls)
        assert len({b.position[0] for b in balls}) == len(balls)  # each copy drawn anew
    assert len(seen_counts) > 5
    # counterfactual: the same item with one variable set; every other draw unchanged
    item = sample(template, 3)
    twin = sample(template, 3, overrides={"speed": 2.5})
    assert twin.values["speed"] == 2.5 and twin.scene.bodies[1].velocity == (2.5, 0)
    assert [b.radius for b in twin.scene.bodies[1:]] == [b.radius for b in item.scene.bodies[1:]]


def test_an_items_seed_and_values_depend_only_on_template_global_seed_and_index() -> None:
    text = ONE_BALL.format(radius="{uniform: [0.1, 0.9]}")
    template = parse_template(text)
    alone = sample(template, 5, 7)
    for i in range(5):
        sample(template, i, 7)  # what was sampled before changes nothing
    assert sample(template, 5, 7) == alone
    assert alone.seed == item_seed(template.sha256, 7, 5) == alone.scene.seed
    assert sample(template, 5, 8).seed != alone.seed
    assert parse_template(text.replace("b,", "c,")).sha256 != template.sha256
    # comments and layout do not change the template's hash (its data does)
    assert parse_template("# a comment\n" + text).sha256 == template.sha256


def test_errors_point_at_the_templates_lines(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("""variables:
  speed: {uniform: [5, 2]}
  size: {normal: [1, 0.1], extra: 1}
bodies:
  - kind: ball
    radius: $sped
    repeat: {randint: [1, 3]}
""")
    with pytest.raises(SceneError) as caught:
        load_template(path)
    shown = [str(issue) for issue in caught.value.issues]
    assert shown == [
        f"{path}:2:20: variables.speed.uniform: low must not exceed high (got [5, 2])",
        f"{path}:3:28: variables.size.extra: unknown key 'extra' for normal; "
        "expected clip or normal",
        f"{path}:6:13: bodies[0].radius: unknown variable '$sped' "
        "(define it under 'variables:'; defined: size, speed)",
    ]
    # a sampled value the scene refuses: at the template's line, once for all copies
    path.write_text("""bodies:
  - kind: ball
    name: b
    radius: {uniform: [-2, -1]}
    radus: 3
    repeat: 3
""")
    with pytest.raises(SceneError) as caught:
        load_template(path)
    issues = caught.value.issues
    assert [(i.line, i.column, i.path) for i in issues] == [
        (4, 13, "bodies[0].radius"),
        (5, 5, "bodies[0].radus"),
    ]
    assert issues[0].message.startswith("must be greater than 0 (got -1.")
    assert issues[0].message.endswith("(item 0, copy 0)")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{uniform: [1]}", "expected [low, high]"),
        ("{uniform: [1, 2], normal: [0, 1]}", "one distribution per value"),
        ("{normal: [0, -1]}", "standard deviation must be 0 or more"),
        ("{normal: [0, 1], clip: [2, 1]}", "clip: expected [low, high]"),
        ("{randint: [0.5, 2]}", "two whole numbers"),
        ("{choice: []}", "non-empty list"),
        ("{choice: [1, 2], weights: [1]}", "weights: expected 2 numbers"),
        ("{choice: [1, 2], weights: [0, 0]}", "positive sum"),
    ],
)
def test_bad_distributions_are_located_errors(value: str, message: str) -> None:
    with pytest.raises(SceneError) as caught:
        parse_template(ONE_BALL.format(radius=value), "t.yaml")
    issue = caught.value.issues[0]
    assert message in issue.message and issue.line == 3 and issue.path.startswith("bodies[0]")


def test_sample_prints_a_scene_that_renders_as_the_item(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sample", str(EXAMPLE), "--seed", "3", "--global-seed", "1"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("# item 3 of thrown_balls.yaml")
    (tmp_path / "item.yaml").write_text(printed)
    item = sample(load_template(EXAMPLE), 3, 1)
    if "# draw " in printed:  # its first draw's balls overlap: the one batch renders
        attempt = int(printed.split("# draw ")[1].split(":")[0])
        item = sample(load_template(EXAMPLE), 3, 1, attempt=attempt)
    assert load_scene(tmp_path / "item.yaml") == item.scene
    assert 2 <= len(item.scene.bodies) <= 4 and math.isfinite(item.values["speed"])
    assert main(["sample", str(tmp_path / "missing.yaml")]) == 1


def test_validate_checks_a_template_as_a_template(tmp_path: Path, capsys) -> None:
    assert main(["validate", str(EXAMPLE)]) == 0
    assert capsys.readouterr().out == f"{EXAMPLE}: ok (template; item 0: 5 bodies, 32 frames)\n"
    broken = tmp_path / "t.yaml"
    broken.write_text(EXAMPLE.read_text().replace("$speed]", "$sped]"))
    assert main(["validate", str(broken)]) == 1
    err = capsys.readouterr().err
    assert "unknown variable '$sped'" in err and "unknown field 'variables'" not in err


def test_render_of_a_template_says_how_to_render_one(tmp_path: Path, capsys) -> None:
    assert main(["render", str(EXAMPLE), "-o", str(tmp_path / "x.mp4")]) == 1
    err = capsys.readouterr().err
    assert f"{EXAMPLE} is a scene template: `physics-scenes sample {EXAMPLE} --seed N" in err
    assert not (tmp_path / "x.mp4").exists()


def test_a_broken_scene_with_the_schema_header_is_not_called_a_template(
    tmp_path: Path, capsys
) -> None:
    """The examples' first line, ``# yaml-language-server: $schema=...``, is a comment,
    not a ``$variable``: a broken scene gets its own error and no template hint."""
    scene = tmp_path / "s.yaml"
    scene.write_text(
        "# yaml-language-server: $schema=../schema/scene.schema.json\n"
        "bodies:\n  - {kind: ball, radius: -1}\n"
    )
    assert main(["render", str(scene), "-o", str(tmp_path / "x.mp4")]) == 1
    err = capsys.readouterr().err
    assert "bodies[0].radius" in err and "template" not in err
    assert not (tmp_path / "x.mp4").exists()


def test_a_misspelt_distribution_is_named_where_it_is_written() -> None:
    with pytest.raises(SceneError) as caught:
        parse_template(
            "variables: {speed: {unifrm: [1, 5]}}\n"
            "bodies:\n  - {kind: ball, radius: {randnt: [1, 2]}, velocity: [0, $speed]}\n",
            "t.yaml",
        )
    assert [str(issue) for issue in caught.value.issues] == [
        "t.yaml:1:21: variables.speed.unifrm: unknown key 'unifrm' (did you mean the "
        "distribution 'uniform'?)",
        "t.yaml:3:27: bodies[0].radius.randnt: unknown key 'randnt' (did you mean the "
        "distribution 'randint'?)",
    ]
