"""``physics-scenes probe``: its arguments and what it prints. Light to import: OpenCV
and SciPy load only when the command runs.

Exit codes: 0 measured (violations are findings, not failures), 1 not a readable clip
(missing, not a video, fewer than two frames), 2 usage, 3 nothing moves in the clip.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .compare import Truth

TruthFor = Callable[[Path, int, int], "Truth"]
"""Scene file, video width and height → where its bodies are on screen (the CLI builds it
from the scene's camera; this package does not read scenes)."""


def _scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected metres per pixel, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _reference(text: str) -> float:
    """``PIXELS:METRES`` → metres per pixel."""
    try:
        pixels, metres = (float(part) for part in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected LENGTH_IN_PIXELS:METRES such as 200:1.5, got {text!r}"
        ) from None
    if not (0 < pixels < float("inf") and 0 < metres < float("inf")):
        raise argparse.ArgumentTypeError("both lengths must be positive")
    return metres / pixels


def add_parser(commands: Any) -> None:
    """The ``probe`` subcommand on ``commands`` (argparse's subparsers)."""
    probe = commands.add_parser(
        "probe",
        help="measure the physics in a video and report where it breaks",
        description="Track the moving objects of a clip (MP4, MOV, WebM, GIF or a folder of "
        "PNG frames), estimate gravity and restitution, and find violations: gravity that "
        "changes, bounces that gain energy, objects that vanish, teleport, change size or "
        "pass through each other. Writes trajectories (JSON, CSV), report.json and an HTML "
        "report. Exit 0 measured, 1 unreadable clip, 2 usage, 3 nothing moves.",
    )
    probe.add_argument("video", type=Path)
    scale = probe.add_mutually_exclusive_group()
    scale.add_argument(
        "--scale", type=_scale, metavar="M_PER_PX", help="metres per pixel (results also in metres)"
    )
    scale.add_argument(
        "--reference",
        type=_reference,
        metavar="PX:M",
        help="a length seen in the picture: pixels:metres, e.g. 200:1.5",
    )
    probe.add_argument(
        "--fps",
        type=_scale,
        metavar="N",
        help="frames per second (overrides the file's; PNG folders: 30)",
    )
    probe.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="FOLDER",
        help="report folder (default: out/<video name>.probe)",
    )
    probe.add_argument(
        "--against",
        type=Path,
        metavar="SCENE.yaml",
        help="compare with the scene the clip shows: its bodies through its own camera, "
        "position error per object and frame (against.json)",
    )
    probe.add_argument(
        "--states",
        type=Path,
        metavar="STATES.jsonl",
        help="the states file of the render: a moving camera's matrix per frame puts every "
        "frame onto one still canvas of the world (positions then in canvas pixels, with "
        "the canvas's metres per pixel as the scale)",
    )
    probe.add_argument(
        "--still-camera",
        action="store_true",
        help="take the camera as still: skip measuring its pan and zoom from the scenery "
        "(one pass over the clip less)",
    )
    probe.add_argument("--json", action="store_true", help="print report.json to stdout")
    probe.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")


def run(args: argparse.Namespace, truth_for: TruthFor | None = None) -> int:
    """Run the probe for parsed ``args``; print a summary or the JSON."""
    from . import report
    from .compare import compare
    from .run import Options, probe
    from .source import ProbeError

    video: Path = args.video
    if getattr(args, "states", None) is not None and args.against is not None:
        print(
            "physics-scenes probe: --against compares in the frames' pixels and --states "
            "moves everything onto the world's canvas; use one of them",
            file=sys.stderr,
        )
        return 2
    folder = args.output or Path("out") / f"{video.name}.probe"
    options = Options(
        scale=args.scale or args.reference,
        fps=args.fps,
        states=getattr(args, "states", None),
        still=bool(getattr(args, "still_camera", False)),
    )
    try:
        result = probe(video, options)
        against = None
        if args.against is not None and result.camera == "picture":
            print(
                "physics-scenes probe: the camera moves (measured from the picture), so "
                "positions are on a canvas, not in the frames' pixels that --against "
                "compares in; no against.json",
                file=sys.stderr,
            )
        elif args.against is not None and truth_for is not None:
            truth = truth_for(args.against, result.info.width, result.info.height)
            against = {"scene": str(args.against), **compare(result.tracks, truth)}
        files = report.write(result, folder, against)
    except ProbeError as error:
        print(f"physics-scenes probe: {error}", file=sys.stderr)
        return error.code
    if args.json:
        print(json.dumps(report.findings(result), indent=1))
    elif not args.quiet:
        g = result.gravity
        scale = result.options.scale
        lines = [
            f"{result.frames} frames, {len(result.tracks)} moving objects; plausibility "
            f"{result.score:.0f}/100",
            "gravity: "
            + (
                "not measured (no free flight)"
                if g != g
                else f"{g:.1f} ± {result.gravity_sigma:.1f} px/s²"
                + (f" = {g * scale:.3f} m/s²" if scale else "")
            ),
            *_camera_lines(result),
            *(v.message for v in result.violations),
            *_against_lines(against, result.names),
            f"wrote {', '.join(str(f) for f in files)}",
        ]
        print("\n".join(lines))
    return 0


def _camera_lines(result: Any) -> list[str]:
    if result.camera == "still" and result.motion is not None and result.motion.unobservable:
        looked = result.motion.looked
        return [
            f"camera: taken as still, but {result.motion.lost} of {looked} frames looked at "
            "held too little still scenery to tell (a flat or screen-fixed backdrop): if "
            "the camera moves, its motion reads as the objects'; give --states"
        ]
    if result.camera != "picture" or result.motion is None:
        return []
    m = result.first_to_canvas
    return [
        "camera: moves; its pan and zoom measured from the scenery "
        f"({result.motion.corners} corners, {result.motion.lost} frames not measured); "
        f"positions on a still canvas: the first frame's pixels × {m[0][0]:.3g} + "
        f"({m[0][2]:.0f}, {m[1][2]:.0f})"
    ]


def _against_lines(against: dict[str, Any] | None, names: dict[int, str]) -> list[str]:
    if against is None:
        return []
    lines = [f"against {against['scene']} ({against['frames_compared']} frames):"]
    for obj in against["objects"]:
        lines.append(
            f"  {obj['body']}: {names[obj['track']]}, position error median "
            f"{obj['median_px']:.2f} px ({obj['median_m'] * 1000:.1f} mm), "
            f"max {obj['max_px']:.1f} px"
        )
    if against["bodies_not_found"]:
        lines.append("  not found in the clip: " + ", ".join(against["bodies_not_found"]))
    return lines
