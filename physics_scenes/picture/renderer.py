"""Frame + View → pixels, with pygame on an off-screen Surface.

A pure function of its inputs: the same Layout, Frame, View and size always
give the same pixels, whether the caller is the headless exporter or the
preview window. Static bodies are drawn once per view and reused.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame

from ..errors import InputFileError
from ..frame import NO_BODY, CircleGeom, Frame, Layout, PolyGeom, SegmentGeom, extent
from ..scene.colors import shade
from ..scene.files import FileRefError, image_size
from . import raster
from .faces import TEXTURE, face_tile, square
from .sprites import (
    FEW,
    PREMULTIPLIED,
    SPRITE_MAX_RADIUS,
    DiscSprites,
    ShapeTiles,
    aa_line,
    blit_tile,
    dash,
    rim_width,
    to_surface,
)
from .view import JOINT_COLOR, RIM_SHADE, Pixels, Trail, View
from .water import WaterPainter


@dataclass(frozen=True, slots=True)
class _Sizes:
    """A list of rows at one scale: see ``Renderer._row_sizes``."""

    index: npt.NDArray[np.int64]
    reach: npt.NDArray[np.float64]
    """px from the body's origin that its shapes may reach, plus 2."""
    discs: npt.NDArray[np.float64]
    """px radius of a plain disc (one centred circle), else NaN."""
    small: npt.NDArray[np.bool_]
    """A plain disc drawn from a sprite."""
    few: tuple[list[float], list[float]] | None
    """``reach`` and ``discs`` as Python floats when there are at most ``FEW`` rows,
    all small plain discs (the balls of a dataset clip), else None."""


def _pix_fmt(surface: pygame.Surface) -> str:
    masks = surface.get_masks()[:3]
    formats = {(0xFF0000, 0xFF00, 0xFF): "bgr0", (0xFF, 0xFF00, 0xFF0000): "rgb0"}
    if masks not in formats or surface.get_pitch() != surface.get_width() * 4:
        raise RuntimeError(f"unexpected surface layout: masks {masks}, pitch {surface.get_pitch()}")
    return formats[masks]


class StaticLayers:
    """Static layers (background and static bodies) kept across Renderers: the clips of
    a dataset template share their walls, drawn once per worker instead of once a clip.

    Keyed by everything a layer is drawn from (size, view, background colour, the static
    bodies and their positions, spin marks), so a layer found is the layer that would be
    drawn; holds the last ``size`` of them (memory: ``size`` pictures), and only each
    clip's first (a moving camera's later layers stay the Renderer's own). The owner (a
    worker's job) passes it in.
    """

    def __init__(self, size: int = 2) -> None:
        self.size = size
        self._layers: dict[str, pygame.Surface] = {}

    def get(self, key: str) -> pygame.Surface | None:
        return self._layers.get(key)

    def put(self, key: str, layer: pygame.Surface) -> None:
        if len(self._layers) >= self.size:
            del self._layers[next(iter(self._layers))]  # the oldest
        self._layers[key] = layer


