"""The files a scene names (audio samples, the ambient WAV, music and voice files, a
background image, the faces and voices figures wear and their consent records): where
they may be and what they must be, checked before anything decodes them.

Every path is relative to the scene's folder (the *root*) or to a folder given with
``--assets DIR`` (``Roots``; searched after the scene's own, each confining its files
like the scene's folder; physics samples and the ambient loop come from the scene's
folder only) and must stay inside it:
absolute paths and ``..`` are refused without looking at the disk, and a name that
does not lead to a file inside the root, through links or not, gets the same message
as a missing one, so ``validate`` tells nothing about files outside the root. A file
must be a regular file (a FIFO would block for ever, a device never end), no larger
than its limit, and its header must say what it is (a WAV's format, rate and length; a
PNG's or JPEG's dimensions, so that an image bomb is refused before it is decoded).

Pure: the standard library only (no pygame, no scipy), so ``validate`` can use it.
"""

from __future__ import annotations

import hashlib
import os
import stat
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any, BinaryIO, Literal

from .audio import AudioSpec
from .camera import ImageBackground, Look

Kind = Literal["wav", "image", "media", "consent"]
"""A WAV sample; an image; a music or voice file (WAV, FLAC or MP3, which ffmpeg decodes);
a consent record (a small JSON file, read by ``rights``)."""
MAX_CONSENT_BYTES = 64 * 1024
Loc = tuple[str | int, ...]

MAX_WAV_BYTES = 256 * 1024 * 1024
"""A WAV file's size limit (about 23 minutes of 48 kHz stereo 16-bit)."""
MAX_WAV_SECONDS = 600.0
"""A sample or ambient loop longer than this is not a sample: decoding it (as float64 at
48 kHz) would take far more memory than its file."""
WAV_RATES = (8_000, 384_000)
"""Sample rates accepted, Hz: below, resampling to 48 kHz multiplies the samples (a 1 Hz
WAV of 1 MB would become 48 GB); above, no recording exists."""
MAX_IMAGE_BYTES = 64 * 1024 * 1024
MAX_IMAGE_PIXELS = 50_000_000
"""Width × height of a background image (an 8K picture is 33 MP); decoded, each pixel
takes 4 bytes, and scaling takes as much again."""
HEADER_BYTES = 1 << 16
"""How much of a JPEG is read looking for its size (the SOF marker comes before the data)."""


@dataclass(frozen=True, slots=True)
class Roots:
    """Where a scene's files may be: its own folder, then the ``--assets`` folders."""

    scene: Path
    assets: tuple[Path, ...] = ()


Root = Path | Roots
"""A plain folder is ``Roots(folder)``."""


def roots_of(root: Root) -> Roots:
    return root if isinstance(root, Roots) else Roots(root)


