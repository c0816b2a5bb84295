"""The picture mark: a tiled spread-spectrum pattern of ±1 luma levels in every frame.

A 128×128 px tile of 8×8 px chips (16×16 chips): a quarter of them a keyed sync
pattern, the rest the 64 payload bits, each spread over 3 chips with keyed signs. The
tile repeats over the frame and over every frame, and is added equally to R, G and B
(so 4:2:0 chroma subsampling does not touch it). Detection takes the luma minus its
local mean, away from edges (which would swamp the ±1 chips), folds every tile of every frame
into one, finds the sync by FFT cross-correlation (any cyclic shift, hence any crop
offset) at a few tile periods (resized copies), then despreads the bits and checks the
CRC. Measured strength and robustness: ``benchmarks/README.md``.

>>> from physics_scenes.output.provenance.payload import payload_bits
>>> mark = PictureMark(MarkKey(), payload_bits("0123456789ab"), strength=1)
>>> frame = np.full((256, 256, 3), 128, np.uint8)
>>> marked = mark.apply_rgb(frame)
>>> int(np.abs(marked.astype(int) - 128).max())
1
>>> found = detect_picture([marked], MarkKey())
>>> found.payload, found.z > 8
('0123456789ab', True)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ...picture.view import Pixels
from .payload import PAYLOAD_BITS, MarkKey, decode_soft

TILE = 128
CHIP = 8
CHIPS = TILE // CHIP
SYNC_CHIPS = CHIPS * CHIPS // 4
STRENGTH = 1
"""Levels (of 255) added or taken away: 48 dB PSNR, invisible on flat grey at 4×."""
PERIODS = (128, 64, 96, 112, 144, 160, 80)
"""Tile periods searched (full size, half, 0.75, …): a resized copy's tile is smaller."""
DETECT_Z = 7.0
"""Sync peak z-score a mark must reach (unmarked pictures: 2.8–5.5) besides its CRC."""
EDGE = 3.0

Array = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Layout:
    """The keyed chip plan: which chips sync (and their signs), which carry which bit."""

    sync: npt.NDArray[np.bool_]
    """(16, 16) True where the chip belongs to the sync pattern."""
    signs: npt.NDArray[np.int8]
    """(16, 16) the keyed ±1 of every chip."""
    bit_of: npt.NDArray[np.int64]
    """(16, 16) the payload bit of every data chip (-1 for sync chips)."""


def chip_layout(key: MarkKey) -> Layout:
    rng = key.rng("picture layout")
    order = rng.permutation(CHIPS * CHIPS)
    sync = np.zeros(CHIPS * CHIPS, bool)
    sync[order[:SYNC_CHIPS]] = True
    bit_of = np.full(CHIPS * CHIPS, -1, np.int64)
    data = order[SYNC_CHIPS:]
    bit_of[data] = np.arange(len(data)) % PAYLOAD_BITS
    signs = rng.choice(np.array([-1, 1], np.int8), CHIPS * CHIPS)
    shape = (CHIPS, CHIPS)
    return Layout(sync.reshape(shape), signs.reshape(shape), bit_of.reshape(shape))


def tile_chips(layout: Layout, bits: Sequence[int]) -> npt.NDArray[np.int8]:
    """(16, 16) chip values ±1 for ``bits``."""
    values = np.asarray(bits, np.int8) * 2 - 1
    data = np.where(layout.bit_of >= 0, values[np.maximum(layout.bit_of, 0)], 1)
    return (layout.signs * data).astype(np.int8)


def _pixels_of(chips: npt.NDArray[np.int8]) -> npt.NDArray[np.int8]:
    return np.kron(chips, np.ones((CHIP, CHIP), np.int8)).astype(np.int8)


