"""Validate the physics probe on clips with known truth (writes the table for
benchmarks/README.md).

Correct clips: random balls over a floor, simulated and drawn by physics_scenes itself;
the probe must recover gravity (3 %), restitution at each floor bounce (0.05, against
the states' velocities carried to the contact), and the pixel paths (1 px median), and
report no violation. Broken clips: the same kind of scene edited from one frame on
(gravity switched, a bounce that gains energy, a teleport, a vanishing ball, a ball that
grows, two balls that pass through each other); the probe must report the violation at
its frame (within the window each edit gives).

    nice -n 10 python benchmarks/probe_validation.py [--clips N] [--variant png|crf28|half|noise]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import probe_clips as pc

from physics_scenes.probe.run import Options, probe
from physics_scenes.probe.track import MEASURED

W, H, FPS = 480, 270, 30
CW, CH = 640, 360
"""Crowded clips: 20 balls of 7-13 px radius."""


def run_probe(images: list[np.ndarray], truth: pc.Truth, folder: Path, variant: str):  # type: ignore[no-untyped-def]
    if variant == "png":
        path = pc.write_png_folder(images, folder)
        scale = 1.0
    elif variant == "crf28":
        path, scale = pc.write_video(images, folder.with_suffix(".mp4"), truth.fps, crf=28), 1.0
    elif variant == "half":
        h, w = images[0].shape[:2]
        path, scale = (
            pc.write_video(images, folder.with_suffix(".mp4"), truth.fps, crf=18, scale=0.5),
            np.array([w // 2 // 2 * 2 / w, h // 2 // 2 * 2 / h]),  # even sizes for H.264
        )
    else:
        path, scale = (
            pc.write_video(images, folder.with_suffix(".mp4"), truth.fps, crf=18, noise=8.0),
            1.0,
        )
    return probe(path, Options(fps=truth.fps)), np.broadcast_to(scale, (2,))


def correct(
    seed: int, root: Path, variant: str, crowd: bool = False, shared: bool = False
) -> dict[str, object]:
    """One correct clip probed; ``shared``: the 20 balls in 10 colours at 60 fps (5 s)
    instead of a crowd of ``seed``."""
    if shared:
        images, truth = pc.make(pc.shared_colors_text(5.0, 60), CW, CH)
    elif crowd:
        text = pc.scene_text(pc.crowd_balls(seed), 3.0, FPS, walls=True)
        images, truth = pc.make(text, CW, CH)
    else:
        images, truth = pc.make(pc.scene_text(pc.random_balls(seed), 2.5, FPS), W, H)
    result, scale = run_probe(images, truth, root / f"ok{seed}", variant)
    tracks = [
        (
            np.array(t.frames)[[k == MEASURED for k in t.kind]],
            np.array([t.x, t.y]).T[[k == MEASURED for k in t.kind]] / scale,
        )
        for t in result.tracks
    ]
    owner = pc.match(tracks, truth)
    errors = [
        float(np.median(np.hypot(*(truth.pixels[f, owner[i]] - xy).T)))
        for i, (f, xy) in enumerate(tracks)
        if len(f)
    ]
    ids = [t.id for t in result.tracks]
    e_err = []
    found_bounces = 0
    for row, frame, e in truth.bounces:
        cands = [
            b
            for b in result.bounces
            if owner[ids.index(b.track)] == row and abs(b.frame - frame) <= 2
        ]
        if cands:
            found_bounces += 1
            e_err.append(abs(cands[0].restitution - e))
    spin = []  # |probe - truth| of each flight's spin, the truth its mean over the flight
    for x in result.spins:
        a = truth.angles[:, owner[ids.index(x.track)]]  # type: ignore[index]
        spin.append(abs(x.omega - (a[x.last] - a[x.first]) * truth.fps / (x.last - x.first)))
    return {
        "g": result.gravity / scale[1] / truth.gravity_px,
        "px": errors,
        "spin": spin,
        "e": e_err,
        "bounces": (found_bounces, len(truth.bounces)),
        "alarms": [v.message for v in result.violations],
    }


def broken_cases(seed: int) -> list[tuple[str, str, pc.Edit]]:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(15, 35))
    high = [
        {"p": [2 + 7 * i, 2.5], "r": 0.45, "v": [3.0 - 0.5 * i, 7.5], "c": pc.PALETTE[i], "e": 0.7}
        for i in range(2)
    ]
    drop = [
        {
            "p": [4 + 6 * i, float(rng.uniform(5, 7))],
            "r": 0.5,
            "v": [0.5, 0],
            "c": pc.PALETTE[i + 2],
            "e": 0.6,
        }
        for i in range(2)
    ]
    meet = [
        {"p": [3.0, 5.0], "r": 0.5, "v": [4.0, 6.0], "c": pc.PALETTE[0], "e": 0.7},
        {"p": [13.0, 5.0], "r": 0.5, "v": [-4.0, 6.0], "c": pc.PALETTE[1], "e": 0.7},
    ]

    twins = [dict(ball, c=pc.PALETTE[3]) for ball in meet]  # one colour: one body's parts

    def touch(frames: list) -> int:  # type: ignore[type-arg]
        d = [float(np.hypot(*(f.position[1] - f.position[2]))) for f in frames]
        return next(i for i, x in enumerate(d) if x < 1.0)

    spun = [dict(ball, w=300 * (-1) ** i) for i, ball in enumerate(high)]
    return [
        (
            "gravity",
            pc.scene_text(high, 1.4, FPS),
            pc.gravity_switch(k, float(rng.choice([0.4, 1.8]))),
        ),
        (
            "restitution",
            pc.scene_text(drop, 2.5, FPS),
            pc.bounce_gain(1, float(rng.uniform(1.15, 1.3))),
        ),
        (
            "teleport",
            pc.scene_text(drop, 2.0, FPS),
            pc.teleport(1, k, (float(rng.choice([-3, 3])), 0.0)),
        ),
        ("vanish", pc.scene_text(drop, 2.0, FPS), pc.vanish(2, k)),
        ("size", pc.scene_text(high, 1.4, FPS), pc.resize(1, k, float(rng.choice([0.7, 1.35])))),
        ("overlap", pc.scene_text(meet, 1.6, FPS), pc.pass_through([1, 2], touch)),
        ("merge", pc.scene_text(twins, 1.6, FPS), pc.merge((1, 2), touch)),
        ("split", pc.scene_text(twins, 1.6, FPS), pc.merge((1, 2), touch)),  # played back
        (
            "spin",  # drawn last: the others keep their draws
            pc.scene_text(spun, 1.4, FPS),
            pc.spin_jump(2, k, float(rng.choice([-1, 1]) * rng.uniform(4, 8))),
        ),
    ]


def crowd_cases(seed: int) -> list[tuple[str, str, pc.Edit]]:
    """The crowd of ``correct(crowd=True)`` broken: a ball (rows 2-21; 0 and 1 are the
    walls and the floor) teleports, vanishes or changes size at frame 15-44, or gravity
    changes for all at frame 10-24 (while most are still in flight)."""
    rng = np.random.default_rng(100 + seed)
    text = pc.scene_text(pc.crowd_balls(seed), 3.0, FPS, walls=True)
    row, k = int(rng.integers(2, 22)), int(rng.integers(15, 45))
    return [
        # (inside the walls, 1 m clear, and off other balls, when the other way is)
        ("teleport", text, pc.teleport(row, k, (float(rng.choice([-3, 3])), 1.5), (1.0, 15.0))),
        ("vanish", text, pc.vanish(row, k)),
        ("size", text, pc.resize(row, k, float(rng.choice([0.7, 1.35])))),
        (
            "gravity",
            pc.scene_text(pc.crowd_balls(seed), 1.2, FPS, walls=True),
            pc.gravity_switch(int(rng.integers(10, 25)), float(rng.choice([0.4, 1.8]))),
        ),
    ]


def broken(
    seed: int, root: Path, variant: str, crowd: bool = False
) -> list[tuple[str, bool, bool, str]]:
    out = []
    for kind, text, edit in crowd_cases(seed) if crowd else broken_cases(seed):
        images, truth = pc.make(text, CW if crowd else W, CH if crowd else H, edit)
        assert truth.violation is not None
        want, lo, hi = truth.violation
        if kind == "split":  # a merge played backwards
            images = images[::-1]
            want, lo, hi = "split", len(images) - 1 - hi, len(images) - 1 - lo
        result, _ = run_probe(images, truth, root / f"bad{kind}{seed}", variant)
        hit = any(v.kind == want and lo - 1 <= v.frame <= hi + 1 for v in result.violations)
        anyhit = any(lo - 2 <= v.frame <= hi + 2 for v in result.violations)
        out.append((kind, hit, anyhit, "; ".join(v.message for v in result.violations)))
    return out


def camera_text(seed: int, scenery: bool = True) -> str:
    """Random balls (``correct``'s, 2 m lower) in a box seen by a keyframe camera that
    pans 2-4 m and zooms from 11-13 m wide to 13-15 m (or back) over the clip; with
    ``scenery``, static boxes in a band above the balls' reach (7-8 m) give the picture
    something still to measure the camera by (the backdrop is one flat colour)."""
    rng = np.random.default_rng(200 + seed)
    balls = pc.random_balls(seed)
    for ball in balls:
        ball["p"] = [ball["p"][0], round(ball["p"][1] - 2.0, 2)]  # type: ignore[index]
    text = pc.scene_text(balls, 2.5, FPS, walls=True)
    x0, y0 = float(rng.uniform(5, 7)), float(rng.uniform(4.5, 5))
    x1 = x0 + float(rng.choice([-1, 1])) * float(rng.uniform(2, 4))
    w0, w1 = float(rng.uniform(11, 13)), float(rng.uniform(13, 15))
    if rng.random() < 0.5:
        w0, w1 = w1, w0
    keys = (
        f"[{{time: 0, center: [{x0:.2f}, {y0:.2f}], width: {w0:.2f}}}, "
        f"{{time: 2.5, center: [{x1:.2f}, 4.75], width: {w1:.2f}, ease: ease_in_out}}]"
    )
    if scenery:
        boxes = [
            f"  - {{kind: box, body_type: static, position: [{x:.2f}, "
            f"{rng.uniform(7.2, 8.0):.2f}], size: [{rng.uniform(0.3, 0.9):.2f}, "
            f"{rng.uniform(0.2, 0.6):.2f}], angle: {rng.uniform(0, 90):.0f}, "
            f"color: '#{rng.integers(60, 200):02x}{rng.integers(60, 200):02x}"
            f"{rng.integers(60, 200):02x}'}}"
            for x in np.linspace(0.6, 15.4, 16) + rng.uniform(-0.3, 0.3, 16)
        ]
        text += "\n".join(boxes) + "\n"
    return text.replace("bodies:", f"camera: {{mode: keyframes, keys: {keys}}}\nbodies:", 1)


def moving_camera(seed: int, root: Path) -> dict[str, object]:
    """A render with a moving camera probed three ways: with its states (the canvas),
    with the camera measured from the picture, and as if still."""
    import os

    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    from physics_scenes.job.pipeline import RenderJob, run
    from physics_scenes.probe import camera
    from physics_scenes.scene.loader import parse_scene

    clip = root / f"cam{seed}.mp4"
    scene = parse_scene(camera_text(seed))
    run(RenderJob(scene, clip, "mp4", CW, CH, audio="none", parallel=False))
    states = clip.with_name(f"cam{seed}.states.jsonl")
    rows = [json.loads(line) for line in states.read_text().splitlines()]
    frames = [r for r in rows if r["type"] == "frame"]
    cameras = camera.read_cameras(states)
    canvas = camera.from_cameras(cameras, CW, CH)
    world = np.array([f["position"] for f in frames])  # (frames, bodies, 2)
    on_canvas = world @ canvas.world[:, :2].T + canvas.world[:, 2]
    on_first = world @ cameras[0][:, :2].T + cameras[0][:, 2]  # the first frame's pixels
    dynamic = [i for i, b in enumerate(rows[0]["bodies"]) if b["body_type"] == "dynamic"]
    fixed = probe(clip, Options(fps=FPS, still=True))
    moving = probe(clip, Options(fps=FPS, states=states))
    seen = probe(clip, Options(fps=FPS))
    scales = [float(f["camera"]["scale"]) for f in frames]
    return {
        "g": moving.gravity * (moving.options.scale or 1.0) / 9.81,
        "g_picture": seen.gravity / scales[0] / 9.81,
        "g_raw": fixed.gravity / float(np.mean(scales)) / 9.81,
        "px": _path_errors(moving, on_canvas, dynamic),
        "px_picture": _path_errors(seen, _through(seen.first_to_canvas, on_first), dynamic),
        "camera": (seen.camera, seen.motion.lost if seen.motion else None),
        "alarms": [v.message for v in moving.violations],
        "alarms_picture": [v.message for v in seen.violations],
        "alarms_raw": [v.message for v in fixed.violations],
        "balls": (len(moving.tracks), len(seen.tracks), len(dynamic)),
    }


def _through(matrix: np.ndarray | None, xy: np.ndarray) -> np.ndarray:
    return xy if matrix is None else xy @ matrix[:, :2].T + matrix[:, 2]


def _path_errors(result, truth: np.ndarray, dynamic: list[int]) -> list[float]:  # type: ignore[no-untyped-def]
    """Per true ball: the median distance of its longest track over the frames where it
    was measured whole (not cut by the edge of what the camera saw)."""
    best: dict[int, tuple[int, float]] = {}
    for t in result.tracks:
        keep = [i for i, k in enumerate(t.kind) if k == MEASURED and not t.touches_edge[i]]
        if not keep:
            continue
        f = np.array([t.frames[i] for i in keep])
        xy = np.array([[t.x[i], t.y[i]] for i in keep])
        error, row = min((float(np.median(np.hypot(*(truth[f, r] - xy).T))), r) for r in dynamic)
        if len(keep) > best.get(row, (0, 0.0))[0]:
            best[row] = (len(keep), error)
    return [e for _, e in best.values()]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clips", type=int, default=20)
    parser.add_argument("--variant", default="png", choices=["png", "crf28", "half", "noise"])
    parser.add_argument("--crowd", action="store_true", help="20 balls in a box (PNG frames)")
    parser.add_argument("--camera", action="store_true", help="a panning, zooming camera")
    parser.add_argument("-v", action="store_true")
    args = parser.parse_args()
    if args.camera:
        with tempfile.TemporaryDirectory() as tmp:
            runs = [moving_camera(seed, Path(tmp)) for seed in range(args.clips)]
        g = np.array([r["g"] for r in runs], dtype=float)
        raw = np.array([r["g_raw"] for r in runs], dtype=float)
        px = np.concatenate([r["px"] for r in runs])
        print(f"moving camera: {len(runs)} clips (MP4 at CRF 18, {CW}x{CH})")
        print(
            f"with --states: gravity ratio median {np.nanmedian(g):.4f}, worst "
            f"{np.nanmax(np.abs(g - 1)):.2%}; path median {np.median(px):.2f} px, worst "
            f"{np.max(px):.2f}; clips with alarms {sum(bool(r['alarms']) for r in runs)}"
        )
        pg = np.array([r["g_picture"] for r in runs], dtype=float)
        ppx = np.concatenate([r["px_picture"] for r in runs])
        print(
            f"measured from the picture: gravity ratio median {np.nanmedian(pg):.4f}, worst "
            f"{np.nanmax(np.abs(pg - 1)):.2%}; path median {np.median(ppx):.2f} px, worst "
            f"{np.max(ppx):.2f}; clips with alarms "
            f"{sum(bool(r['alarms_picture']) for r in runs)}; camera "
            f"{[r['camera'] for r in runs]}"
        )
        print(
            f"as if still (frames as they are): gravity ratio median {np.nanmedian(raw):.4f}, "
            f"worst {np.nanmax(np.abs(raw - 1)):.2%}; clips with alarms "
            f"{sum(bool(r['alarms_raw']) for r in runs)}"
        )
        if args.v:
            for r in runs:
                print(r)
        return
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        oks = [correct(seed, root, args.variant, args.crowd) for seed in range(args.clips)]
        if args.crowd:  # and two balls of each colour, 60 fps
            oks.append(correct(0, root, args.variant, shared=True))
            print(f"shared colours clip: alarms {oks[-1]['alarms']}, gravity {oks[-1]['g']:.4f}")
        bads = [
            c
            for seed in range(args.clips // 2 or 1)
            for c in broken(seed, root, args.variant, args.crowd)
        ]
    g = np.array([o["g"] for o in oks], dtype=float)
    px = np.concatenate([o["px"] for o in oks])
    e = np.concatenate([o["e"] for o in oks]) if any(o["e"] for o in oks) else np.array([])
    alarms = [o for o in oks if o["alarms"]]
    found = sum(o["bounces"][0] for o in oks)
    total = sum(o["bounces"][1] for o in oks)
    print(
        f"variant {args.variant}: {len(oks)} correct clips, {len(bads)} broken, "
        f"{time.perf_counter() - started:.0f} s"
    )
    print(
        f"gravity ratio: median {np.nanmedian(g):.4f}, worst |err| {np.nanmax(np.abs(g - 1)):.2%}, "
        f"within 3 %: {int(np.sum(np.abs(g - 1) <= 0.03))}/{len(g)}"
    )
    print(
        f"trajectory median error: median {np.median(px):.2f} px, worst track {np.max(px):.2f} px, "
        f"tracks within 1 px: {int(np.sum(px <= 1))}/{len(px)}"
    )
    if len(e):
        print(
            f"restitution |err|: median {np.median(e):.3f}, worst {np.max(e):.3f}, within 0.05: "
            f"{int(np.sum(e <= 0.05))}/{len(e)}; bounces found {found}/{total}"
        )
    spin = np.concatenate([o["spin"] for o in oks if o.get("spin")] or [np.array([])])
    if len(spin):
        print(
            f"spin |err| (rad/s, per flight): median {np.median(spin):.3f}, worst "
            f"{np.max(spin):.3f}, within 0.1: {int(np.sum(spin <= 0.1))}/{len(spin)}"
        )
    print(f"false alarms: {len(alarms)}/{len(oks)} correct clips")
    kinds = sorted({b[0] for b in bads})
    for kind in kinds:
        rows = [b for b in bads if b[0] == kind]
        print(f"  {kind:12s} detected at the right frame {sum(b[1] for b in rows)}/{len(rows)}")
    print(f"broken clips detected: {sum(b[1] for b in bads)}/{len(bads)}")
    if args.v:
        for o in alarms:
            print("ALARM", o["alarms"])
        for b in bads:
            if not b[1]:
                print("MISSED", b)


if __name__ == "__main__":
    main()