def sha256(path: Path) -> str:
    """The file's SHA-256, hex, read a megabyte at a time (a video of any size costs one
    block of memory); ``OSError`` if it cannot be read."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class FileRefError(ValueError):
    """A named file that cannot be used; the message needs no location to be read."""


@dataclass(frozen=True, slots=True)
class WavInfo:
    channels: int
    rate: int
    width: int
    """Bytes per sample."""
    frames: int


def references(
    audio: AudioSpec, look: Look | None, bodies: Sequence[Any] = (), script: Sequence[Any] = ()
) -> list[tuple[Loc, str, Kind]]:
    """Every file the scene names: (field path, the path as written, kind), in file order.
    ``bodies``: the scene's ``bodies:`` (faces and voices of walkers and ragdolls);
    ``script``: its actions (recorded ``say`` lines and ``sound`` cue files)."""
    refs: list[tuple[Loc, str, Kind]] = []
    for index, body in enumerate(bodies):
        face, voice = getattr(body, "face", None), getattr(body, "voice", None)
        if face is not None:
            refs.append((("bodies", index, "face", "image"), face.image, "image"))
            if face.consent is not None:
                refs.append((("bodies", index, "face", "consent"), face.consent, "consent"))
        if voice is not None:
            refs.append((("bodies", index, "voice", "file"), voice.file, "media"))
            if voice.consent is not None:
                refs.append((("bodies", index, "voice", "consent"), voice.consent, "consent"))
    for section in ("materials", "bodies"):
        table = getattr(audio, section)
        for name, sound in table.items():
            if sound.sample is not None:
                refs.append((("audio", section, name, "sample"), sound.sample, "wav"))
    if audio.ambient is not None and audio.ambient.file is not None:
        refs.append((("audio", "ambient", "file"), audio.ambient.file, "wav"))
    if audio.music is not None:
        refs.append((("audio", "music", "file"), audio.music.file, "media"))
    for index, voice in enumerate(audio.voice):
        refs.append((("audio", "voice", index, "file"), voice.file, "media"))
        if voice.consent is not None:
            refs.append((("audio", "voice", index, "consent"), voice.consent, "consent"))
    if look is not None and isinstance(look.background, ImageBackground):
        refs.append((("look", "background", "image"), look.background.image, "image"))
    for index, action in enumerate(script):
        for verb in ("say", "sound"):
            named = getattr(getattr(action, verb, None), "file", None)
            if named is not None:
                refs.append((("script", index, verb, "file"), named, "media"))
    return refs


def file_checks(
    audio: AudioSpec,
    look: Look | None,
    root: Root,
    bodies: Sequence[Any] = (),
    script: Sequence[Any] = (),
) -> list[tuple[Loc, str]]:
    """(field path, message) for every named file that cannot be used."""
    problems: list[tuple[Loc, str]] = []
    for loc, ref, kind in references(audio, look, bodies, script):
        try:
            check(root, ref, kind)
        except FileRefError as error:
            problems.append((loc, str(error)))
    return problems


def resolve(root: Root, ref: str) -> Path:
    """The file ``ref`` names inside the scene's folder, else inside the first ``--assets``
    folder holding it, links followed; ``FileRefError`` if it is not a relative path or
    leads to nothing inside any of them (one message for both)."""
    written = PurePath(ref)
    if written.is_absolute() or written.drive or written.anchor:
        raise FileRefError(
            f"{ref!r} is an absolute path; name files relative to the scene's folder"
        )
    if ".." in written.parts:
        raise FileRefError(f"{ref!r} leads out of its folder ('..'); files must be inside it")
    if "\x00" in ref:
        raise FileRefError(f"{ref!r} contains a NUL character")
    roots = roots_of(root)
    for folder in (roots.scene, *roots.assets):
        base = folder.resolve()
        try:
            path = (base / written).resolve(strict=True)
        except (OSError, RuntimeError):  # missing, a loop of links, a component not a folder
            continue
        if path.is_relative_to(base):  # a link out of its folder counts as missing
            return path
    where = "the scene's folder" + (" or the --assets folders" if roots.assets else "")
    raise FileRefError(f"no file {ref!r} in {where}")


def check(root: Root, ref: str, kind: Kind) -> Path:
    """``resolve``, then the file must be a regular file of its kind within its limits.
    WAV samples and the ambient loop (``kind='wav'``) only from the scene's folder: the
    physics sounds read them from there."""
    path = resolve(roots_of(root).scene if kind == "wav" else root, ref)
    if kind == "wav":
        wav_header(path, ref)
    elif kind == "media":
        media_format(path, ref)
    elif kind == "consent":
        with _open_regular(path, ref, MAX_CONSENT_BYTES) as file:
            if file.read(1) != b"{":
                raise FileRefError(f"{ref!r} is not a consent record (JSON)")
    else:
        image_size(path, ref)
    return path


MAX_MEDIA_BYTES = 512 * 1024 * 1024
"""A music or voice file's size limit (a 48 kHz 24-bit stereo WAV of 31 minutes)."""


def media_format(path: Path, shown: str | None = None) -> str:
    """'wav', 'flac' or 'mp3', from the file's first bytes; ``FileRefError`` for anything
    else (ffmpeg would decode far more, but only these are promised)."""
    shown = str(path) if shown is None else shown
    with _open_regular(path, shown, MAX_MEDIA_BYTES) as file:
        head = file.read(12)
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        wav_header(path, shown)
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:3] == b"ID3" or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    raise FileRefError(f"{shown!r} is not a WAV, FLAC or MP3 file")