class PictureMark:
    """Adds the tile to frames of any size (the pattern is made once per size)."""

    def __init__(self, key: MarkKey, bits: Sequence[int], strength: int = STRENGTH) -> None:
        self.strength = strength
        self.tile = _pixels_of(tile_chips(chip_layout(key), bits)).astype(np.int16) * strength
        self._plane: npt.NDArray[np.int16] | None = None
        self._ones: tuple[tuple[int, ...], npt.NDArray[np.uint8], npt.NDArray[np.uint8],
                          npt.NDArray[np.uint8]] | None = None  # fmt: skip
        """The picture's shape, and per byte: highest value before the step, lowest, step."""
        self._work: npt.NDArray[np.uint8] | None = None

    def _plane_for(self, height: int, width: int) -> npt.NDArray[np.int16]:
        if self._plane is None or self._plane.shape != (height, width):
            reps = (-(-height // TILE), -(-width // TILE))
            self._plane = np.tile(self.tile, reps)[:height, :width]
        return self._plane

    def apply_rgb(self, rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        """An (h, w, 3 or 4) picture with the mark added to every channel (a fourth one
        is the raw frames' padding byte, which nothing reads), clipped to 0..255."""
        plane = self._plane_for(rgb.shape[0], rgb.shape[1])
        if self.strength != 1:
            wide = rgb.astype(np.int16) + plane[..., None]
            clipped: npt.NDArray[np.uint8] = np.clip(wide, 0, 255).astype(np.uint8)
            return clipped
        return self._mark_into(rgb, np.empty(rgb.shape, np.uint8))

    def apply_in_place(self, rgb: npt.NDArray[np.uint8]) -> None:
        """``apply_rgb`` into ``rgb`` itself (a dataset's frames array, channels in any
        order: every channel gets the same step), with no new picture made when it is
        contiguous."""
        if self.strength != 1 or not rgb.flags.c_contiguous:  # (a reshaped view is a copy)
            rgb[...] = self.apply_rgb(rgb)
        else:
            self._mark_into(rgb, rgb)

    def _mark_into(
        self, rgb: npt.NDArray[np.uint8], out: npt.NDArray[np.uint8]
    ) -> npt.NDArray[np.uint8]:
        """Strength 1 into ``out``: each byte ``min(x, 254) + 1`` where the tile is +1,
        ``max(x, 1) - 1`` where it is -1, in uint8 without widening: a clamp to
        per-byte bounds, then a wrapping add of 1 or 255 (that is, -1)."""
        shape = rgb.shape
        height, width = shape[:2]
        by_chip = height % CHIP == 0  # a chip's rows are alike: bounds once a chip row
        if self._ones is None or self._ones[0] != shape:
            plane = self._plane_for(height, width)
            if by_chip:  # (chip rows, 1, width × channels): 96 kB in all, stays in cache
                plane = np.repeat(plane[::CHIP, None, :], rgb[0, 0].size, axis=2)
            else:
                plane = np.broadcast_to(plane[..., None], shape)
            up, down = plane > 0, plane < 0
            self._ones = (
                shape,
                np.where(up, 254, 255).astype(np.uint8),  # highest before the step
                np.where(down, 1, 0).astype(np.uint8),  # lowest before the step
                np.where(up, 1, np.where(down, 255, 0)).astype(np.uint8),  # the step, mod 256
            )
        _, high, low, step = self._ones
        work = out.reshape(height // CHIP, CHIP, -1) if by_chip else out
        np.minimum(rgb.reshape(work.shape), high, out=work)
        np.maximum(work, low, out=work)
        np.add(work, step, out=work)
        return out

    def apply(self, pixels: Pixels) -> Pixels:
        """``pixels`` (4-byte rows; the fourth byte is padding) with the mark added.
        Worked out in a buffer kept for the next frame: the only new memory is the
        result's bytes (a fresh 256 kB array a frame cost as much as the sums)."""
        raw = np.frombuffer(pixels.data, np.uint8).reshape(pixels.height, pixels.width, 4)
        if self.strength != 1:
            marked = self.apply_rgb(raw)
        else:
            if self._work is None or self._work.shape != raw.shape:
                self._work = np.empty(raw.shape, np.uint8)
            marked = self._mark_into(raw, self._work)
        return Pixels(pixels.width, pixels.height, marked.tobytes(), pixels.pix_fmt)


@dataclass(frozen=True, slots=True)
class PictureReading:
    """What the detector found: the payload (None: no valid mark) and how sure it is."""

    payload: str | None
    z: float
    """The sync peak's z-score over all shifts (unmarked pictures: about 3–5.5)."""
    period: int
    """The tile's period in pixels where the sync was found (128: original size)."""
    bit_margin: float
    """The weakest bit's correlation over the bits' noise (over 3: a clean read)."""
    frames: int

    @property
    def found(self) -> bool:
        return self.payload is not None


def _box_mean(plane: Array, radius: int) -> Array:
    """Mean over a (2r+1)² box, edges clamped (two cumulative sums)."""
    for axis in (0, 1):
        padded = np.concatenate(
            [np.repeat(np.take(plane, [0], axis), radius + 1, axis), plane,
             np.repeat(np.take(plane, [-1], axis), radius, axis)], axis=axis,
        )  # fmt: skip
        total = np.cumsum(padded, axis=axis)
        n = plane.shape[axis]
        upper = np.take(total, np.arange(2 * radius + 1, 2 * radius + 1 + n), axis)
        lower = np.take(total, np.arange(n), axis)
        plane = (upper - lower) / (2 * radius + 1)
    return plane


def residual(rgb: npt.NDArray[np.uint8]) -> Array:
    """Luma minus its 7×7 mean, zero near edges: the picture's content gone, chips kept.

    A ±1 chip leaves a residual of at most about 1; anything over ``EDGE`` is content,
    and is dropped with its neighbourhood (measured: z 8 → 20 on a busy scene).
    """
    luma = rgb[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    plane = luma - _box_mean(luma, 3)
    near_edge = _box_mean((np.abs(plane) > EDGE).astype(np.float64), 6) > 0
    return np.where(near_edge, 0.0, plane)


class Folder:
    """Accumulates pictures folded at one tile period."""

    def __init__(self, period: int) -> None:
        self.period = period
        self.total = np.zeros((period, period))
        self.count = np.zeros((period, period))

    def add(self, plane: Array) -> None:
        p = self.period
        h, w = plane.shape
        ph, pw = -(-h // p) * p, -(-w // p) * p
        padded = np.zeros((ph, pw))
        padded[:h, :w] = plane
        ones = np.zeros((ph, pw))
        ones[:h, :w] = 1.0
        self.total += padded.reshape(ph // p, p, pw // p, p).sum(axis=(0, 2))
        self.count += ones.reshape(ph // p, p, pw // p, p).sum(axis=(0, 2))

    def tile(self) -> Array:
        """The folded tile resampled to 128 px (Fourier: the tile is periodic)."""
        folded = self.total / np.maximum(self.count, 1.0)
        if self.period == TILE:
            return folded
        spectrum = np.fft.fftshift(np.fft.fft2(folded))
        out = np.zeros((TILE, TILE), complex)
        p, t = self.period, TILE
        if p < t:
            a = (t - p) // 2
            out[a : a + p, a : a + p] = spectrum
        else:
            a = (p - t) // 2
            out = spectrum[a : a + t, a : a + t]
        return np.real(np.fft.ifft2(np.fft.ifftshift(out))) * (t / p) ** 2


def read_tile(tile: Array, key: MarkKey) -> tuple[str | None, float, float]:
    """(payload, sync z-score, weakest bit margin) of one folded 128 px tile."""
    layout = chip_layout(key)
    template = _pixels_of(np.where(layout.sync, layout.signs, 0).astype(np.int8))
    tile = tile - tile.mean()
    corr = np.real(np.fft.ifft2(np.fft.fft2(tile) * np.conj(np.fft.fft2(template))))
    peak = np.unravel_index(int(np.argmax(corr)), corr.shape)
    z = float((corr[peak] - corr.mean()) / (corr.std() + 1e-12))
    aligned = np.roll(tile, (-int(peak[0]), -int(peak[1])), axis=(0, 1))
    inner = aligned.reshape(CHIPS, CHIP, CHIPS, CHIP)[:, 1:-1, :, 1:-1].mean(axis=(1, 3))
    soft = np.zeros(PAYLOAD_BITS)
    data = layout.bit_of >= 0
    np.add.at(soft, layout.bit_of[data], (inner * layout.signs)[data])
    noise = float(np.std(inner[~data] * layout.signs[~data]))  # sync chips: ±signal + noise
    chips_per_bit = data.sum() / PAYLOAD_BITS
    margin = float(np.min(np.abs(soft)) / (noise * np.sqrt(chips_per_bit) + 1e-12))
    return decode_soft(list(soft))[0], z, margin


def detect_picture(
    frames: Iterable[npt.NDArray[np.uint8]],
    key: MarkKey,
    periods: Sequence[int] = PERIODS,
) -> PictureReading:
    """Look for the mark in RGB frames (any size, crop or re-encode; all of a clip's
    frames add up, so a clip is read more surely than one picture)."""
    folders = [Folder(p) for p in periods]
    count = 0
    for rgb in frames:
        plane = residual(rgb)
        for folder in folders:
            folder.add(plane)
        count += 1
    best = PictureReading(None, 0.0, TILE, 0.0, count)
    for folder in folders:
        payload, z, margin = read_tile(folder.tile(), key)
        if z < DETECT_Z:
            payload = None
        reading = PictureReading(payload, z, folder.period, margin, count)
        if (reading.found, reading.z) > (best.found, best.z):
            best = reading
    return best
