"""Perceptual fingerprints: what stays the same when an image is resized, recompressed,
cropped a little or recoloured, and when a sound is re-encoded or made louder.

Images: the perceptual hash (pHash, a 64-bit sign pattern of the low DCT frequencies)
and the difference hash (dHash, a 64-bit sign pattern of neighbouring brightness), both
from ``imagehash``: on the picture's luminance after histogram equalisation (a brightness
or contrast change moves no bit), also on 36 crops of it (a copy cropped by up to 10 %),
and on the HSV value channel (a hue rotation moves no bit). Two images *match* when both
Hamming distances of one of these are within the thresholds chosen in
``benchmarks/README.md`` from measured copies.

Sounds: Chromaprint (the code behind AcoustID, run by our ffmpeg's ``chromaprint``
muxer): one 32-bit code per 0.124 s from the signs of chroma-band energy differences, so
gain and the codec's small changes move few bits. Two sounds *match* when, at their best
alignment, under ``SOUND_BER`` of the bits differ (unrelated sounds: about half).

Pure and deterministic: the same file gives the same print in any process.

>>> from PIL import Image
>>> grey = Image.linear_gradient("L").resize((64, 64))
>>> p = image_print_of(grey, sha256="0" * 64)
>>> image_distance(p, p), image_matches(p, p)
((0, 0), True)
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

import imagehash
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..scene import files

PHASH_MAX = 12
"""The largest pHash distance (of 64 bits) still called the same image (benchmarks/)."""
DHASH_MAX = 14
"""The largest dHash distance (of 64 bits) still called the same image (benchmarks/)."""
SOUND_BER = 0.15
"""The largest fraction of differing bits, at the best alignment, still called the same
sound (benchmarks/; unrelated sounds sit near 0.5)."""
SLACK = 8
"""Codes (1 s) the shorter print may hang over either end of the longer one: a copy
trimmed or padded a little (an encoder's priming) still lines up."""
SOUND_SECONDS = 600.0
"""How much of a sound is fingerprinted (the longest sample or music file we accept)."""
LOOP_TO = 6.0
"""A shorter sound is looped to this length before fingerprinting (Chromaprint needs
a few seconds before its first code)."""
CROP = 0.10
"""The largest crop (a fraction of the width or of the height) a copy may have had."""
CROPS: tuple[tuple[float, float], ...] = tuple(
    (a, b) for a in (0.0, 0.05, 0.1) for b in (0.0, 0.05, 0.1) if a + b <= CROP + 1e-9
)
"""(cut from the start, cut from the end) of one axis; each pair of these, one for x and
one for y, is a stored crop (36 in all)."""
MAX_PIXELS = 50_000_000
"""An image larger than this is refused before it is decoded (a decompression bomb)."""
_BACKGROUND = (128, 128, 128)
"""Transparent pixels are laid over mid-grey: the same sprite on any page hashes alike."""


class FingerprintError(ValueError):
    """A file that cannot be fingerprinted; the message names the file and what is wrong."""


@dataclass(frozen=True, slots=True)
class ImagePrint:
    """An image's exact digest and its two perceptual hashes (16 hex digits each)."""

    sha256: str
    phash: str
    dhash: str
    width: int
    height: int
    crops: tuple[str, ...] = ()
    """``"phash:dhash"`` of the picture cut by up to ``CROP`` on each axis (``CROPS``):
    a copy cropped by that much matches one of these closely."""
    value: str = ""
    """``"phash:dhash"`` of the HSV value channel, max(R, G, B), which a hue rotation
    leaves unchanged: the colour-insensitive print ('' in prints made without it)."""


@dataclass(frozen=True, slots=True)
class SoundPrint:
    """A sound's exact digest and its Chromaprint codes (base64 of little-endian uint32)."""

    sha256: str
    codes: str
    seconds: float
    """The length fingerprinted (before any looping)."""

    def array(self) -> np.ndarray:
        """The codes as a uint32 array."""
        return np.frombuffer(base64.b64decode(self.codes), dtype="<u4")


def sha256_file(path: Path) -> str:
    """The file's SHA-256, hex; ``FingerprintError`` if it cannot be read."""
    try:
        return files.sha256(path)
    except FileNotFoundError:
        raise FingerprintError(f"{path}: no such file") from None
    except OSError as error:
        raise FingerprintError(f"{path}: cannot read: {error.strerror}") from None


def image_print(path: Path) -> ImagePrint:
    """The print of an image file (PNG, JPEG, WebP, GIF's first frame...).

    ``FingerprintError`` for a missing file, a file that is not an image, a truncated one
    or one over ``MAX_PIXELS``.
    """
    sha = sha256_file(path)
    try:
        with Image.open(path) as image:
            if image.width * image.height > MAX_PIXELS:
                raise FingerprintError(
                    f"{path}: {image.width}x{image.height} pixels is over the "
                    f"{MAX_PIXELS / 1e6:.0f} MP limit"
                )
            image.load()
            return image_print_of(image, sha)
    except UnidentifiedImageError:
        raise FingerprintError(f"{path}: not an image Pillow can read") from None
    except (OSError, SyntaxError, ValueError) as error:
        if isinstance(error, FingerprintError):
            raise
        raise FingerprintError(f"{path}: a broken or truncated image ({error})") from None


def image_print_of(image: Image.Image, sha256: str) -> ImagePrint:
    """The print of a decoded image (``sha256`` is the file's, given by the caller)."""
    grey = _luminance(image)
    phash, dhash = _hashes(grey)
    small = grey.copy()
    small.thumbnail((WORKING, WORKING), Image.Resampling.LANCZOS)
    w, h = small.size
    crops = []
    for x0, x1 in CROPS:
        for y0, y1 in CROPS:
            box = (round(w * x0), round(h * y0), round(w * (1 - x1)), round(h * (1 - y1)))
            crops.append(":".join(_hashes(ImageOps.equalize(small.crop(box)))))
    value = ":".join(_hashes(_flattened(image).convert("HSV").getchannel("V")))
    return ImagePrint(sha256, phash, dhash, image.width, image.height, tuple(crops), value)


WORKING = 256
"""The crops are cut from a copy this size (the hashes look at 9x8 and 32x32 pixels)."""


def _hashes(grey: Image.Image) -> tuple[str, str]:
    return str(imagehash.phash(grey)), str(imagehash.dhash(grey))


def _flattened(image: Image.Image) -> Image.Image:
    """RGB, with any transparency laid over mid-grey."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        flat = Image.new("RGBA", rgba.size, (*_BACKGROUND, 255))
        flat.alpha_composite(rgba)
        image = flat
    return image.convert("RGB")


def _luminance(image: Image.Image) -> Image.Image:
    """Luminance, equalised: brightness and contrast changes leave the hashes alone."""
    return ImageOps.equalize(_flattened(image).convert("L"))


def _pair(crop: str) -> tuple[str, str]:
    phash, _, dhash = crop.partition(":")
    return phash, dhash


def _bits(hex_hash: str) -> int:
    return int(hex_hash, 16)


def image_distance(a: ImagePrint, b: ImagePrint) -> tuple[int, int]:
    """(pHash, dHash) Hamming distances, each 0..64: of the whole pictures, or of one
    picture against a stored crop of the other, whichever pair is closest (by the sum)."""
    pairs = [(a.phash, a.dhash, b.phash, b.dhash)]
    pairs += [(*_pair(c), b.phash, b.dhash) for c in a.crops]
    pairs += [(a.phash, a.dhash, *_pair(c)) for c in b.crops]
    best = (65, 65)
    for p1, d1, p2, d2 in pairs:
        found = ((_bits(p1) ^ _bits(p2)).bit_count(), (_bits(d1) ^ _bits(d2)).bit_count())
        if sum(found) < sum(best):
            best = found
    return best


def value_distance(a: ImagePrint, b: ImagePrint) -> tuple[int, int]:
    """(pHash, dHash) distances of the colour-insensitive prints (65, 65 if one lacks it)."""
    if not a.value or not b.value:
        return (65, 65)
    (p1, d1), (p2, d2) = _pair(a.value), _pair(b.value)
    return (_bits(p1) ^ _bits(p2)).bit_count(), (_bits(d1) ^ _bits(d2)).bit_count()


def image_matches(a: ImagePrint, b: ImagePrint) -> bool:
    """The same file, or both hashes within their thresholds, of the luminance prints
    (with the crops) or of the colour-insensitive ones."""
    if a.sha256 == b.sha256:
        return True
    return any(
        phash <= PHASH_MAX and dhash <= DHASH_MAX
        for phash, dhash in (image_distance(a, b), value_distance(a, b))
    )


def sound_print(path: Path) -> SoundPrint:
    """The print of a sound file (anything our ffmpeg decodes: WAV, FLAC, MP3, AAC...).

    ``FingerprintError`` for a missing file or one holding no decodable sound.
    """
    sha = sha256_file(path)
    with path.open("rb") as file:
        head = file.read(12)
    if not _sounds_like_audio(head):
        raise FingerprintError(f"{path}: not a sound file (WAV, FLAC, MP3, Ogg, M4A or AAC)")
    from ..output.ffmpeg import chromaprint  # loads the audio stack: only for a sound
    from ..output.sink import ExportError

    try:
        codes, seconds = chromaprint(path, SOUND_SECONDS, LOOP_TO)
    except ExportError as error:
        raise FingerprintError(str(error)) from None
    return sound_print_of(codes, sha, seconds)


def _sounds_like_audio(head: bytes) -> bool:
    """The first bytes of a WAV, FLAC, MP3, Ogg, MP4/M4A or ADTS AAC file (ffmpeg would
    guess at anything, slowly: a text file took it 5 s to refuse)."""
    return (
        (head[:4] == b"RIFF" and head[8:12] == b"WAVE")
        or head[:4] in (b"fLaC", b"OggS")
        or head[:3] == b"ID3"
        or head[4:8] == b"ftyp"
        or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)
    )


def sound_print_of(codes: np.ndarray, sha256: str, seconds: float) -> SoundPrint:
    """A print from Chromaprint codes already computed."""
    data = np.ascontiguousarray(codes, dtype="<u4").tobytes()
    return SoundPrint(sha256, base64.b64encode(data).decode("ascii"), round(seconds, 3))


def sound_distance(a: SoundPrint, b: SoundPrint) -> float:
    """The smallest bit error rate over the alignments that lay the shorter print inside
    the longer one (give or take ``SLACK`` codes at either end): 0 for the same sound,
    about 0.5 for unrelated ones, 1.0 for an empty print.

    A shorter sound inside a longer one (a sample cut from a song) is found at its
    offset; partial overlaps are not tried, since a short overlap of unrelated sounds
    can agree by chance.
    """
    x, y = a.array(), b.array()
    if len(x) > len(y):
        x, y = y, x
    if len(x) == 0:
        return 1.0
    slack = min(SLACK, len(x) // 4)
    best = 1.0
    for shift in range(-slack, len(y) - len(x) + slack + 1):
        lo, hi = max(0, shift), min(len(y), shift + len(x))
        part = np.bitwise_count(x[lo - shift : hi - shift] ^ y[lo:hi])
        best = min(best, float(part.sum()) / (32.0 * (hi - lo)))
    return best


def sound_matches(a: SoundPrint, b: SoundPrint) -> bool:
    """The same file, or their best alignment under ``SOUND_BER``."""
    return a.sha256 == b.sha256 or sound_distance(a, b) <= SOUND_BER
