"""Uploads: streamed to a file inside the data directory, size-limited, sniffed for media.

An upload never sits in memory whole: each chunk of the request body goes straight to a
``.part`` file (mode 0600) in ``DATA/uploads/`` while its size is counted; past the limit
the file is deleted and the request refused (413). A body that announces too large a
``Content-Length`` is refused before a byte is read. The file's first bytes decide what
it is (its name and the browser's Content-Type are not trusted); anything but a video,
image or sound the readers know is refused (415). Files are only ever read by the
decoders (ffmpeg, imageio, the C2PA reader), never executed, and the caller deletes
them once the report is made.

>>> sniff(b"\\x89PNG\\r\\n\\x1a\\n" + bytes(8))
('.png', 'PNG image')
>>> sniff(b"#!/bin/sh\\nrm -rf /\\n") is None
True
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from python_multipart.multipart import MultipartParser, parse_options_header

FIELD_LIMIT = 64 * 1024
"""The text fields of a form together (an owner's name, a reason): more is refused."""
FORM_SLACK = 64 * 1024
"""What a multipart body may carry beyond its file (boundaries, headers, fields)."""

ACCEPTED = "MP4/MOV/M4A, WebM/MKV, AVI, GIF, PNG, JPEG, WebP, WAV, MP3, FLAC, OGG"


class UploadRefused(Exception):
    """An upload the portal will not read: ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Upload:
    """A received file (``path`` inside the data directory; the caller deletes it)."""

    path: Path
    name: str
    size: int
    kind: str
    fields: dict[str, str] = field(default_factory=dict)


def sniff(head: bytes) -> tuple[str, str] | None:
    """(suffix, description) of a media file from its first bytes, or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return ".png", "PNG image"
    if head.startswith(b"\xff\xd8\xff"):
        return ".jpg", "JPEG image"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return ".gif", "GIF animation"
    if head[:4] == b"RIFF" and head[8:12] in (b"WEBP", b"WAVE", b"AVI "):
        return {b"WEBP": (".webp", "WebP image"), b"WAVE": (".wav", "WAV sound"),
                b"AVI ": (".avi", "AVI video")}[head[8:12]]  # fmt: skip
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand.startswith(b"M4A"):
            return ".m4a", "M4A sound"
        return (".mov", "QuickTime video") if brand == b"qt  " else (".mp4", "MP4 video")
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return ".mkv", "WebM/Matroska video"
    if head.startswith(b"ID3") or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return ".mp3", "MP3 sound"
    if head.startswith(b"fLaC"):
        return ".flac", "FLAC sound"
    if head.startswith(b"OggS"):
        return ".ogg", "Ogg sound"
    return None


def too_large(limit: int) -> UploadRefused:
    return UploadRefused(
        413, f"the upload is larger than this portal's limit of {limit:,} bytes ({_mb(limit)})"
    )


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.0f} kB"


class _Sink:
    """The open ``.part`` file, its byte count and the limit."""

    def __init__(self, folder: Path, limit: int) -> None:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = folder / f"{secrets.token_hex(12)}.part"
        self.handle = os.fdopen(
            os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb"
        )
        self.size, self.limit, self.head = 0, limit, b""

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            raise too_large(self.limit)
        if len(self.head) < 64:
            self.head += data[: 64 - len(self.head)]
        self.handle.write(data)

    def discard(self) -> None:
        self.handle.close()
        self.path.unlink(missing_ok=True)


async def receive(
    chunks: AsyncIterator[bytes],
    content_type: str,
    content_length: str | None,
    folder: Path,
    limit: int,
    filename: str = "upload",
) -> Upload:
    """Stream a request body (raw bytes, or a multipart form with one file field named
    ``file``) into ``folder``; raise ``UploadRefused`` for what cannot be read."""
    multipart = content_type.lower().startswith("multipart/form-data")
    allowed = limit + (FORM_SLACK if multipart else 0)
    if content_length is not None and content_length.isdigit() and int(content_length) > allowed:
        raise too_large(limit)
    sink = _Sink(folder, limit)
    try:
        if multipart:
            form = _Form(sink, content_type)
            async for chunk in chunks:
                form.feed(chunk)
            form.finish()
            name, fields = form.filename or filename, form.fields
        else:
            async for chunk in chunks:
                sink.write(chunk)
            name, fields = filename, {}
        sink.handle.close()
        if sink.size == 0:
            raise UploadRefused(400, "the upload is empty: choose a video, image or sound file")
        found = sniff(sink.head)
        if found is None:
            raise UploadRefused(
                415,
                f"{name!r} is not a video, image or sound file this portal can read "
                f"(its first bytes match no media format; accepted: {ACCEPTED})",
            )
        final = sink.path.with_suffix(found[0])
        sink.path.replace(final)
        return Upload(final, name, sink.size, found[1], fields)
    except BaseException:
        sink.discard()
        raise


class _Form:
    """A streaming multipart/form-data reader: the ``file`` part goes to the sink, the
    other parts are short text fields."""

    def __init__(self, sink: _Sink, content_type: str) -> None:
        _, options = parse_options_header(content_type)
        boundary = options.get(b"boundary")
        if not boundary:
            raise UploadRefused(400, "a multipart form without a boundary")
        self.sink = sink
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self._header, self._value = b"", b""
        self._headers: dict[bytes, bytes] = {}
        self._name: str | None = None
        self._is_file = False
        self._text = bytearray()
        self._text_total = 0
        self.parser = MultipartParser(boundary, {
            "on_part_begin": self._begin, "on_header_field": self._field,
            "on_header_value": self._value_of, "on_header_end": self._header_end,
            "on_headers_finished": self._headers_done, "on_part_data": self._data,
            "on_part_end": self._end,
        })  # fmt: skip

    def feed(self, chunk: bytes) -> None:
        try:
            self.parser.write(chunk)
        except UploadRefused:
            raise
        except Exception as error:  # the parser's own errors: a malformed form
            raise UploadRefused(400, f"a malformed multipart form: {error}") from None

    def finish(self) -> None:
        self.parser.finalize()

    def _begin(self) -> None:
        self._headers, self._name, self._is_file = {}, None, False
        self._text = bytearray()

    def _field(self, data: bytes, start: int, end: int) -> None:
        self._header += data[start:end]

    def _value_of(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._header.strip().lower()] = self._value.strip()
        self._header, self._value = b"", b""

    def _headers_done(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        if self._name == "file" and b"filename" in options:
            if self.filename is not None:
                raise UploadRefused(400, "one file per upload")
            self._is_file = True
            self.filename = Path(options[b"filename"].decode("utf-8", "replace")).name or "upload"

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._is_file:
            self.sink.write(data[start:end])
            return
        self._text_total += end - start
        if self._text_total > FIELD_LIMIT:
            raise UploadRefused(413, f"the form's text fields pass {FIELD_LIMIT:,} bytes")
        self._text += data[start:end]

    def _end(self) -> None:
        if not self._is_file and self._name:
            self.fields[self._name] = self._text.decode("utf-8", "replace")
