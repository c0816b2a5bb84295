"""The marks' payload: a 48-bit content id plus a CRC-16, and the key that spreads it.

The id is derived from what decides the run (the scene hash, the seed and the output
settings), because the mark must be in the first frame, before the run hash (a digest of
every frame) exists. The run is deterministic, so the id names the run hash just as well;
``verify --scene`` re-simulates and compares the run hash itself.

>>> bits = payload_bits("0123456789ab")
>>> len(bits), read_payload(bits)
(64, '0123456789ab')
>>> read_payload(bits[:-1] + [1 - bits[-1]]) is None
True
"""

from __future__ import annotations

import binascii
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

ID_BITS = 48
CRC_BITS = 16
PAYLOAD_BITS = ID_BITS + CRC_BITS
PUBLIC_KEY = b"physics_scenes public mark v1"
"""The default key: anyone with physics_scenes can detect (and so also forge) this mark.
A keyed mark (``--watermark-key FILE``) can be read and written only with the key."""


def content_id(scene_hash: str, seed: int, settings: str) -> str:
    """12 hex digits naming a render: the scene, its seed and the output settings.

    >>> content_id("ab" * 32, 0, "mp4 320x180 30fps")
    '9f482b295d7c'
    """
    text = f"{scene_hash}|{seed}|{settings}".encode()
    return hashlib.sha256(b"physics_scenes content id|" + text).hexdigest()[: ID_BITS // 4]


def _crc16(data: bytes) -> int:
    return binascii.crc_hqx(data, 0xFFFF)


def payload_bits(cid: str) -> list[int]:
    """The 64 bits carried by the marks: the id then its CRC-16, most significant first."""
    data = bytes.fromhex(cid)
    value = (int.from_bytes(data, "big") << CRC_BITS) | _crc16(data)
    return [(value >> (PAYLOAD_BITS - 1 - i)) & 1 for i in range(PAYLOAD_BITS)]


def read_payload(bits: Sequence[int]) -> str | None:
    """The content id if the CRC matches, else None (no mark, or a mark read wrongly)."""
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    data = (value >> CRC_BITS).to_bytes(ID_BITS // 8, "big")
    return data.hex() if _crc16(data) == value & 0xFFFF else None


RETRIES = 4
"""When the CRC fails, each of this many least certain bits is flipped in turn (one at a
time): a clip whose sound is loud where one bit's copies fell is still read, at the cost
of a false-positive rate 5 × 2⁻¹⁶ per read that has passed the sync test."""


def decode_soft(soft: Sequence[float]) -> tuple[str | None, int]:
    """(content id, bits corrected) from soft bit values (sign = bit), or (None, 0).

    >>> soft = [1.0 if b else -1.0 for b in payload_bits("0123456789ab")]
    >>> soft[5] = -soft[5] * 0.1  # one bit read wrongly, but weakly
    >>> decode_soft(soft)
    ('0123456789ab', 1)
    """
    bits = [int(v > 0) for v in soft]
    found = read_payload(bits)
    if found is not None:
        return found, 0
    for index in sorted(range(len(bits)), key=lambda i: abs(soft[i]))[:RETRIES]:
        flipped = list(bits)
        flipped[index] ^= 1
        found = read_payload(flipped)
        if found is not None:
            return found, 1
    return None, 0


@dataclass(frozen=True, slots=True)
class MarkKey:
    """The secret (or public) bytes that choose the marks' patterns."""

    secret: bytes = PUBLIC_KEY

    @property
    def keyed(self) -> bool:
        return self.secret != PUBLIC_KEY

    def rng(self, purpose: str) -> np.random.Generator:
        """A generator for one pattern, the same for the same key and purpose."""
        digest = hashlib.sha256(self.secret + b"|" + purpose.encode()).digest()
        return np.random.default_rng(list(np.frombuffer(digest, dtype="<u4")))