def _open_regular(path: Path, shown: str, limit: int) -> BinaryIO:
    """Open for reading without blocking on a FIFO, then insist on a regular file."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise FileRefError(f"{shown}: no such file") from None
    except OSError as error:
        raise FileRefError(f"{shown!r}: cannot read: {error.strerror}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise FileRefError(f"{shown!r} is not a regular file (a folder, FIFO or device?)")
    if info.st_size > limit:
        os.close(fd)
        raise FileRefError(
            f"{shown!r} is {info.st_size / 2**20:.0f} MiB; the limit is {limit / 2**20:.0f} MiB"
        )
    return os.fdopen(fd, "rb")


def wav_header(path: Path, shown: str | None = None) -> WavInfo:
    """A PCM WAV file's format from its header, checked against the limits; the samples
    are not read. ``FileRefError`` says what is wrong (not a WAV, truncated, 1 Hz...)."""
    shown = str(path) if shown is None else shown
    with _open_regular(path, shown, MAX_WAV_BYTES) as file:
        size = os.fstat(file.fileno()).st_size
        head = file.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise FileRefError(f"{shown!r} is not a WAV file (no RIFF/WAVE header)")
        fmt: tuple[int, int, int, int] | None = None
        offset = 12
        while offset + 8 <= size:
            file.seek(offset)
            chunk, length = struct.unpack("<4sI", file.read(8))
            if chunk == b"fmt ":
                body = file.read(16)
                if len(body) < 16:
                    break
                tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body)
                fmt = (tag, channels, rate, bits)
            elif chunk == b"data":
                return _wav_info(fmt, length, size - offset - 8, shown)
            offset += 8 + length + (length & 1)
        raise FileRefError(f"{shown!r} is not a complete WAV file (no format or no data)")


def _wav_info(
    fmt: tuple[int, int, int, int] | None, length: int, available: int, shown: str
) -> WavInfo:
    if fmt is None:
        raise FileRefError(f"{shown!r}: the WAV's format chunk is missing")
    tag, channels, rate, bits = fmt
    if tag != 1:
        raise FileRefError(
            f"{shown!r} is not a PCM WAV (format tag {tag}); save it as 16- or 24-bit PCM"
        )
    if bits not in (8, 16, 24, 32) or not 1 <= channels <= 16:
        raise FileRefError(f"{shown!r}: unsupported WAV: {channels} channels of {bits} bits")
    low, high = WAV_RATES
    if not low <= rate <= high:
        raise FileRefError(f"{shown!r} is sampled at {rate:,} Hz; expected {low:,} to {high:,} Hz")
    if length > available:
        raise FileRefError(
            f"{shown!r} is truncated: its header promises {length:,} bytes of samples, "
            f"the file holds {available:,}"
        )
    width = bits // 8
    frames = length // (width * channels)
    if frames == 0:
        raise FileRefError(f"{shown!r}: the file holds no samples")
    if frames / rate > MAX_WAV_SECONDS:
        raise FileRefError(
            f"{shown!r} lasts {frames / rate:.0f} s; the limit is {MAX_WAV_SECONDS:.0f} s"
        )
    return WavInfo(channels, rate, width, frames)


_PNG = b"\x89PNG\r\n\x1a\n"
_SOF = frozenset({*range(0xC0, 0xC4), *range(0xC5, 0xC8), *range(0xC9, 0xCC), *range(0xCD, 0xD0)})


def image_size(path: Path, shown: str | None = None) -> tuple[int, int]:
    """(width, height) of a PNG or JPEG from its header, within ``MAX_IMAGE_PIXELS``."""
    shown = str(path) if shown is None else shown
    with _open_regular(path, shown, MAX_IMAGE_BYTES) as file:
        head = file.read(HEADER_BYTES)
    if head.startswith(_PNG):
        if len(head) < 24 or head[12:16] != b"IHDR":
            raise FileRefError(f"{shown!r} is not a complete PNG (no IHDR header)")
        width, height = struct.unpack(">II", head[16:24])
    elif head.startswith(b"\xff\xd8"):
        width, height = _jpeg_size(head, shown)
    else:
        raise FileRefError(f"{shown!r} is not a PNG or JPEG image")
    if width < 1 or height < 1:
        raise FileRefError(f"{shown!r} has no pixels ({width}x{height})")
    if width * height > MAX_IMAGE_PIXELS:
        raise FileRefError(
            f"{shown!r} is {width}x{height} pixels ({width * height / 1e6:.0f} MP); "
            f"the limit is {MAX_IMAGE_PIXELS / 1e6:.0f} MP"
        )
    return width, height


def _jpeg_size(head: bytes, shown: str) -> tuple[int, int]:
    """Walk the JPEG's marker segments to its start-of-frame, which holds the size."""
    at = 2
    while at + 4 <= len(head):
        if head[at] != 0xFF:
            break
        marker = head[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            at += 2
            continue
        (length,) = struct.unpack(">H", head[at + 2 : at + 4])
        if marker in _SOF:
            if at + 9 > len(head):
                break
            height, width = struct.unpack(">HH", head[at + 5 : at + 9])
            return width, height
        if marker == 0xDA or length < 2:  # image data before any size: broken
            break
        at += 2 + length
    raise FileRefError(f"{shown!r}: no JPEG frame header in its first {HEADER_BYTES // 1024} KiB")
