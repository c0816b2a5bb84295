"""Liquid particles → a smooth surface: splat, blur, threshold (2D metaballs), in numpy.

Why not circles: drawn as dots, a pool of particles looks like sand. The particles'
centres are splatted (bilinear weights, so motion is smooth) into a coarse grid, blurred
with a Gaussian about a particle spacing wide, normalised by the density of the bulk
liquid and thresholded with a smoothstep: a flat, glossy surface at rest, a curling sheet
in a dam break, loose drops as round blobs. A lighter band just inside the threshold is
the surface highlight; fast particles add white foam; the colour darkens with depth below
the surface. The result is a coarse RGBA patch that ``renderer.py`` scales up and blits
(pygame scales and blends in C), so this module loads no pygame.

>>> import numpy as np
>>> from physics_scenes.frame import FluidInfo, Frame, Layout
>>> from physics_scenes.picture.view import View
>>> layout = Layout((), (0.0, 0.0), (1.0, 1.0), (0, 0, 0), (0.0, -9.81),
...                 fluids=(FluidInfo("water", 1000.0, 2.5, (40, 120, 200)),), fluid_spacing=0.05)
>>> xs, ys = np.meshgrid(np.arange(0.025, 1.0, 0.05), np.arange(0.025, 0.5, 0.05))
>>> pool = np.column_stack((xs.ravel(), ys.ravel()))
>>> none = np.zeros((0, 2)), np.zeros(0), np.zeros((0, 2)), np.zeros(0)
>>> frame = Frame(0, 0.0, *none, (), pool, np.zeros_like(pool), np.zeros(len(pool), np.int16))
>>> x, y, factor, patch = WaterPainter(layout).paint(frame, View((0.5, 0.5), 100.0, 100, 100))
>>> cells = patch[:, (50 - x) // factor, 3]  # a column of cells through the middle
>>> factor, int(cells[-6]) > 200, int(cells[0])  # liquid near the bottom, air on top
(2, True, 0)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from ..frame import Frame, Layout
from .view import View

F32 = npt.NDArray[Any]
"""Float arrays (float32 inside the painter: half the memory traffic of float64)."""
LOW, HIGH = 0.28, 0.5
"""Normalised density at which the surface starts and is fully opaque (smoothstep)."""
OPACITY = 0.82
"""Alpha of the bulk liquid: submerged bodies show through, tinted."""
FOAM_SPEED = 3.0
"""m/s above which a particle starts to add foam (white), fully at twice this."""
DEPTH_DARKEN = 0.45
"""How much darker the liquid gets one spacing × ``DEPTH_SCALE`` below the surface."""
DEPTH_SCALE = 30.0


def _smoothstep(a: float, b: float, x: F32) -> F32:
    t = np.clip((x - a) / (b - a), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _blur(a: F32, sigma: float) -> F32:
    """A separable Gaussian blur (edges padded with zeros), as weighted shifted sums."""
    radius = max(1, math.ceil(2.5 * sigma))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2).astype(np.float32)
    taps /= taps.sum()
    for axis in (0, 1):
        pad = [(0, 0), (0, 0)]
        pad[axis] = (radius, radius)
        padded = np.pad(a, pad)
        out = np.zeros_like(a)
        n = a.shape[axis]
        for k, w in enumerate(taps):
            out += w * (padded[k : k + n] if axis == 0 else padded[:, k : k + n])
        a = out
    return a


class WaterPainter:
    """Paints the liquids of one Layout's frames; a pure function of frame and view."""

    def __init__(self, layout: Layout, particles: bool = False) -> None:
        self.particles = particles
        """Draw each particle as a dot of its liquid's colour (``look.fluid: particles``)."""
        self.spacing = layout.fluid_spacing
        colors = [f.color for f in layout.fluids] or [(40, 120, 200)]
        self.colors = np.array(colors, dtype=np.float32)

    def paint(self, frame: Frame, view: View) -> tuple[int, int, int, npt.NDArray[np.uint8]]:
        """(x, y, factor, patch): an (h, w, 4) RGBA patch of cells ``factor`` pixels wide,
        to be scaled up smoothly (the renderer: pygame's ``smoothscale``, in C) and put
        at pixel (x, y); 0×0 when no liquid shows."""
        empty = (0, 0, 1, np.zeros((0, 0, 4), dtype=np.uint8))
        if not len(frame.fluid_kind) or self.spacing <= 0:
            return empty
        gap = self.spacing * view.scale  # pixels between particles
        factor = int(min(4, max(1, round(gap / 2))))
        sigma = max(0.6, 0.75 * gap / factor)  # in grid cells
        if self.particles:  # dots: full resolution, a blur well inside a spacing
            factor, sigma = 1, max(0.5, 0.2 * gap)
        margin = math.ceil(3 * sigma + 2) * factor
        pixels = view.to_pixels(frame.fluid_position)
        ok = np.isfinite(pixels).all(axis=1)
        ok &= (pixels[:, 0] > -margin) & (pixels[:, 0] < view.width + margin)
        ok &= (pixels[:, 1] > -margin) & (pixels[:, 1] < view.height + margin)
        if not ok.any():
            return empty
        pixels, kinds = pixels[ok], frame.fluid_kind[ok]
        speed = np.hypot(frame.fluid_velocity[ok, 0], frame.fluid_velocity[ok, 1])
        x0 = max(0, int(pixels[:, 0].min()) - margin)
        y0 = max(0, int(pixels[:, 1].min()) - margin)
        x1 = min(view.width, int(pixels[:, 0].max()) + margin + 1)
        y1 = min(view.height, int(pixels[:, 1].max()) + margin + 1)
        if x1 <= x0 or y1 <= y0:
            return empty
        gw, gh = (x1 - x0) // factor + 2, (y1 - y0) // factor + 2
        g = (pixels - (x0, y0)) / factor - 0.5
        ix, iy = np.floor(g[:, 0]).astype(np.intp), np.floor(g[:, 1]).astype(np.intp)
        fx, fy = g[:, 0] - ix, g[:, 1] - iy
        foam = np.clip(speed / FOAM_SPEED - 1.0, 0.0, 1.0)
        fields = [np.ones(len(kinds))] + [self.colors[kinds, c] for c in range(3)] + [foam]
        grids = [np.zeros(gh * gw) for _ in fields]
        for dx, dy, w in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)),
                          (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):  # fmt: skip
            cx, cy = np.clip(ix + dx, 0, gw - 1), np.clip(iy + dy, 0, gh - 1)
            cell = cy * gw + cx
            for grid, value in zip(grids, fields, strict=True):
                grid += np.bincount(cell, w * value, gh * gw)
        blurred = [_blur(grid.reshape(gh, gw).astype(np.float32), sigma) for grid in grids]
        blurred = [b.astype(np.float32) for b in blurred]
        bulk = (factor / gap) ** 2  # particles per cell inside the liquid
        # a narrower blur as well, at half weight: a lone drop's peak there is twice the
        # wide one's, so spray and thin jets stay visible as drops instead of fading under
        # the threshold, while at the edge of the bulk it stays below (no beaded rim)
        sharp = _blur(grids[0].reshape(gh, gw).astype(np.float32), sigma / 2)
        density = np.maximum(blurred[0], 0.5 * sharp) / bulk
        if self.particles:  # one particle's peak is the threshold's middle: round dots
            density = blurred[0] * (2 * math.pi * sigma * sigma) * (LOW + HIGH) / 2 / 0.5
        weight = np.maximum(blurred[0], 1e-6)
        solid = blurred[0] > 1e-3 * bulk  # elsewhere the colour is the first liquid's
        color = np.stack(
            [np.where(solid, b / weight, self.colors[0, c]) for c, b in enumerate(blurred[1:4])],
            axis=-1,
        )
        foamy = np.clip(blurred[4] / weight, 0.0, 1.0)
        # depth below the surface, from how much liquid lies above each cell (cumulative)
        above = np.cumsum(np.minimum(density, 1.0), axis=0) * factor / gap
        above = _blur(above, 2 * sigma)  # smooth: no seams below floating bodies
        depth = np.clip(above / DEPTH_SCALE, 0.0, 1.0) * DEPTH_DARKEN
        alpha = _smoothstep(LOW, HIGH, density)
        rim = alpha - _smoothstep(HIGH, 0.85, density)
        if self.particles:
            depth, rim, foamy = depth * 0, rim * 0, foamy * 0
        shade = color * (1 - depth)[..., None]
        shade = shade + (255 - shade) * (0.35 * rim)[..., None]
        shade = shade + (245 - shade) * (0.8 * foamy)[..., None]
        a = alpha * (OPACITY + (1 - OPACITY) * np.maximum(rim, foamy))
        patch = np.empty((gh, gw, 4), dtype=np.uint8)
        patch[..., :3] = np.clip(np.rint(shade), 0, 255).astype(np.uint8)
        patch[..., 3] = np.clip(np.rint(a * 255), 0, 255).astype(np.uint8)
        return x0, y0, factor, patch
