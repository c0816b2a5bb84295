"""The sound's batched paths give the same numbers, bit for bit, as one at a time.

Issue 22 made the sound cheaper where contacts are many (impacts made as rows of one
block, the voice budget on heaps, the score's contacts kept as arrays). Each is checked
here against the plain one-at-a-time version written out in the test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from physics_scenes.audio.dsp import RATE, band_noise, band_noises
from physics_scenes.audio.mix import FADE, Voice, allocate
from physics_scenes.audio.score import _Contacts
from physics_scenes.audio.synth import END_FADE, ImpactSynth, _ramp, impact_rows
from physics_scenes.audio.timbre import PRESET_TIMBRES


def one_impact(modes, attack_ms: float, weights: np.ndarray, pick: int, length: int):  # type: ignore[no-untyped-def]
    """One impact as the synth made it before the rows (a part at a time, in order)."""
    out = np.zeros(length)
    for weight, part in zip(weights, modes.parts, strict=False):
        out[: len(part)] += weight * part[:length]
    noise = modes.noises[pick]
    out[: len(noise)] += noise[:length] * (0.6 + 0.5 * weights[-1])
    ramp = _ramp(length, attack_ms)
    if ramp is not None:
        out[: len(ramp)] *= ramp
    if length == modes.full:
        fade = min(length, END_FADE)
        out[length - fade :] *= np.linspace(1.0, 0.0, fade)
    return out


@pytest.mark.parametrize("name", ["rubber", "metal", "wood"])
def test_impact_rows_are_the_impacts_one_at_a_time(name: str) -> None:
    timbre = PRESET_TIMBRES[name]
    modes = ImpactSynth(3).modes(timbre, 700.0, 0.8)
    rng = np.random.default_rng(5)
    full = modes.full
    sizes = [full, full // 3, full, 2000, full - 7]  # whole (end fade) and cut short
    weights = rng.uniform(0.6, 1.4, (len(sizes), len(modes.parts) + 1))
    picks = rng.integers(len(modes.noises), size=len(sizes)).tolist()
    block = impact_rows(modes, timbre.attack_ms, weights, picks, sizes)
    assert block.shape == (len(sizes), full)
    for row, size in enumerate(sizes):
        alone = one_impact(modes, timbre.attack_ms, weights[row], picks[row], size)
        assert block[row, :size].tobytes() == alone.tobytes()


def test_impact_keeps_its_random_draws() -> None:
    """``impact`` draws the weights, then the burst, as it always did."""
    timbre = PRESET_TIMBRES["glass"]
    synth = ImpactSynth(1)
    wave, ring = synth.impact(timbre, 1500.0, np.random.default_rng(9), 3000)
    draws = np.random.default_rng(9)
    modes = synth.modes(timbre, 1500.0)
    weights = draws.uniform(0.6, 1.4, len(modes.parts) + 1)
    pick = int(draws.integers(len(modes.noises)))
    expected = one_impact(modes, timbre.attack_ms, weights, pick, min(modes.full, 3000))
    assert wave.tobytes() == expected.tobytes()
    assert ring == max(modes.decays)


def test_noise_rows_are_draws_one_after_another() -> None:
    rows = band_noises(np.random.default_rng(4), 8, 865, 500.0, 2.0)
    one_by_one = np.random.default_rng(4)
    for row in rows:
        assert row.tobytes() == band_noise(one_by_one, 865, 500.0, 2.0).tobytes()


def budget_one_at_a_time(voices: list[Voice], budget: int) -> list[tuple[Voice, int]]:
    """The voice budget as it was written before the heaps (a scan of every slot)."""
    loudest = max(v.gain for v in voices)
    floor = loudest * 10 ** (-60.0 / 20)
    voices = sorted(
        (v for v in voices if v.gain >= floor), key=lambda v: (v.start, -v.gain, v.order)
    )
    intercept, slope = np.zeros(budget), np.zeros(budget)
    slot_end = np.full(budget, -1, dtype=np.int64)
    slot_kept = np.full(budget, -1, dtype=np.int64)
    kept: list[list] = []  # type: ignore[type-arg]
    for voice in voices:
        t = voice.start
        free = np.flatnonzero(slot_end <= t)
        gain_db = 20 * math.log10(voice.gain)
        if free.size:
            slot = int(free[0])
        else:
            now = intercept - slope * t
            slot = int(now.argmin())
            if now[slot] >= gain_db:
                continue
            victim = kept[slot_kept[slot]]
            victim[1] = min(victim[1], max(t, victim[0].start) + FADE)
        slope[slot] = 60.0 / (max(voice.ring, 1e-3) * RATE)
        intercept[slot] = gain_db + slope[slot] * t
        slot_end[slot] = t + voice.length
        slot_kept[slot] = len(kept)
        kept.append([voice, t + voice.length])
    return [(v, end - v.start) for v, end in kept if end > v.start]


def test_voice_budget_as_before() -> None:
    """A crowd (many more voices than slots, ties in start and gain, some far too quiet)
    keeps the same voices, cut at the same samples."""
    rng = np.random.default_rng(2)
    count = 3000
    starts = np.sort(rng.integers(0, 5 * RATE, count)) // 50 * 50  # many share a start
    gains = np.round(rng.uniform(0.001, 1.0, count) ** 3, 3)  # ties, and some under -60 dB
    voices = [
        Voice(int(s), int(rng.integers(200, 9000)), max(float(g), 1e-7), 0.0,
              float(rng.uniform(0.02, 1.5)), i)
        for i, (s, g) in enumerate(zip(starts, gains, strict=True))
    ]  # fmt: skip
    got = allocate(voices, 16)
    assert got == budget_one_at_a_time(voices, 16)
    assert any(keep < voice.length for voice, keep in got)  # the budget did cut


def test_contacts_keep_the_order_they_began_in() -> None:
    """Begin, begin again and end contacts at random: the arrays list the live contacts
    in the order a dict keeps them (the sums over them depend on it)."""
    rng = np.random.default_rng(8)
    contacts, model = _Contacts(), {}
    for step in range(3000):
        key = (int(rng.integers(0, 40)), int(rng.integers(40, 80)))
        if rng.random() < 0.45:
            contacts.remove(key)
            model.pop(key, None)
        else:
            values = tuple(float(v) for v in rng.normal(size=6))
            contacts.put(key, values, key[0] % 3)
            model[key] = values
        if step % 97 == 0 or step == 2999:
            ra, rb, normal, local_a, local_b, group = contacts.arrays()
            assert list(zip(ra.tolist(), rb.tolist(), strict=True)) == list(model)
            data = np.hstack([normal, local_a, local_b])
            assert data.tolist() == [list(v) for v in model.values()]
            assert group.tolist() == [a % 3 for a, _b in model]
