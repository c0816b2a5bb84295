"""Masters that survive delivery: no infrasound, soft ends, never digital zero, and
(in test_audio and the slow examples test) a true peak under the ceiling once encoded."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pyloudnorm
import pytest
from scipy import signal
from scipy.io import wavfile

from physics_scenes import load_scene, parse_scene, simulate
from physics_scenes.audio import RATE, Levels, Score, read_wav, render_track
from physics_scenes.audio.dsp import FloatWavWriter
from physics_scenes.audio.stems import STEMS
from physics_scenes.job.pipeline import RenderJob, run

ONE_HIT = """
seed: 3
world: {size: [4, 3]}
timing: {duration: 2.5}
materials: {dead: {density: 700, elasticity: 0.0, friction: 0.9}}
audio: {materials: {dead: {like: wood}}}
bodies:
  - {kind: floor, name: floor, y: 0.5}
  - {kind: ball, name: ball, radius: 0.15, position: [2, 0.75], velocity: [0, -4], material: dead}
"""


def track(text: str) -> tuple[np.ndarray, Levels]:
    scene = parse_scene(text)
    layout, frames = simulate(scene)
    score = Score(layout)
    for frame in frames:
        score.add(frame)
    materials = {n: (m.density, m.elasticity) for n, m in scene.materials.items()}
    seconds = scene.timing.frame_count / scene.timing.fps
    audio, levels = render_track(score, scene.audio, scene.seed, seconds, materials=materials)
    return audio.astype(np.float64), levels


def longest_zero_run(column: np.ndarray) -> int:
    zero = np.concatenate([[False], column == 0.0, [False]])
    edges = np.flatnonzero(np.diff(zero.astype(np.int8)))
    return int((edges[1::2] - edges[::2]).max()) if edges.size else 0


def test_one_hit_then_silence_ends_soft_has_no_infrasound_and_no_digital_zero() -> None:
    audio, levels = track(ONE_HIT)
    meter = pyloudnorm.Meter(RATE)
    loudness = meter.integrated_loudness(audio)  # (one short knock cannot make -16 LUFS)
    assert abs(loudness - levels.loudness) < 0.2, (loudness, levels)
    # the room tone fills the silence after the hit: never a stretch of exact zeros
    assert max(longest_zero_run(audio[1:, c]) for c in (0, 1)) < 10
    tail = audio[round(1.0 * RATE) : round(2.1 * RATE)]  # the hit has rung out by then
    tone = meter.integrated_loudness(tail)
    assert abs(tone - (loudness - 50)) < 3, (tone, loudness)  # 50 LU under the track
    # soft ends: the first and last samples are zero and the fade is smooth
    assert np.all(audio[0] == 0) and np.all(audio[-1] == 0)
    steps = np.abs(np.diff(audio[-RATE // 100 :], axis=0)).max()
    assert steps < 10 ** (-60 / 20), steps
    # no DC, and energy under 20 Hz at least 35 dB below the whole band
    mono = audio.mean(axis=1)
    assert abs(mono.mean()) < 1e-5
    power = np.abs(np.fft.rfft(mono * np.hanning(len(mono)))) ** 2
    freqs = np.fft.rfftfreq(len(mono), 1 / RATE)
    below = 10 * math.log10(power[freqs < 20].sum() / power.sum())
    assert below < -35, below


@pytest.mark.slow  # two more tracks (about 1 s)
def test_room_tone_can_be_switched_off_and_a_silent_scene_stays_silent() -> None:
    off = track(ONE_HIT.replace("audio: {", "audio: {room_tone: null, "))[0]
    assert longest_zero_run(off[:, 0]) > RATE // 2, "after the hit: digital silence"
    still = track("timing: {duration: 1}\nbodies: [{kind: floor}]\n")[0]
    assert not still.any(), "nothing to be under: no room tone"


KNOCK = """
seed: 2
world: {size: [4, 3], gravity: [0, 0], walls: true}
timing: {duration: 3}
materials: {dead: {density: 700, elasticity: 0.0, friction: 0.9}}
audio:
  materials: {dead: {like: wood}}
  room_tone: null
  music: {file: music.wav, gain_db: -6, fade_out: 0.2,
          duck: {amount_db: 12, attack: 0.01, release: 0.2}}
  voice: [{file: voice.mp3, start: 2.0}]
bodies:
  - {kind: ball, name: ball, radius: 0.1, position: [2.5, 1.5], velocity: [-2, 0], material: dead}
"""


def tone_file(path: Path, hz: float, seconds: float) -> Path:
    """A sine written by ffmpeg's own encoder (WAV, FLAC or MP3, by the suffix)."""
    exe = imageio_ffmpeg.get_ffmpeg_exe()
    subprocess.run(
        [exe, "-v", "error", "-f", "lavfi", "-i", f"sine=frequency={hz}:duration={seconds}",
         "-ar", "48000", "-y", str(path)],
        check=True,
    )  # fmt: skip
    return path