class Renderer:
    """Draws Frames of one Layout at one output size."""

    def __init__(
        self,
        layout: Layout,
        width: int,
        height: int,
        background: npt.NDArray[np.uint8] | None = None,
        *,
        spin_marks: bool = True,
        fluid: str = "surface",
        faces: Mapping[int, npt.NDArray[np.float32]] | None = None,
        layers: StaticLayers | None = None,
    ) -> None:
        """``background``: an optional (height, width, 3) RGB picture behind everything;
        ``spin_marks``: draw the dash that shows a ball's rotation; ``fluid``: liquids as a
        smooth 'surface' or as 'particles' (a debug view); ``faces``: row → a face
        texture (``load_face``) worn on that body's last circle, its head; ``layers``:
        static layers shared with other Renderers (never drawn on, only copied from)."""
        self.spin_marks = spin_marks
        self._faces = dict(faces or {})
        self.layout = layout
        self._background: pygame.Surface | None = None
        if background is not None:
            self._background = _surface_from_rgb(background)
        self.width, self.height = width, height
        self.size = (width, height)
        self.surface = pygame.Surface((width, height), 0, 32)
        self.pix_fmt = _pix_fmt(self.surface)
        self._static_layer: tuple[View, pygame.Surface] | None = None
        self._chains = _chains(layout)
        """Rows of each chain or rope, in order: drawn as one smooth curve."""
        linked = {row for chain in self._chains for row in chain}
        self._static_rows = [i for i, b in enumerate(layout.bodies)
                             if b.body_type == "static" and i not in linked]  # fmt: skip
        self._moving_rows = [i for i, b in enumerate(layout.bodies)
                             if b.body_type != "static" and i not in linked]  # fmt: skip
        self._extent = np.array([extent(b.shapes) for b in layout.bodies], dtype=np.float64)
        self._edges = [shade(b.color, RIM_SHADE) for b in layout.bodies]
        self._discs = DiscSprites()
        self._shapes = ShapeTiles()
        self._disc_radius = np.array([_plain_disc(b.shapes) for b in layout.bodies], np.float64)
        """Metres for bodies that are one centred circle (drawn in batches), else NaN."""
        self._sizes: dict[tuple[int, float], _Sizes] = {}
        """(id of the static or moving rows' list, scale) → ``_row_sizes``."""
        self._dirty: tuple[pygame.Surface, list[pygame.Rect]] | None = None
        """The static layer and where the last frame drew on the renderer's own surface
        (a frame of a few balls only): the next frame restores just those rects."""
        self._joints = [joint for joint in layout.joints if joint.visible]
        self._water = WaterPainter(layout, particles=fluid == "particles")
        shared = background is None and not any(row in self._faces for row in self._static_rows)
        self._layers = layers if shared else None

    def default_view(self) -> View:
        return View.of_layout(self.layout, self.width, self.height)

    def draw(
        self,
        frame: Frame,
        view: View | None = None,
        *,
        trails: Sequence[Trail] = (),
        into: pygame.Surface | None = None,
        hidden: frozenset[str] = frozenset(),
        mirrored: frozenset[int] = frozenset(),
    ) -> pygame.Surface:
        """Draw ``frame`` and return the surface drawn on: the renderer's own (reused each
        call), or ``into`` (same size and pixel format, e.g. the preview window's: one
        full-frame copy less per frame). ``hidden``: joints not in the world at this
        frame (a script's broken or not yet added ones), not drawn; ``mirrored``: rows
        whose shapes are drawn mirrored in their own frame (a walker turned round)."""
        view = view or self.default_view()
        surface = self.surface if into is None else into
        if into is not None and not self.same_format(into):
            raise ValueError("draw(into=...) needs a surface of the renderer's size and format")
        layer = self._static(frame, view)
        if into is None and self._dirty is not None and self._dirty[0] is layer:
            for rect in self._dirty[1]:  # the rest is the layer's already
                surface.blit(layer, rect, rect)
        else:
            surface.blit(layer, (0, 0))
        self._dirty = None
        simple = into is None and not trails and not self._joints and not self._chains
        simple = simple and not len(frame.fluid_kind)
        for trail in trails:
            self._draw_trail(trail, view, surface)
        if self._joints:  # strings and rods behind what they hold
            self._draw_joints(surface, frame, view, lines=True, hidden=hidden)
        for chain in self._chains:
            self._draw_chain(surface, frame, view, chain)
        drawn = self._draw_rows(surface, frame, view, self._moving_rows, mirrored)
        if simple and drawn is not None:
            bounds = surface.get_rect()
            self._dirty = (layer, [rect.clip(bounds) for rect in drawn])
        if self._joints:  # pins to the world on top
            self._draw_joints(surface, frame, view, lines=False, hidden=hidden)
        if len(frame.fluid_kind):  # liquids over the bodies: submerged parts show tinted
            x, y, factor, patch = self._water.paint(frame, view)
            if patch.size:
                h, w = patch.shape[:2]
                cells = pygame.image.frombuffer(patch.tobytes(), (w, h), "RGBA")
                size = (w * factor, h * factor)
                surface.blit(pygame.transform.smoothscale(cells, size), (x, y))
        return surface

    def _draw_chain(
        self, surface: pygame.Surface, frame: Frame, view: View, rows: list[int]
    ) -> None:
        """A chain's links as one smooth band through its hinges (Catmull-Rom)."""
        first, last = self.layout.bodies[rows[0]], self.layout.bodies[rows[-1]]
        geom = first.shapes[0]
        assert isinstance(geom, SegmentGeom)
        end = last.shapes[0]
        assert isinstance(end, SegmentGeom)
        position, angle = frame.position[rows], frame.angle[rows]
        tips = np.array(end.b) @ np.array(
            [
                [math.cos(angle[-1]), math.sin(angle[-1])],
                [-math.sin(angle[-1]), math.cos(angle[-1])],
            ]
        )
        points = np.vstack([position, position[-1] + tips])
        pixels = view.to_pixels(points)
        if not np.isfinite(pixels).all():
            return
        radius = max(geom.radius * view.scale, 0.6)
        blit_tile(surface, raster.band(first.color, _smooth(pixels, 2), radius, self.size))

    def same_format(self, surface: pygame.Surface) -> bool:
        """Whether drawing on ``surface`` gives exactly the pixels of the renderer's own."""
        return (
            surface.get_size() == (self.width, self.height)
            and surface.get_bitsize() == 32
            and surface.get_masks()[:3] == self.surface.get_masks()[:3]
        )

    def _draw_joints(
        self,
        surface: pygame.Surface,
        frame: Frame,
        view: View,
        *,
        lines: bool,
        hidden: frozenset[str] = frozenset(),
    ) -> None:
        """Rods and strings as lines, springs as zig-zags (``lines``), or hinges to the
        world as pins."""
        for joint in self._joints:
            if joint.name in hidden:
                continue
            pin = joint.kind in ("pin", "pivot") and joint.b == NO_BODY
            if not lines and not pin:
                continue
            ends = []
            for row, anchor in ((joint.a, joint.anchor_a), (joint.b, joint.anchor_b)):
                if row == NO_BODY:
                    ends.append(anchor)
                    continue
                angle = float(frame.angle[row])
                c, s = math.cos(angle), math.sin(angle)
                x, y = frame.position[row]
                ends.append((x + anchor[0] * c - anchor[1] * s, y + anchor[0] * s + anchor[1] * c))
            points = view.to_pixels(np.array(ends, dtype=np.float64))
            if not np.isfinite(points).all():
                continue
            (ax, ay), (bx, by) = points.tolist()
            if not lines:
                blit_tile(
                    surface, raster.disc(JOINT_COLOR, JOINT_COLOR, (bx, by), 3.0, 0.0, self.size)
                )
            elif joint.kind == "spring":
                zigzag = [(x - 0.5, y - 0.5) for x, y in _zigzag((ax, ay), (bx, by))]
                pygame.draw.aalines(surface, JOINT_COLOR, False, zigzag)
            elif joint.kind in ("pin", "slide", "groove"):
                aa_line(surface, JOINT_COLOR, (ax, ay), (bx, by))

    def render(
        self,
        frame: Frame,
        view: View | None = None,
        *,
        trails: Sequence[Trail] = (),
        hidden: frozenset[str] = frozenset(),
        mirrored: frozenset[int] = frozenset(),
    ) -> Pixels:
        """Draw ``frame`` and return its pixels as raw bytes (no numpy copy)."""
        surface = self.draw(frame, view, trails=trails, hidden=hidden, mirrored=mirrored)
        return Pixels(self.width, self.height, surface.get_buffer().raw, self.pix_fmt)

    def _draw_trail(self, trail: Trail, view: View, surface: pygame.Surface) -> None:
        """Oldest point first; each piece blends from the background colour to the body's."""
        points = view.to_pixels(trail.points)
        n = len(points)
        if n < 2 or not np.isfinite(points).all():
            return
        width = max(1.0, trail.width * view.scale)
        back = np.array(self.layout.background, dtype=np.float64)
        color = np.array(trail.color, dtype=np.float64)
        for i in range(n - 1):
            f = (i + 1) / n
            mix = tuple(round(c) for c in back + (color - back) * f * 0.8)
            w = max(1, round(width * (0.3 + 0.7 * f)))
            end = points[i + 1].tolist()
            pygame.draw.line(surface, mix, points[i].tolist(), end, w)
            if w > 2:  # round joints: no gaps where the path bends
                pygame.draw.circle(surface, mix, end, w / 2)

    def _static(self, frame: Frame, view: View) -> pygame.Surface:
        if self._static_layer is None or self._static_layer[0] != view:
            # shared: a clip's first layer only (a moving camera's next ones are its own)
            shared = self._layers if self._static_layer is None else None
            key = self._layer_key(frame, view) if shared is not None else ""
            layer = shared.get(key) if shared is not None else None
            if layer is None:
                layer = pygame.Surface((self.width, self.height), 0, 32)
                if self._background is not None:
                    layer.blit(self._background, (0, 0))
                else:
                    layer.fill(self.layout.background)
                self._draw_rows(layer, frame, view, self._static_rows)
                if shared is not None:
                    shared.put(key, layer)
            self._static_layer = (view, layer)
        return self._static_layer[1]

    def _layer_key(self, frame: Frame, view: View) -> str:
        """What the static layer is drawn from, exactly (``repr`` keeps -0.0 apart)."""
        rows = self._static_rows
        bodies = [self.layout.bodies[row] for row in rows]
        placed = (frame.position[rows].tobytes().hex(), frame.angle[rows].tobytes().hex())
        return repr((self.size, view, self.layout.background, self.spin_marks, bodies, placed))

    def _draw_rows(
        self,
        surface: pygame.Surface,
        frame: Frame,
        view: View,
        rows: list[int],
        mirrored: frozenset[int] = frozenset(),
    ) -> list[pygame.Rect] | None:
        """Draw ``rows``; where on ``surface`` (rects) if they were a few balls, else None."""
        if not rows:
            return []
        sizes = self._row_sizes(rows, view.scale)
        if sizes.few is not None:  # a few balls: in Python floats, fewer numpy calls
            reaches, radii = sizes.few
            points = view.pixel_list(frame.position[sizes.index].tolist())
            width, height = self.width, self.height
            if all(x + r >= 0 and x - r <= width and y + r >= 0 and y - r <= height
                   for (x, y), r in zip(points, reaches, strict=True)):  # fmt: skip
                return self._draw_discs(surface, frame, view, rows, points, radii)
        centers = view.to_pixels(frame.position[sizes.index])
        x, y = centers[:, 0], centers[:, 1]
        # (inf and NaN centres fail a comparison: off screen, nothing to draw)
        visible = (x + sizes.reach >= 0) & (x - sizes.reach <= self.width)
        visible &= y + sizes.reach >= 0
        visible &= y - sizes.reach <= self.height
        batched = visible & sizes.small
        discs = sizes.discs
        if batched.all():  # only balls, all on screen: one run
            self._draw_discs(surface, frame, view, rows, centers, discs)
            return None
        batch: list[int] = []
        for k, row in enumerate(rows):
            if batched[k]:
                batch.append(k)
                continue
            if batch:
                picked = [rows[k] for k in batch]
                self._draw_discs(surface, frame, view, picked, centers[batch], discs[batch])
                batch = []
            if visible[k]:  # off screen (or blown up to inf/NaN): nothing to draw
                self._draw_body(surface, frame, view, row, centers[k], row in mirrored)
        if batch:
            picked = [rows[k] for k in batch]
            self._draw_discs(surface, frame, view, picked, centers[batch], discs[batch])
        return None

    def _row_sizes(self, rows: list[int], scale: float) -> _Sizes:
        """``rows`` as an index and their sizes in px at ``scale``: worked out once per
        list of rows and scale (the camera rarely zooms)."""
        key = (id(rows), scale)
        sizes = self._sizes.get(key)
        if sizes is None:
            if len(self._sizes) >= 64:
                self._sizes.clear()
            discs = self._disc_radius[rows] * scale
            reach = self._extent[rows] * scale + 2
            small = discs <= SPRITE_MAX_RADIUS  # NaN (not a plain disc) is False
            few = (reach.tolist(), discs.tolist()) if len(rows) <= FEW and small.all() else None
            sizes = self._sizes[key] = _Sizes(np.array(rows, np.int64), reach, discs, small, few)
        return sizes

    def _draw_discs(
        self,
        surface: pygame.Surface,
        frame: Frame,
        view: View,
        picked: list[int],
        centers: npt.NDArray[np.float64] | Sequence[tuple[float, float]],
        radii: npt.NDArray[np.float64] | Sequence[float],
    ) -> list[pygame.Rect]:
        """A run of plain balls (rows ``picked``, their centres and radii in px) in one
        ``fblits`` call, then their spin marks.

        Drawing each ball with its own blit and line cost ≈ 9 µs of Python a ball;
        the batch is ≈ 3 µs. Marks lie inside their own disc, so drawing them after
        the run changes nothing unless two balls overlap by more than a third of a radius.
        Returns where it drew (a margin round the lines: their rect is pygame's estimate).
        """
        bodies, edges = self.layout.bodies, self._edges
        blits, drawn = self._discs.sprites(
            [bodies[row].color for row in picked], [edges[row] for row in picked], centers, radii
        )
        surface.fblits(blits, PREMULTIPLIED)
        rects = [pygame.Rect(at, sprite.get_size()) for sprite, at in blits]
        if not self.spin_marks:
            return rects
        angles = (frame.angle[picked] - view.rotation).tolist()
        tiles: Iterator[raster.Tile | None] = iter(())
        largest = float(radii.max()) if isinstance(radii, np.ndarray) else max(radii)
        if largest * 0.14 >= 1.4:  # wide marks likely (the radii drawn are ±1/16 px)
            wide = [(edges[row], dash((cx, cy), radius, angle))
                    for row, (cx, cy, radius), angle in zip(picked, drawn, angles, strict=True)
                    if bodies[row].marked and radius >= 4 and radius * 0.14 >= 1.5]  # fmt: skip
            colors = [color for color, _ in wide]
            tiles = iter(raster.capsules(colors, [ends[:4] for _, ends in wide],
                                         [ends[4] for _, ends in wide], self.size))  # fmt: skip
        line, cos, sin = pygame.draw.aaline, math.cos, math.sin
        for row, (cx, cy, radius), angle in zip(picked, drawn, angles, strict=True):
            if not bodies[row].marked or radius < 4:
                continue
            if radius * 0.14 >= 1.5:  # a wide mark: by coverage, all worked out together above
                tile = next(tiles)
                if tile is not None:
                    x0, y0, rgba = tile
                    rects.append(
                        surface.blit(to_surface(rgba), (x0, y0), special_flags=PREMULTIPLIED)
                    )
                continue
            # as spin_mark for a one-pixel line, inlined: 1000 calls a frame
            c, s = cos(angle), sin(angle)
            inner, outer = radius * 0.35, radius - min(2.0, radius * 0.12) - 0.5
            cx, cy = cx - 0.5, cy - 0.5  # pygame's lines put integer coordinates mid-pixel
            rect = line(surface, edges[row], (cx + inner * c, cy - inner * s),
                        (cx + outer * c, cy - outer * s))  # fmt: skip
            rects.append(rect.inflate(4, 4))
        return rects

    def _draw_body(
        self,
        surface: pygame.Surface,
        frame: Frame,
        view: View,
        row: int,
        center: npt.NDArray[np.float64],
        mirror: bool = False,
    ) -> None:
        body = self.layout.bodies[row]
        flip = -1.0 if mirror else 1.0
        angle = float(frame.angle[row])
        cos, sin = math.cos(angle), math.sin(angle)
        x, y = float(frame.position[row, 0]), float(frame.position[row, 1])
        fill, edge = body.color, self._edges[row]
        face = self._faces.get(row)
        head = max((i for i, g in enumerate(body.shapes) if isinstance(g, CircleGeom)), default=-1)
        for index, geom in enumerate(body.shapes):
            if isinstance(geom, CircleGeom):
                ox, oy = geom.offset
                ox *= flip
                if ox or oy:
                    cx, cy = view.to_pixels((x + ox * cos - oy * sin, y + ox * sin + oy * cos))
                else:
                    cx, cy = center
                self._discs.draw(
                    surface,
                    fill,
                    edge,
                    (cx, cy),
                    geom.radius * view.scale,
                    angle - view.rotation if body.marked and self.spin_marks else None,
                )
                if face is not None and index == head:
                    radius = geom.radius * view.scale
                    inner = radius - (rim_width(radius) if radius >= 1 else 0.0)
                    tile = face_tile(face, (cx, cy), inner, angle - view.rotation, self.size)
                    blit_tile(surface, tile)
            elif isinstance(geom, PolyGeom):
                local = np.asarray(geom.vertices) * (flip, 1.0)
                world = np.column_stack(
                    (
                        x + local[:, 0] * cos - local[:, 1] * sin,
                        y + local[:, 0] * sin + local[:, 1] * cos,
                    )
                )
                self._shapes.convex(surface, fill, edge, view.to_pixels(world))
            elif isinstance(geom, SegmentGeom):
                ends = np.array([geom.a, geom.b], dtype=np.float64) * (flip, 1.0)
                world = np.column_stack(
                    (
                        x + ends[:, 0] * cos - ends[:, 1] * sin,
                        y + ends[:, 0] * sin + ends[:, 1] * cos,
                    )
                )
                (ax, ay), (bx, by) = view.to_pixels(world).tolist()
                radius = max(geom.radius * view.scale, 0.75)
                rim = min(1.0, radius * 0.3)
                tile = raster.capsule(fill, edge, (ax, ay), (bx, by), radius, rim, self.size)
                blit_tile(surface, tile)


