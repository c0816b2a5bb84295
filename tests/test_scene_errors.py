"""Bad input gets a located, readable error: file, line, column, field path, expectation."""

from __future__ import annotations

import pytest

from physics_scenes import SceneError, load_scene, parse_scene
from physics_scenes.scene.model import MAX_BODIES

GOOD_BALL = "{kind: ball, name: a, radius: 0.5, position: [1, 2]}"


def errors_of(text: str | bytes) -> list[tuple[int, int, str, str]]:
    with pytest.raises(SceneError) as caught:
        parse_scene(text, "bad.yaml")
    return [(i.line, i.column, i.path, i.message) for i in caught.value.issues]


def test_missing_field_names_the_field_and_its_body() -> None:
    issues = errors_of("bodies:\n  - kind: ball\n    name: a\n    position: [0, 1]\n")
    assert issues == [(2, 5, "bodies[0].radius", "missing required field 'radius'")]


def test_wrong_type_reports_path_and_got_value() -> None:
    issues = errors_of("timing:\n  fps: fast\nbodies:\n  - " + GOOD_BALL + "\n")
    ((line, column, path, message),) = issues
    assert (line, column, path) == (2, 8, "timing.fps")
    assert "integer" in message and "'fast'" in message


def test_unknown_key_points_at_the_key_and_suggests_a_fix() -> None:
    issues = errors_of("bodies:\n  - kind: ball\n    radus: 0.5\n")
    assert (3, 5, "bodies[0].radus") in [(line, col, path) for line, col, path, _ in issues]
    message = next(m for _, _, path, m in issues if path == "bodies[0].radus")
    assert message == "unknown field 'radus' (did you mean 'radius'?)"


def test_negative_radius_in_the_fourth_body() -> None:
    bodies = "\n".join(f"  - {{kind: ball, name: b{i}, radius: 0.5}}" for i in range(3))
    text = f"bodies:\n{bodies}\n  - {{kind: ball, name: b3, radius: -0.5}}\n"
    assert errors_of(text) == [(5, 36, "bodies[3].radius", "must be greater than 0 (got -0.5)")]


def test_duplicate_names_point_at_the_second_one() -> None:
    text = "bodies:\n  - " + GOOD_BALL + "\n  - {kind: box, name: a, size: [1, 1]}\n"
    ((line, column, path, message),) = errors_of(text)
    assert (line, path) == (3, "bodies[1].name")
    assert message == "name 'a' is already used by bodies[0]"
    assert column == 23


def test_slash_is_reserved_for_parts_of_grids() -> None:
    ((_, _, path, message),) = errors_of("bodies:\n  - {kind: ball, name: g/1, radius: 0.1}\n")
    assert path == "bodies[0].name"
    assert message.startswith("a name may not contain '/'") and "'g/1'" in message


def test_bad_yaml_syntax_gives_the_parser_position() -> None:
    ((line, _column, path, message),) = errors_of("bodies:\n  - {kind: ball, radius: 1\n")
    assert (line, path) == (3, "")
    assert message.startswith("YAML syntax:")


def test_empty_file_and_comment_only_file() -> None:
    for text in ("", "   \n", "# just a comment\n\n"):
        assert errors_of(text) == [
            (1, 1, "", "the file is empty; a scene needs at least a 'bodies' list")
        ]


def test_non_utf8_bytes_are_located() -> None:
    ((line, column, _, message),) = errors_of(b"name: caf\xe9\nbodies: []\n")
    assert (line, column) == (1, 10)
    assert "not UTF-8" in message and "0xe9" in message


def test_nan_and_infinity_are_rejected() -> None:
    issues = errors_of("bodies:\n  - {kind: ball, radius: .nan, position: [.inf, 0]}\n")
    paths = {path: message for _, _, path, message in issues}
    assert set(paths) == {"bodies[0].radius", "bodies[0].position[0]"}
    assert all("finite number" in message for message in paths.values())


def test_a_billion_bodies_is_refused_before_anything_is_built() -> None:
    text = (
        "bodies:\n  - kind: ball\n    radius: 0.01\n"
        "    grid: {columns: 100000, rows: 10000, spacing: [0.02, 0.02]}\n"
    )
    ((line, column, path, message),) = errors_of(text)
    assert (line, column, path) == (4, 11, "bodies[0].grid")
    assert "1,000,000,000 bodies" in message and f"{MAX_BODIES:,}" in message


