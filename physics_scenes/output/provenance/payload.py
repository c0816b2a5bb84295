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


CODE_POLYS = (0o133, 0o171, 0o165)
"""The rate-1/3, constraint-length-7 convolutional code (the one of many standards): a soft
Viterbi decoder gains about 4 dB over sending each bit three times."""
CODE_K = 7
CODED_BITS = len(CODE_POLYS) * (PAYLOAD_BITS + CODE_K - 1)
"""210: the 64 payload bits and 6 zeros that bring the coder back to its start."""


def _code_table() -> tuple[np.ndarray, np.ndarray]:
    """Per state (the last 6 bits) and input bit: the next state and the 3 code bits."""
    states = 1 << (CODE_K - 1)
    nxt = np.zeros((states, 2), np.int64)
    out = np.zeros((states, 2, len(CODE_POLYS)), np.int64)
    for state in range(states):
        for bit in (0, 1):
            register = (bit << (CODE_K - 1)) | state
            nxt[state, bit] = register >> 1
            for j, poly in enumerate(CODE_POLYS):
                out[state, bit, j] = bin(register & poly).count("1") & 1
    return nxt, out


def encode(bits: Sequence[int]) -> list[int]:
    """The coded bits of ``bits`` (with the zero tail).

    >>> len(encode(payload_bits("0123456789ab")))
    210
    """
    nxt, out = _code_table()
    state, coded = 0, []
    for bit in [*bits, *[0] * (CODE_K - 1)]:
        coded += [int(v) for v in out[state, bit]]
        state = int(nxt[state, bit])
    return coded


def viterbi(soft: Sequence[float]) -> list[int]:
    """The most likely payload bits for soft code bits (sign = bit, size = confidence).

    >>> coded = encode(payload_bits("0123456789ab"))
    >>> soft = [1.0 if b else -1.0 for b in coded]
    >>> for i in range(0, 210, 9): soft[i] = -soft[i]  # 24 code bits read wrongly
    >>> read_payload(viterbi(soft))
    '0123456789ab'
    """
    nxt, out = _code_table()
    states = len(nxt)
    signed = np.asarray(soft, float).reshape(-1, len(CODE_POLYS))
    gains = (out * 2 - 1) @ signed.T  # (state, bit, step): agreement of each branch
    metric = np.full(states, -np.inf)
    metric[0] = 0.0
    back = np.zeros((len(signed), states), np.int64)
    for step in range(len(signed)):
        candidates = np.full((states, 2), -np.inf)  # (next state, which predecessor)
        total = metric[:, None] + gains[:, :, step]
        for bit in (0, 1):
            target = nxt[:, bit]
            slot = np.arange(states) & 1  # predecessors of a state differ in the oldest bit
            candidates[target, slot] = np.maximum(candidates[target, slot], total[:, bit])
        choice = np.argmax(candidates, axis=1)
        back[step] = choice
        metric = candidates[np.arange(states), choice]
    state, bits = 0, []
    for step in range(len(signed) - 1, -1, -1):
        bits.append(state >> (CODE_K - 2))  # the newest bit is the state's top bit
        state = ((state << 1) & (states - 1)) | int(back[step, state])
    return bits[::-1][:PAYLOAD_BITS]


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
