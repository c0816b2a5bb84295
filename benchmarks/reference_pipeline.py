"""A straightforward render pipeline, the yardstick physics_scenes is measured against.

What a careful first version would do: read each body in a Python loop, draw with
``pygame.draw``, copy the Surface with ``pygame.surfarray.array3d`` and hand numpy
frames to ``imageio.get_writer``. Same scene (the bodies physics_scenes builds), same
x264 preset and CRF, same size and frame rate; only the plumbing differs.
"""

from __future__ import annotations

import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import imageio.v2 as imageio
import pygame
import pymunk

from physics_scenes.frame import CircleGeom, PolyGeom, SegmentGeom
from physics_scenes.scene.assemble import expand
from physics_scenes.scene.model import Scene, Timing


def render_reference(scene: Scene, output: Path, width: int, height: int, preset: str,
                     crf: int) -> int:  # fmt: skip
    """Render ``scene`` the straightforward way; returns the number of frames written."""
    space = pymunk.Space()
    space.gravity = scene.world.gravity
    space.collision_slop = scene.world.collision_slop
    # the same physics as the scene asks for (its solver iterations: pymunk's default is 10,
    # scenes default to 20, which costs the solver about twice as much)
    space.iterations = scene.world.iterations
    space.damping = scene.world.damping
    bodies = []
    for spec in expand(scene):
        kind = pymunk.Body.STATIC if spec.body_type == "static" else pymunk.Body.DYNAMIC
        body = pymunk.Body(body_type=kind)
        body.position, body.angle = spec.position, spec.angle
        shapes = []
        for geom in spec.shapes:
            if isinstance(geom, CircleGeom):
                shape: pymunk.Shape = pymunk.Circle(body, geom.radius, geom.offset)
            elif isinstance(geom, PolyGeom):
                shape = pymunk.Poly(body, list(geom.vertices))
            else:
                assert isinstance(geom, SegmentGeom)
                shape = pymunk.Segment(body, geom.a, geom.b, geom.radius)
            shape.friction, shape.elasticity = spec.material.friction, spec.material.elasticity
            if kind == pymunk.Body.DYNAMIC:
                shape.density = spec.material.density
            shapes.append(shape)
        space.add(body, *shapes)
        if kind == pymunk.Body.DYNAMIC:
            body.velocity = spec.velocity
        bodies.append((body, spec))
    (ox, oy), (w, h) = scene.world.origin, scene.world.size
    scale = min(width / w, height / h)
    cx, cy = ox + w / 2, oy + h / 2

    def to_px(x: float, y: float) -> tuple[float, float]:
        return (x - cx) * scale + width / 2, height / 2 - (y - cy) * scale

    surface = pygame.Surface((width, height))
    writer = imageio.get_writer(
        output, fps=scene.timing.fps, codec="libx264", quality=None, macro_block_size=1,
        ffmpeg_params=["-preset", preset, "-crf", str(crf)],
    )  # fmt: skip
    dt = scene.timing.dt
    frames = scene.timing.frame_count
    try:
        for index in range(frames):
            if index:
                for _ in range(scene.timing.substeps):
                    space.step(dt)
            surface.fill(scene.world.background)
            for body, spec in bodies:
                x, y = body.position
                cos, sin = math.cos(body.angle), math.sin(body.angle)
                for geom in spec.shapes:
                    if isinstance(geom, CircleGeom):
                        center = to_px(x, y)
                        pygame.draw.circle(surface, spec.color, center, geom.radius * scale)
                        tip = (center[0] + geom.radius * scale * cos,
                               center[1] - geom.radius * scale * sin)  # fmt: skip
                        pygame.draw.line(surface, (40, 40, 40), center, tip)
                    elif isinstance(geom, PolyGeom):
                        points = [to_px(x + vx * cos - vy * sin, y + vx * sin + vy * cos)
                                  for vx, vy in geom.vertices]  # fmt: skip
                        pygame.draw.polygon(surface, spec.color, points)
                    else:
                        a = to_px(x + geom.a[0], y + geom.a[1])
                        b = to_px(x + geom.b[0], y + geom.b[1])
                        pygame.draw.line(
                            surface, spec.color, a, b, max(1, int(geom.radius * 2 * scale))
                        )
            writer.append_data(pygame.surfarray.array3d(surface).swapaxes(0, 1))
    finally:
        writer.close()
    return frames


if __name__ == "__main__":  # a whole process, as bench_vs_reference.py --skip ... runs it
    # reference_pipeline.py SCENE OUT.mp4 WIDTH HEIGHT PRESET CRF SECONDS
    from physics_scenes import load_scene

    path, out, w, h, preset, crf, seconds = sys.argv[1:8]
    loaded = load_scene(path)
    timing = Timing(duration=float(seconds), fps=loaded.timing.fps, substeps=loaded.timing.substeps)
    started = time.perf_counter()
    made = render_reference(
        loaded.model_copy(update={"timing": timing}), Path(out), int(w), int(h), preset, int(crf)
    )
    print(f"{made} frames in {time.perf_counter() - started:.2f} s")
