"""Preview window frame rate with 1000 bodies: run under a display (e.g. Xvfb).

    xvfb-run -s "-screen 0 1920x1080x24" python benchmarks/bench_preview.py

Plays scenes/ball_pile.yaml (1000 balls) as a 1280x720 clip shown 1:1 (the window is
1280x720 plus the bar) for a few seconds of wall time, in the clip view (as ``render``
writes it) or with ``--inspect`` in the inspection view, and prints how many window
frames were drawn per second, and how many clip frames per second the window kept up with.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import pygame

from physics_scenes import load_scene, simulate
from physics_scenes.preview.app import BAR, WINDOW_FPS, Pacer, PreviewApp

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", type=Path, default=ROOT / "scenes" / "ball_pile.yaml")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--overlays", default="hud")
    parser.add_argument(
        "--uncapped",
        action="store_true",
        help=f"redraw as fast as possible, not at most {WINDOW_FPS}/s",
    )
    parser.add_argument("--inspect", action="store_true", help="the inspection view")
    args = parser.parse_args()
    app = PreviewApp(args.scene, (1280, 720 + BAR), clip_size=(1280, 720),
                     view="inspect" if args.inspect else "clip")  # fmt: skip
    app.overlays = set(args.overlays.split(","))
    print(f"video driver: {pygame.display.get_driver()}, DISPLAY={os.environ.get('DISPLAY')}")
    source = app.source
    print(f"{app.mode} view, {len(source.layout.bodies)} bodies, {source.fps} fps, "
          f"scene area {app.scene_size[0]}x{app.scene_size[1]}")  # fmt: skip
    start = time.perf_counter()
    app.draw()  # the first frame waits for the worker to start: not part of the rate
    print(f"first frame after {time.perf_counter() - start:.1f} s (the worker starting)")
    app.playing = True
    pacer = Pacer(WINDOW_FPS)
    drawn, start, cpu = 0, time.perf_counter(), time.process_time()
    first = app.index
    while time.perf_counter() - start < args.seconds and app.playing:
        for event in pygame.event.get():
            app.handle(event)
        app.tick()
        pygame.display.flip()
        drawn += 1
        if not args.uncapped:
            pacer.wait()  # as the window's own loop does
    elapsed = time.perf_counter() - start
    cpu_each = (time.process_time() - cpu) / max(drawn, 1)
    print(f"window: {drawn / elapsed:.1f} frames drawn/s; "
          f"simulation shown: {(app.index - first) / elapsed:.1f} frames/s "
          f"({(app.index - first) / elapsed / source.fps:.2f}x real time)")  # fmt: skip
    # the window process's own CPU time per redraw (events, tick, draw, flip): what the
    # rate would be with a core to itself, whatever else the machine is doing
    print(f"window CPU per redraw: {cpu_each * 1000:.2f} ms (= {1 / cpu_each:.0f} frames/s "
          "on a core of its own)")  # fmt: skip
    # replaying frames already simulated (scrubbing back): drawing only
    app.playing = False
    start, drawn = time.perf_counter(), 0
    while time.perf_counter() - start < 2.0:
        app.index = (app.index + 7) % max(source.frontier, 1)
        app.draw()
        pygame.display.flip()
        drawn += 1
    print(f"scrubbing through cached frames: {drawn / (time.perf_counter() - start):.1f} frames/s")
    app.close()
    pygame.display.quit()
    # the physics alone, in this process, for scale: the window cannot show it faster
    _layout, frames = simulate(load_scene(args.scene))
    start, count = time.perf_counter(), 0
    for _frame in frames:
        count += 1
        if time.perf_counter() - start > 3.0:
            break
    rate = count / (time.perf_counter() - start)
    print(f"physics alone (no window): {rate:.1f} frames/s ({rate / source.fps:.2f}x real time)")


if __name__ == "__main__":
    main()