def test_every_error_is_reported_at_once() -> None:
    text = (
        "timing: {fps: 0}\n"
        "bodies:\n"
        "  - {kind: ball, radius: -1}\n"
        "  - {kind: cube, size: [1, 1]}\n"
        "  - {kind: polygon, vertices: [[0, 0], [1, 0], [0.2, 0.2], [0, 1]]}\n"
    )
    paths = [path for _, _, path, _ in errors_of(text)]
    assert paths == ["timing.fps", "bodies[0].radius", "bodies[1].kind", "bodies[2].vertices"]


def test_unknown_kind_and_unknown_material_suggest_alternatives() -> None:
    ((_, _, path, message),) = errors_of("bodies:\n  - {kind: bal, radius: 1}\n")
    assert path == "bodies[0].kind" and "did you mean 'ball'?" in message
    ((_, _, path, message),) = errors_of("bodies:\n  - {kind: ball, radius: 1, material: rubbr}\n")
    assert path == "bodies[0].material" and "rubber" in message


def test_duplicate_yaml_keys_are_errors_not_silently_overwritten() -> None:
    ((line, column, path, message),) = errors_of(
        "bodies:\n  - kind: ball\n    radius: 1\n    radius: 2\n"
    )
    assert (line, column, path) == (4, 5, "bodies[0].radius")
    assert message == "duplicate key 'radius' (first at line 3)"


def test_top_level_must_be_a_mapping() -> None:
    assert errors_of("- 1\n- 2\n")[0][3].startswith("expected a mapping")


def test_report_shows_the_source_line_and_a_caret() -> None:
    with pytest.raises(SceneError) as caught:
        parse_scene("bodies:\n  - {kind: ball, radius: -2}\n", "x.yaml")
    report = caught.value.report().splitlines()
    assert report[0] == "x.yaml:2:26: bodies[0].radius: must be greater than 0 (got -2)"
    assert report[1].endswith("- {kind: ball, radius: -2}")
    assert report[2].index("^") - report[2].index("|") - 2 == 25
    assert report[-1] == "1 error found"


def test_missing_file_is_a_scene_error(tmp_path) -> None:
    with pytest.raises(SceneError) as caught:
        load_scene(tmp_path / "nope.yaml")
    assert caught.value.issues[0].message == "no such file"


def test_a_valid_scene_has_no_issues() -> None:
    scene = parse_scene("bodies:\n  - " + GOOD_BALL + "\n")
    assert scene.bodies[0].name == "a"


def test_the_report_shows_fifty_errors_and_counts_the_rest() -> None:
    text = "bodies:\n" + "  - {kind: ball, radius: -1}\n" * 70
    with pytest.raises(SceneError) as caught:
        parse_scene(text, "x.yaml")
    report = caught.value.report().splitlines()
    assert sum(line.startswith("x.yaml:") for line in report) == 50
    assert report[-2:] == ["... and 20 more errors", "70 errors found"]


def test_a_long_line_is_cut_around_the_caret() -> None:
    good = ["{kind: ball, radius: 1}"] * 40
    text = "{bodies: [" + ", ".join([*good, "{kind: ball, radius: -1}", *good]) + "]}\n"
    with pytest.raises(SceneError) as caught:
        parse_scene(text, "x.yaml")
    _, source, caret, _ = caught.value.report().splitlines()
    assert len(source) < 230 and "| ..." in source and source.endswith("...")
    assert source[caret.index("^") :].startswith("-1}")


def test_a_key_that_is_a_field_elsewhere_is_not_suggested_as_itself() -> None:
    ((_, _, path, message),) = errors_of("a: 1\nbodies:\n  - " + GOOD_BALL + "\n")
    assert (path, message) == ("a", "unknown field 'a'")


def test_a_list_of_the_wrong_length_is_one_plain_error() -> None:
    issues = errors_of(
        "bodies:\n  - {kind: water, box: [0, 0]}\n  - {kind: box, size: [1, 2, 3]}\n"
        "  - {kind: polygon, vertices: [[0, 0]]}\n"
    )
    assert issues == [
        (2, 24, "bodies[0].box", "too few items (got 2: [0, 0])"),
        (3, 23, "bodies[1].size", "expected at most 2 items (got 3)"),
        (4, 31, "bodies[2].vertices", "expected at least 3 items (got 1)"),
    ]