def _chains(layout: Layout) -> list[list[int]]:
    """The links of each chain or rope (kind 'link', one capsule from the body's origin,
    sharing a composite group), in row order, which is the order along the chain."""
    groups: dict[int, list[int]] = {}
    for row, body in enumerate(layout.bodies):
        shapes = body.shapes
        one = shapes[0] if len(shapes) == 1 else None
        if body.kind == "link" and body.group and isinstance(one, SegmentGeom) and one.a == (0, 0):
            groups.setdefault(body.group, []).append(row)
    return [rows for rows in groups.values() if len(rows) >= 2]


def _smooth(points: npt.NDArray[np.float64], steps: int = 4) -> npt.NDArray[np.float64]:
    """A Catmull-Rom curve through ``points`` (n, 2), ``steps`` pieces between two."""
    padded = np.vstack([2 * points[0] - points[1], points, 2 * points[-1] - points[-2]])
    t = (np.arange(steps) / steps)[:, None, None]
    p0, p1, p2, p3 = padded[:-3], padded[1:-2], padded[2:-1], padded[3:]
    curve = 0.5 * (
        2 * p1
        + (p2 - p0) * t
        + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
        + (3 * p1 - p0 - 3 * p2 + p3) * t**3
    )  # (steps, n - 1, 2)
    return np.vstack([curve.transpose(1, 0, 2).reshape(-1, 2), points[-1:]])