def band_level(audio: np.ndarray, hz: float, t0: float, t1: float) -> float:
    """dB of the ``hz`` component in [t0, t1) s (a narrow band around it)."""
    piece = audio[round(t0 * RATE) : round(t1 * RATE)].mean(axis=1)
    window = np.hanning(len(piece))
    spectrum = np.abs(np.fft.rfft(piece * window)) * 2 / window.sum()  # a sine's amplitude
    freqs = np.fft.rfftfreq(len(piece), 1 / RATE)
    return 20 * math.log10(spectrum[np.abs(freqs - hz) < 15].max() + 1e-12)


@pytest.mark.slow  # a render with two decoded files (about 2 s)
def test_music_bed_loops_ducks_under_a_hit_and_a_voice_comes_in_at_its_time(tmp_path):
    tone_file(tmp_path / "music.wav", 220.0, 0.5)  # looped six times
    tone_file(tmp_path / "voice.mp3", 660.0, 0.6)
    (tmp_path / "knock.yaml").write_text(KNOCK)
    scene = load_scene(tmp_path / "knock.yaml")
    hits = [e.time for f in simulate(scene)[1] for e in f.events if e.kind == "begin"]
    assert len(hits) == 1 and 1.0 < hits[0] < 1.4
    out = tmp_path / "k.jsonl"
    run(RenderJob(scene, out, "states", 0, 0, audio="wav", source=tmp_path / "knock.yaml"))
    audio = read_wav(tmp_path / "k.wav")[:, None].repeat(2, axis=1)
    assert abs(pyloudnorm.Meter(RATE).integrated_loudness(audio) + 16) < 0.5
    before = band_level(audio, 220, 0.4, 0.9)
    ducked = band_level(audio, 220, hits[0] + 0.02, hits[0] + 0.12)
    after = band_level(audio, 220, 1.65, 1.95)
    under_voice = band_level(audio, 220, 2.1, 2.5)
    assert before - ducked > 6, (before, ducked)  # the music dips under the knock
    assert abs(after - before) < 1.5, (before, after)  # and comes back
    assert before - under_voice > 6, (before, under_voice)  # and dips under the voice
    assert band_level(audio, 220, 2.85, 2.99) < before - 10, "faded out at the end"
    # the 660 Hz voice: from 2.0 s, not before
    assert band_level(audio, 660, 1.5, 1.95) < band_level(audio, 660, 2.05, 2.5) - 30


def test_music_and_voice_files_are_checked_where_the_scene_names_them(tmp_path) -> None:
    (tmp_path / "knock.yaml").write_text(KNOCK)
    (tmp_path / "music.wav").write_text("not a sound")
    with pytest.raises(Exception, match=r"audio\.music\.file: 'music\.wav' is not a WAV"):
        run(RenderJob(load_scene(tmp_path / "knock.yaml"), tmp_path / "k.jsonl", "states",
                      0, 0, audio="wav", source=tmp_path / "knock.yaml"))  # fmt: skip
    tone_file(tmp_path / "music.wav", 220.0, 0.5)
    with pytest.raises(Exception, match=r"audio\.voice\[0\]\.file: no file 'voice\.mp3'"):
        run(RenderJob(load_scene(tmp_path / "knock.yaml"), tmp_path / "k.jsonl", "states",
                      0, 0, audio="wav", source=tmp_path / "knock.yaml"))  # fmt: skip
    assert not list(tmp_path.glob("k.*")), "nothing half-written"


STEMS_SCENE = """
seed: 5
world: {size: [6, 3]}
timing: {duration: 2}
audio:
  loudness: null  # no normalisation and peaks under the ceiling: the limiter stays idle
  impacts_db: -20
  music: {file: music.wav, gain_db: -12}
  voice: [{file: voice.flac, start: 0.5}]
bodies:
  - {kind: floor, name: floor, y: 0.5}
  - {kind: box, name: crate, size: [0.4, 0.3], position: [1, 0.9], velocity: [3, 0],
     material: stone}
"""


def float_wav(path: Path) -> np.ndarray:
    """A stem read by scipy's own WAV reader (not ours): float32 samples, as written."""
    rate, data = wavfile.read(path)
    assert rate == RATE and data.dtype == np.float32, (path, rate, data.dtype)
    return np.asarray(data, dtype=np.float64)


def test_float_wav_keeps_levels_over_full_scale(tmp_path: Path) -> None:
    block = np.array([[4.0, -3.5], [0.25, 1e-9], [-1.0, 1.0]], dtype=np.float32)
    with FloatWavWriter(tmp_path / "x.wav") as out:
        out.write(block)
        out.write(block[:1] * 2)
    back = float_wav(tmp_path / "x.wav")
    assert np.array_equal(back, np.concatenate([block, block[:1] * 2]))  # nothing clipped


