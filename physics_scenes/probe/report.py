"""The probe's outputs: trajectories (JSON, CSV), the findings (JSON) and a report a
person reads (HTML around one PNG: the clip's background with every trajectory, fitted
arcs, bounces and violations drawn on it, and keyframes below).

Written into a temporary sibling folder and renamed into place, so an interrupted run
leaves nothing half-written at the target.
"""

from __future__ import annotations

import csv
import html
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .run import Result
from .source import Image, ProbeError
from .track import MEASURED, MERGED

HOW = {0: "measured", 1: "merged", 2: "predicted"}
FILES = (
    "trajectories.json",
    "trajectories.csv",
    "report.json",
    "report.html",
    "report.png",
    "against.json",
)


def to_metres(result: Result, x: float, y: float) -> tuple[float, float] | None:
    """Pixels → metres with y up from the picture's bottom edge, when a scale is known."""
    s = result.options.scale
    if not s:
        return None
    return x * s, (result.info.height - y) * s


def trajectories(result: Result) -> dict[str, Any]:
    """Per object, every frame's point in pixels (and metres with a scale)."""
    objects = []
    for t in result.tracks:
        rows = []
        for f, x, y, a, k in zip(t.frames, t.x, t.y, t.area, t.kind, strict=True):
            row: dict[str, Any] = {
                "frame": f,
                "time": f / result.info.fps,
                "x_px": x,
                "y_px": y,
                "area_px": a,
                "how": HOW[k],
            }
            metres = to_metres(result, x, y)
            if metres is not None:
                row["x_m"], row["y_m"] = metres
            rows.append(row)
        objects.append(
            {
                "id": t.id,
                "name": result.names[t.id],
                "color": list(t.color),
                "area_px": t.size,
                "points": rows,
            }
        )
    return {
        "clip": str(result.info.path),
        "fps": result.info.fps,
        "width": result.info.width,
        "height": result.info.height,
        "metres_per_pixel": result.options.scale,
        "objects": objects,
    }


def findings(result: Result) -> dict[str, Any]:
    """The estimates, the violations and the score, for machines (``--json``)."""
    s = result.options.scale
    g = result.gravity
    return {
        "clip": str(result.info.path),
        "frames": result.frames,
        "fps": result.info.fps,
        "objects": len(result.tracks),
        "camera": _camera(result),
        "gravity": {
            "px_per_s2": _num(g),
            "sigma_px_per_s2": _num(result.gravity_sigma),
            "m_per_s2": _num(g * s) if s else None,
            "sigma_m_per_s2": _num(result.gravity_sigma * s) if s else None,
        },
        "flights": [
            {
                "object": x.track,
                "first": x.first,
                "last": x.last,
                "g_px_per_s2": _num(x.g),
                "sigma": _num(x.g_sigma),
            }
            for x in result.segments
            if x.flight
        ],
        "collisions": [
            {
                "objects": [c.first, c.second],
                "frame": c.frame,
                "masses_from_areas": list(c.masses),
                "momentum_change": _num(c.momentum_change),
            }
            for c in result.collisions
        ],
        "slopes": [
            {
                "object": x.track,
                "first": x.first,
                "last": x.last,
                "degrees": _num(x.slope),
                "accel_px_per_s2": _num(float(np.hypot(x.ax, x.g))),
                "of_g_sin_angle": _num(
                    float(np.hypot(x.ax, x.g)) / (g * float(np.sin(np.radians(x.slope))))
                ),
            }
            for x in result.segments
            if np.isfinite(x.slope)
        ],
        "spins": [
            {
                "object": x.track,
                "first": x.first,
                "last": x.last,
                "rad_per_s": _num(x.omega),
                "sigma": _num(x.sigma),
                "marked_frames": x.points,
            }
            for x in result.spins
        ],
        "bounces": [
            {
                "object": b.track,
                "frame": b.frame,
                "restitution": _num(b.restitution),
                "x_px": b.x,
                "y_px": b.y,
            }
            for b in result.bounces
        ],
        "violations": [
            {
                "frame": v.frame,
                "kind": v.kind,
                "objects": list(v.objects),
                "message": v.message,
                "value": _num(v.value),
            }
            for v in result.violations
        ],
        "score": round(result.score, 1),
        "components": {k: round(v, 3) for k, v in result.components.items()},
    }