def _plain_disc(shapes: Sequence[object]) -> float:
    """The radius of a body that is a single centred circle, else NaN."""
    if len(shapes) == 1 and isinstance(shapes[0], CircleGeom) and shapes[0].offset == (0.0, 0.0):
        return shapes[0].radius
    return math.nan


SPRING_COILS = 10


def _zigzag(a: tuple[float, float], b: tuple[float, float]) -> list[tuple[float, float]]:
    """A spring drawn between a and b: straight ends, zig-zag coils of constant width."""
    (ax, ay), (bx, by) = a, b
    length = math.hypot(bx - ax, by - ay) or 1.0
    ux, uy = (bx - ax) / length, (by - ay) / length
    width = 6.0
    points = [a]
    for i in range(1, 2 * SPRING_COILS):
        t = 0.1 + 0.8 * i / (2 * SPRING_COILS)
        side = width if i % 2 else -width
        points.append((ax + ux * length * t - uy * side, ay + uy * length * t + ux * side))
    points.append(b)
    return points


def render_rgb(
    layout: Layout, frame: Frame, width: int, height: int, view: View | None = None
) -> npt.NDArray[np.uint8]:
    """Convenience: one frame as an (height, width, 3) RGB array."""
    return Renderer(layout, width, height).render(frame, view).rgb()