@pytest.mark.slow  # two renders with two decoded files and six stems (about 4 s)
def test_stems_sum_to_the_master_before_the_limiter(tmp_path: Path) -> None:
    tone_file(tmp_path / "music.wav", 220.0, 0.7)
    tone_file(tmp_path / "voice.flac", 660.0, 0.5)
    (tmp_path / "s.yaml").write_text(STEMS_SCENE)
    scene = load_scene(tmp_path / "s.yaml")
    masters, sums = {}, {}
    for marked in (False, True):
        out = tmp_path / ("m" if marked else "s")
        out.mkdir()
        run(RenderJob(scene, out / "s.jsonl", "states", 0, 0, audio="stems",
                      source=tmp_path / "s.yaml", watermark=marked))  # fmt: skip
        masters[marked] = read_wav(out / "s.wav")  # mono
        stems = {n: float_wav(out / f"s.{n}.wav").mean(axis=1) for n in STEMS}
        assert not stems["footsteps"].any(), "no walker: a silent footsteps stem"
        for name in ("impacts", "scrapes", "music", "voice"):
            assert np.abs(stems[name]).max() > 1e-3, name
        assert 1e-5 < np.abs(stems["ambient"]).max() < 1e-2, "the room tone, far under"
        sums[marked] = sum(stems.values())
    master = masters[False]
    residual = master - sums[False]
    assert 20 * math.log10(np.abs(residual).max() / np.abs(master).max()) < -90
    # the sound mark is in the master only: the stems do not change, and with it on,
    # master minus the stems' sum is the mark alone (far under the programme)
    assert np.array_equal(sums[True], sums[False])
    mark = masters[True] - masters[False]
    assert np.abs(masters[True] - sums[True] - mark).max() < 10 ** (-90 / 20)
    under = 20 * math.log10(np.sqrt(np.mean(mark**2)) / np.sqrt(np.mean(master**2)))
    assert -40 < under < -20, under


WALK = """
seed: 3
world: {size: [8, 4.5], origin: [-1, -0.5]}
timing: {duration: 3, fps: 60, substeps: 4}
bodies:
  - {kind: floor, name: ground, y: 0}
  - {kind: walker, name: walker, position: [0, 0], speed: 1.0}
"""


@pytest.mark.slow  # a walker simulated for 3 s (about 4 s)
def test_footfalls_limited_hard_still_meet_the_target_and_the_ceiling() -> None:
    # Sparse footfalls need 30 dB of gain, most of it taken by the limiter; the high-pass
    # after it once put back a slow swing 2.6 dB over the ceiling, and lowering the
    # ceiling for it left walker_on_hill at -17.2 LUFS (this clip at -16.4).
    audio, levels = track(WALK)
    assert levels.gain_db > 25, levels  # the case: heavy limiting
    loudness = pyloudnorm.Meter(RATE).integrated_loudness(audio)
    assert abs(loudness + 16) < 0.15, loudness
    oversampled = signal.resample_poly(audio, 4, 1, axis=0)  # true peak, BS.1770 style
    assert 20 * math.log10(np.abs(oversampled).max()) <= -1.0


PILE = """
seed: 42
world: {size: [6, 4], walls: true}
timing: {duration: 1.5, fps: 60, substeps: 4}
bodies:
  - kind: ball
    name: ball
    position: [0.5, 1.2]
    radius: 0.1
    material: plastic
    grid: {columns: 20, rows: 8, spacing: [0.26, 0.22], jitter: 0.03}
"""


def line_prominence(audio: np.ndarray) -> tuple[float, float]:
    """(dB, Hz) of the spectral line standing highest over the median of the spectrum
    a third of an octave either side (long-term Welch spectrum, 500 Hz to 12 kHz)."""
    freqs, power = signal.welch(audio.mean(axis=1), RATE, nperseg=2048)
    level = 10 * np.log10(power + 1e-30)
    return max(
        (level[i] - np.median(level[(freqs > f / 2 ** (1 / 3)) & (freqs < f * 2 ** (1 / 3))]), f)
        for i, f in enumerate(freqs)
        if 500 < f < 12000
    )


@pytest.mark.slow  # 160 balls simulated for 1.5 s (about 5 s)
def test_a_pile_of_alike_balls_is_a_texture_not_a_tone() -> None:
    # 160 identical plastic balls: with one pitch each (±4 %) they sang a steady line at
    # 1.9 kHz 16 dB over its neighbourhood; each hit in a clatter now rings a little
    # differently (held and damped by its neighbours). The 1000-ball pile measures 4.5 dB.
    audio, _levels = track(PILE)
    prominence, hz = line_prominence(audio)
    assert prominence < 8.5, (prominence, hz)  # 1.5 s of a pile: the estimate varies ±1.5 dB