def _camera(result: Result) -> dict[str, Any]:
    """How a moving camera was undone (positions are then on the canvas, whose map from
    the first frame's pixels is given)."""
    out: dict[str, Any] = {"seen": result.camera}
    if result.motion is not None:
        out["frames_not_measured"] = result.motion.lost
        out["frames_looked_at"] = result.motion.looked
        out["motion_observable"] = not result.motion.unobservable
        out["median_corners"] = result.motion.corners
    if result.first_to_canvas is not None:
        out["first_frame_to_canvas"] = [
            [round(float(v), 6) for v in r] for r in result.first_to_canvas
        ]
    return out


def _num(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def write(result: Result, folder: Path, against: dict[str, Any] | None = None) -> list[Path]:
    """All outputs into ``folder`` (created, or replacing an earlier probe report), with
    ``against.json`` when a comparison with the simulation is given."""
    if folder.exists() and (
        not folder.is_dir() or any(p.name not in FILES for p in folder.iterdir())
    ):
        raise ProbeError(f"{folder}: exists and is not an earlier probe report; choose another -o")
    folder.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        data = trajectories(result)
        (temp / "trajectories.json").write_text(json.dumps(data, indent=1), encoding="utf-8")
        with open(temp / "trajectories.csv", "w", newline="", encoding="utf-8") as out:
            table = csv.writer(out)
            table.writerow(
                ["object", "name", "frame", "time", "x_px", "y_px", "x_m", "y_m", "area_px", "how"]
            )
            for obj in data["objects"]:
                for r in obj["points"]:
                    table.writerow(
                        [
                            obj["id"],
                            obj["name"],
                            r["frame"],
                            f"{r['time']:.6f}",
                            f"{r['x_px']:.3f}",
                            f"{r['y_px']:.3f}",
                            f"{r['x_m']:.5f}" if "x_m" in r else "",
                            f"{r['y_m']:.5f}" if "y_m" in r else "",
                            f"{r['area_px']:.0f}",
                            r["how"],
                        ]
                    )
        summary = findings(result)
        (temp / "report.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
        cv2.imwrite(str(temp / "report.png"), picture(result))
        (temp / "report.html").write_text(page(result, summary), encoding="utf-8")
        if against is not None:
            (temp / "against.json").write_text(json.dumps(against, indent=1), encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(temp, folder)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return [folder / name for name in FILES if (folder / name).exists()]


def _bgr(color: tuple[int, int, int], lift: float = 0.0) -> tuple[int, int, int]:
    r, g, b = (int(c + (255 - c) * lift) for c in color)
    return (b, g, r)


def picture(result: Result) -> Image:
    """The overview: trajectories, fitted arcs, bounces and violations over the clip's
    background, keyframes with their tracked points below."""
    zoom = max(1, 960 // result.background.shape[1])  # small clips drawn larger
    dim = (result.background.astype(np.float32) * 0.6).astype(np.uint8)
    canvas = cv2.resize(dim, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_NEAREST)
    h, w = canvas.shape[:2]
    line = max(1, round(w / 640))
    font = 0.35 * max(1.0, w / 640)
    for t in result.tracks:
        pts = [
            (round(x * zoom), round(y * zoom))
            for x, y, k in zip(t.x, t.y, t.kind, strict=True)
            if k in (MEASURED, MERGED)
        ]
        for p in pts:
            cv2.circle(canvas, p, line + 1, _bgr(t.color, 0.2), -1, cv2.LINE_AA)
        cv2.putText(
            canvas,
            f"{t.id}",
            (pts[0][0] + 4, pts[0][1] - 4) if pts else (0, 0),
            cv2.FONT_HERSHEY_SIMPLEX,
            font,
            _bgr(t.color, 0.5),
            line,
            cv2.LINE_AA,
        )
    for s in result.segments:
        if not s.flight:
            continue
        tt = np.linspace(0, (s.last - s.first) / result.info.fps, 40)
        xs, ys = np.polyval(s.coeffs_x, tt), np.polyval(s.coeffs_y, tt)
        arc = (np.stack([xs, ys], 1) * zoom).round().astype(np.int32)
        cv2.polylines(canvas, [arc], False, (255, 255, 255), line, cv2.LINE_AA)
    for b in result.bounces:
        p = (round(b.x * zoom), round(b.y * zoom))
        color = (80, 80, 255) if b.restitution > 1.05 else (120, 230, 120)
        cv2.drawMarker(canvas, p, color, cv2.MARKER_TRIANGLE_UP, 8 * line, line)
        cv2.putText(
            canvas,
            f"e={b.restitution:.2f}",
            (p[0] + 5, p[1] + 14 * line),
            cv2.FONT_HERSHEY_SIMPLEX,
            font,
            color,
            line,
            cv2.LINE_AA,
        )
    for v in result.violations:
        track = next((t for t in result.tracks if t.id == v.objects[0]), None)
        if track is None:
            continue
        near = int(np.argmin(np.abs(np.array(track.frames) - v.frame)))
        p = (round(track.x[near] * zoom), round(track.y[near] * zoom))
        cv2.circle(canvas, p, 12 * line, (60, 60, 255), line + 1, cv2.LINE_AA)
        cv2.putText(
            canvas,
            f"{v.kind} @{v.frame}",
            (p[0] + 14 * line, p[1]),
            cv2.FONT_HERSHEY_SIMPLEX,
            font,
            (60, 60, 255),
            line,
            cv2.LINE_AA,
        )
    header = np.zeros((max(24, round(h * 0.08)), w, 3), np.uint8)
    g = result.gravity
    scale = result.options.scale
    text = (
        f"score {result.score:.0f}/100   gravity {g:.0f} px/s^2"
        + (f" = {g * scale:.2f} m/s^2" if scale and np.isfinite(g) else "")
        + f"   {len(result.tracks)} objects, {len(result.violations)} violations"
    )
    cv2.putText(
        header,
        text,
        (6, header.shape[0] - 8),
        cv2.FONT_HERSHEY_SIMPLEX,
        font * 1.2,
        (255, 255, 255),
        line,
        cv2.LINE_AA,
    )
    rows = [header, canvas]
    if result.keyframes:
        n = len(result.keyframes)
        tiles = []
        for index, image in result.keyframes:
            tile = image.copy()
            for t in result.tracks:
                if index in t.frames:
                    i = t.frames.index(index)
                    cv2.circle(
                        tile,
                        (round(t.x[i]), round(t.y[i])),
                        6 * line,
                        (255, 255, 255),
                        line,
                        cv2.LINE_AA,
                    )
            cv2.putText(
                tile,
                f"frame {index}",
                (6, 20 * line),
                cv2.FONT_HERSHEY_SIMPLEX,
                font * 1.5,
                (255, 255, 255),
                line,
                cv2.LINE_AA,
            )
            tiles.append(cv2.resize(tile, (w // n, h * (w // n) // w)))
        strip = np.concatenate(tiles, axis=1)
        strip = cv2.copyMakeBorder(strip, 0, 0, 0, w - strip.shape[1], cv2.BORDER_CONSTANT)
        rows.append(strip)
    return np.concatenate(rows, axis=0)


def page(result: Result, summary: dict[str, Any]) -> str:
    """The HTML verdict: score, components, gravity, the timeline of violations."""
    e = html.escape
    parts = "".join(
        f"<tr><td>{e(k)}</td><td>{v:.2f}</td></tr>" for k, v in result.components.items()
    )
    timeline = "".join(f"<li>{e(v.message)}</li>" for v in result.violations) or (
        "<li>no violations found</li>"
    )
    g = summary["gravity"]
    grav = (
        "not measured (no free flight)"
        if g["px_per_s2"] is None
        else (
            f"{g['px_per_s2']:.1f} ± {g['sigma_px_per_s2'] or 0:.1f} px/s²"
            + (
                f" = {g['m_per_s2']:.3f} ± {g['sigma_m_per_s2'] or 0:.3f} m/s²"
                if g["m_per_s2"] is not None
                else ""
            )
        )
    )
    bounces = "".join(
        f"<tr><td>{b.frame}</td><td>{e(result.names[b.track])}</td>"
        f"<td>{b.restitution:.3f}</td></tr>"
        for b in result.bounces
    )
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>probe: {e(result.info.path.name)}</title>
<style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto}}
td{{padding:2px 10px}} img{{max-width:100%}}</style></head><body>
<h1>Physics probe: {e(result.info.path.name)}</h1>
<p>{result.frames} frames at {result.info.fps:g} fps, {result.info.width}×{result.info.height},
{len(result.tracks)} moving objects.</p>
<h2>Plausibility {result.score:.0f} / 100</h2>
<table>{parts}</table>
<h2>Gravity</h2><p>{e(grav)}</p>
<h2>Timeline of violations</h2><ul>{timeline}</ul>
<h2>Bounces</h2><table><tr><th>frame</th><th>object</th><th>restitution</th></tr>{bounces}</table>
<h2>Trajectories, fitted arcs and keyframes</h2><img src="report.png" alt="overview">
</body></html>
"""