def _surface_from_rgb(rgb: npt.NDArray[np.uint8]) -> pygame.Surface:
    height, width = rgb.shape[:2]
    surface = pygame.image.frombuffer(np.ascontiguousarray(rgb).tobytes(), (width, height), "RGB")
    out = pygame.Surface((width, height), 0, 32)
    out.blit(surface, (0, 0))
    return out


def load_face(path: Path) -> npt.NDArray[np.float32]:
    """A face picture's texture (``faces.square``: the centred square, alpha kept);
    the header is checked before decoding, as for backgrounds."""
    try:
        image_size(path)
        image = pygame.image.load(str(path))
    except FileRefError as error:
        raise InputFileError(str(error)) from None
    except pygame.error as error:
        raise InputFileError(f"{path}: cannot decode the image ({error})") from None
    side = min(image.get_width(), image.get_height())
    crop = image.subsurface(((image.get_width() - side) // 2, (image.get_height() - side) // 2,
                             side, side))  # fmt: skip
    if side > 4 * TEXTURE:  # a photograph: shrunk first, in pygame's bytes, not numpy floats
        crop = pygame.transform.smoothscale(crop, (4 * TEXTURE, 4 * TEXTURE))
    rgb = pygame.surfarray.array3d(crop).swapaxes(0, 1)
    if crop.get_flags() & pygame.SRCALPHA:
        alpha = pygame.surfarray.array_alpha(crop).swapaxes(0, 1)
    else:
        alpha = np.full(rgb.shape[:2], 255, np.uint8)
    return square(np.dstack((rgb, alpha)).astype(np.uint8))


def load_image_rgb(path: str, width: int, height: int) -> npt.NDArray[np.uint8]:
    """A picture file scaled to cover ``width``×``height`` (centre-cropped), as RGB.

    The header is read first (``scene.files.image_size``): a PNG or JPEG of at most
    ``MAX_IMAGE_PIXELS``, so an image bomb is refused before it is decoded.
    """
    try:
        image_size(Path(path))
        image = pygame.image.load(path)
    except FileRefError as error:
        raise InputFileError(str(error)) from None
    except pygame.error as error:
        raise InputFileError(f"{path}: cannot decode the image ({error})") from None
    scale = max(width / image.get_width(), height / image.get_height())
    size = (
        max(width, round(image.get_width() * scale)),
        max(height, round(image.get_height() * scale)),
    )
    image = pygame.transform.smoothscale(image, size)
    x, y = (size[0] - width) // 2, (size[1] - height) // 2
    out = pygame.Surface((width, height), 0, 32)
    out.blit(image, (-x, -y))
    rgb = pygame.surfarray.array3d(out).swapaxes(0, 1)
    return np.ascontiguousarray(rgb)
