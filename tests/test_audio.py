"""Sound from the physics, measured: sync, silence, pitch, loudness, determinism, muxing."""

from __future__ import annotations

import itertools
import json
import math
import re
import subprocess
import sys
import wave
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

from physics_scenes import Event, Frame, Layout, load_scene, parse_scene, simulate
from physics_scenes.audio import (
    RATE,
    AudioInputError,
    Score,
    integrated_loudness,
    read_wav,
    render_track,
    write_track,
)
from physics_scenes.audio.dsp import BLOCK, TruePeakMeter, true_peak, write_wav
from physics_scenes.audio.mix import MAX_LIMITING_DB, Voice, allocate, master, mix_windows
from physics_scenes.audio.sounds import footsteps, impact_level
from physics_scenes.audio.synth import ImpactSynth
from physics_scenes.audio.timbre import PRESET_TIMBRES
from physics_scenes.cli import main
from physics_scenes.frame import BodyInfo, PolyGeom
from physics_scenes.job.pipeline import RenderJob, run

from helpers import ROOT, SCENES, ebur128

SILENCE_RMS = 1e-4
"""-80 dBFS: what 'silent' means below (the track itself is normalised to -16 LUFS)."""


def scene_track(text: str, base_dir: Path = Path("."), **options):
    """Simulate a scene given as YAML and make its track without any video."""
    scene = parse_scene(text)
    layout, frames = simulate(scene)
    score = Score(layout)
    stream = list(frames)
    for frame in stream:
        score.add(frame)
    materials = {n: (m.density, m.elasticity) for n, m in scene.materials.items()}
    audio, levels = render_track(
        score, scene.audio, scene.seed, scene.timing.frame_count / scene.timing.fps,
        base_dir=base_dir, materials=materials, **options,
    )  # fmt: skip
    return audio, levels, stream, score


def onsets(audio: np.ndarray, threshold_db: float = -50.0, gap: float = 0.05) -> list[int]:
    """Samples where the sound rises above threshold (re. the peak) after `gap` s of quiet."""
    level = np.abs(audio).max(axis=1)
    loud = np.flatnonzero(level > level.max() * 10 ** (threshold_db / 20))
    if loud.size == 0:
        return []
    starts = [int(loud[0])]
    for prev, cur in itertools.pairwise(loud.tolist()):
        if cur - prev > gap * RATE:
            starts.append(int(cur))
    return starts


BOUNCE = """
seed: 4
world: {size: [4, 6]}
timing: {duration: 8, fps: 60, substeps: 8}
materials:
  bouncy: {density: 600, friction: 0.5, elasticity: 0.85}
audio:  # no room tone: onsets are found against silence
  materials: {bouncy: {like: wood}}
  room_tone: null
bodies:
  - {kind: floor, name: floor, y: 0.5}
  - {kind: ball, name: ball, radius: 0.2, position: [2, 5], material: bouncy}
"""


def test_onsets_match_the_event_log_within_one_millisecond() -> None:
    audio, _levels, frames, _ = scene_track(BOUNCE)
    hits = [e.time for f in frames for e in f.events if e.kind == "begin"]
    assert len(hits) >= 5, "the ball should bounce at least 5 times"
    found = onsets(audio)
    assert len(found) == len(hits), (found, hits)
    errors = [abs(s / RATE - t) for s, t in zip(found, hits, strict=True)]
    assert max(errors) <= 0.001, errors
    # and the event's own sample is exactly round(t * 48000) (or the one after: sin(0) = 0)
    for s, t in zip(found, hits, strict=True):
        assert 0 <= s - round(t * RATE) <= 1


def test_sounds_follow_the_video_clock_when_time_is_remapped() -> None:
    # twice as slow: the video is 16 s, each event lands at 2t
    scene = parse_scene(BOUNCE)
    layout, frames = simulate(scene)
    score = Score(layout)
    events = []
    for frame in frames:
        score.add(frame)
        events += [e.time for e in frame.events if e.kind == "begin"]
    audio, _ = render_track(score, scene.audio, 4, 16.0, time_map=lambda t: 2 * t)
    assert len(audio) == 16 * RATE
    found = onsets(audio)
    assert len(found) == len(events)
    assert all(0 <= s - round(2 * t * RATE) <= 1 for s, t in zip(found, events, strict=True))


def test_no_sound_when_nothing_collides() -> None:
    audio, levels, frames, _ = scene_track("""
world: {gravity: [0, 0]}
timing: {duration: 2}
bodies:
  - {kind: ball, name: a, radius: 0.3, position: [2, 4], velocity: [1, 0]}
  - {kind: ball, name: b, radius: 0.3, position: [8, 4], velocity: [0, 1]}
""")
    assert not any(f.events for f in frames)
    assert audio.shape == (2 * RATE, 2) and not audio.any()
    assert levels.loudness == -math.inf and onsets(audio) == []


def test_a_settled_pile_is_silent() -> None:
    audio, levels, frames, _ = scene_track("""
seed: 2
world: {size: [4, 3], walls: true}
timing: {duration: 6, fps: 60, substeps: 4}
audio: {room_tone: null}
bodies:
  - kind: ball
    name: ball
    radius: 0.1
    position: [0.6, 1.2]
    material: plastic
    grid: {columns: 12, rows: 6, spacing: [0.24, 0.22], jitter: 0.03}
""")
    assert abs(levels.loudness + 16) < 0.5, "the clatter is normalised to -16 LUFS"
    dynamic = np.isfinite(
        Score(simulate(parse_scene("bodies: [{kind: floor}]"))[0]).layout.masses()
    )
    assert dynamic.size  # (layout helper sanity)
    speeds = [np.abs(f.velocity).max() for f in frames]
    settled = next(i for i, s in enumerate(speeds) if all(v < 0.05 for v in speeds[i:]))
    assert settled < len(frames) - 60, "the pile must settle at least a second before the end"
    quiet = audio[round((settled / 60 + 0.5) * RATE) :]
    rms = math.sqrt(float(np.mean(quiet**2)))
    assert rms < SILENCE_RMS, rms
    loud = audio[: round(settled / 60 * RATE)]
    assert math.sqrt(float(np.mean(loud**2))) > 100 * SILENCE_RMS


def fundamental(audio: np.ndarray) -> float:
    """The lowest strong spectral peak (≥ 30 % of the highest) of a mono mix."""
    mono = audio.mean(axis=1)
    start = onsets(audio)[0]
    piece = mono[start : start + RATE // 2] * np.hanning(RATE // 2)
    spectrum = np.abs(np.fft.rfft(piece, 8 * RATE))
    freqs = np.fft.rfftfreq(8 * RATE, 1 / RATE)
    spectrum[freqs < 60] = 0
    strong = np.flatnonzero(spectrum > 0.3 * spectrum.max())
    # walk to the top of the first strong peak
    i = int(strong[0])
    while spectrum[i + 1] > spectrum[i]:
        i += 1
    return float(freqs[i])


@pytest.mark.parametrize("material", ["metal", "wood", "glass"])
def test_a_smaller_ball_of_the_same_material_sounds_higher(material: str) -> None:
    text = """
timing: {{duration: 1.5}}
audio: {{bodies: {{floor: {{gain_db: -60}}}}, room_tone: null}}
bodies:
  - {{kind: floor, name: floor, y: 0.5}}
  - {{kind: ball, name: ball, radius: {r}, position: [4, 2], material: {m}}}
"""
    big = fundamental(scene_track(text.format(r=0.3, m=material))[0])
    small = fundamental(scene_track(text.format(r=0.15, m=material))[0])
    assert small > big * 1.9 and small < big * 2.1, (big, small)  # f ∝ 1/size


def decay_time(wave_: np.ndarray, drop_db: float = 40.0) -> float:
    envelope = np.abs(wave_)
    peak = envelope.max()
    above = np.flatnonzero(envelope > peak * 10 ** (-drop_db / 20))
    return float(above[-1]) / RATE


def centroid(wave_: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(wave_))
    freqs = np.fft.rfftfreq(len(wave_), 1 / RATE)
    return float((spectrum * freqs).sum() / spectrum.sum())


def flatness(wave_: np.ndarray) -> float:
    """Spectral flatness (0 = pure tones, 1 = white noise) over 100 Hz-10 kHz."""
    power = np.abs(np.fft.rfft(wave_ * np.hanning(len(wave_)))) ** 2 + 1e-30
    freqs = np.fft.rfftfreq(len(wave_), 1 / RATE)
    band = power[(freqs > 100) & (freqs < 10_000)]
    return float(np.exp(np.mean(np.log(band))) / np.mean(band))


def test_wood_knocks_metal_rings_rubber_thuds() -> None:
    """Same 0.3 m body struck once: metal rings for seconds, wood knocks short and
    mid-pitched, rubber thuds low and shortest-lived."""
    synth = ImpactSynth(1)
    measured = {}
    for name in ("metal", "wood", "rubber"):
        timbre = PRESET_TIMBRES[name]
        f0 = timbre.f_ref * 0.1 / 0.3
        wave_, _ = synth.impact(timbre, f0, np.random.default_rng(0))
        measured[name] = (decay_time(wave_), centroid(wave_), flatness(wave_[: RATE // 10]))
    (metal_t, metal_c, metal_f), (wood_t, wood_c, wood_f), (rubber_t, rubber_c, _) = (
        measured.values()
    )
    assert metal_t > 1.0 and wood_t < 0.2 and rubber_t < 0.1, measured
    assert rubber_c < 0.5 * min(wood_c, metal_c), measured
    assert metal_f < 0.5 * wood_f, f"metal is tonal, wood is noisy: {measured}"


def test_the_voice_budget_drops_the_quietest() -> None:
    voices = [Voice(0, RATE, gain=1 + i, pan=0, ring=1.0, order=i) for i in range(100)]
    voices.append(Voice(0, RATE, gain=0.5, pan=0, ring=1.0, order=100))  # quietest of all
    kept = allocate(voices, 64)
    gains = sorted(v.gain for v, n in kept if n > 1000)
    assert len(gains) == 64 and gains == [float(g) for g in range(37, 101)]
    # later, a loud voice displaces the voice that has decayed most
    late = [*voices[:64], Voice(RATE // 2, RATE, gain=50, pan=0, ring=1.0, order=200)]
    kept = dict((v.order, n) for v, n in allocate(late, 64))
    assert 200 in kept and kept[0] <= RATE // 2 + 300


def test_loudness_meter_and_true_peak_match_the_standard() -> None:
    t = np.arange(5 * RATE) / RATE
    sine = np.zeros((len(t), 2))
    sine[:, 0] = np.sin(2 * np.pi * 997 * t)  # BS.1770: 0 dBFS 997 Hz in one channel = -3.01
    assert abs(integrated_loudness(sine) + 3.01) < 0.01
    quarter = np.sin(2 * np.pi * (RATE / 4) * t + np.pi / 4)  # samples at ±0.707, peak 1.0
    assert 20 * math.log10(np.abs(quarter).max()) < -2.9
    assert abs(true_peak(np.stack([quarter, quarter], axis=1))) < 0.2


def layout_with_walker() -> Layout:
    foot = PolyGeom(((-0.1, -0.03), (0.1, -0.03), (0.1, 0.03), (-0.1, 0.03)))
    ground = PolyGeom(((-50, -5), (50, -5), (50, 0), (-50, 0)))
    return Layout(
        bodies=(
            BodyInfo("floor", "floor", "static", "wood", (0, 0, 0), (ground,), math.inf,
                     math.inf, (0.0, 0.0)),
            BodyInfo("bob/foot_left", "box", "dynamic", "rubber", (0, 0, 0), (foot,), 35.0, 0.01,
                     (0.0, 0.0)),
            BodyInfo("bob/foot_right", "box", "dynamic", "rubber", (0, 0, 0), (foot,), 35.0, 0.01,
                     (0.0, 0.0)),
        ),
        region_origin=(0.0, 0.0), region_size=(16.0, 9.0), background=(0, 0, 0),
        gravity=(0.0, -9.81),
    )  # fmt: skip


def test_footsteps_sound_at_foot_events() -> None:
    layout = layout_with_walker()
    score = Score(layout)
    zeros = np.zeros((3, 2))
    steps = [0.5, 1.1, 1.7, 2.3]
    for index in range(4 * 60):
        t = index / 60
        events = tuple(
            Event(s, round(s * 240), "foot", f"bob/foot_{'left' if k % 2 else 'right'}",  # type: ignore[arg-type]
                  "floor", impulse=3.0, point=(4.0 + k, 0.0), normal=(0.0, 1.0))
            for k, s in enumerate(steps) if t - 1 / 60 < s <= t
        )  # fmt: skip
        score.add(Frame(index, t, zeros.copy(), np.zeros(3), zeros.copy(), np.zeros(3), events))
    spec = parse_scene("bodies: [{kind: floor}]\naudio: {room_tone: null}").audio
    audio, levels = render_track(score, spec, 1, 4.0)
    found = onsets(audio)
    assert [round(s / RATE, 3) for s in found] == steps
    assert abs(levels.loudness + 16) < 0.5
    # (each step draws its own noise: one step's centroid varies by ±150 Hz, four agree)
    bright = np.mean([centroid(audio[s : s + RATE // 5].mean(axis=1)) for s in found])
    assert bright < 1500, "a footstep is a low thump, not a click"
    # panned with the walker: the last step (x = 7) is further right than the first (x = 4)
    first, last = (audio[s : s + RATE // 10] for s in (found[0], found[-1]))
    balance = [float(np.sum(p[:, 1] ** 2) / np.sum(p[:, 0] ** 2)) for p in (first, last)]
    assert balance[1] > balance[0]


def test_sliding_makes_scraping_noise_that_follows_the_speed() -> None:
    audio, _levels, frames, score = scene_track("""
world: {size: [16, 4]}
timing: {duration: 3}
audio: {room_tone: null}
bodies:
  - {kind: floor, name: floor, y: 0.5}
  - {kind: box, name: crate, size: [0.6, 0.4], position: [1, 0.7], velocity: [6, 0],
     material: stone}
""")
    speed = np.array([abs(f.velocity[1][0]) for f in frames])
    stop = int(np.argmax(speed < 0.01)) / 60
    assert 0.3 < stop < 2.5, stop
    assert ("ground", "stone") in score.layers
    window = RATE // 10
    rms = [
        math.sqrt(float(np.mean(audio[i : i + window] ** 2))) for i in range(0, len(audio), window)
    ]
    sliding = rms[int(0.15 * 10) : int(stop * 10) - 1]
    assert min(sliding) > 10 * SILENCE_RMS
    assert sliding[0] > sliding[-1], "quieter as it slows down"
    after = audio[round((stop + 0.3) * RATE) :]
    assert math.sqrt(float(np.mean(after**2))) < SILENCE_RMS


def sine_wav(path: Path, hz: float, seconds: float = 0.5) -> Path:
    t = np.arange(int(seconds * 44100)) / 44100
    data = (np.sin(2 * np.pi * hz * t) * np.exp(-t * 8) * 20000).astype("<i2")
    with wave.open(str(path), "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(44100)
        file.writeframes(data.tobytes())
    return path


def test_a_material_can_play_its_own_sample_pitched_by_size(tmp_path: Path) -> None:
    sine_wav(tmp_path / "ding.wav", 440.0)
    text = """
timing: {{duration: 1.5}}
audio:
  bodies: {{floor: {{gain_db: -60}}}}
  materials: {{glass: {{sample: ding.wav, sample_size: 0.4}}}}
bodies:
  - {{kind: floor, name: floor, y: 0.5}}
  - {{kind: ball, name: ball, radius: {r}, position: [4, 2], material: glass}}
"""
    at_size = fundamental(scene_track(text.format(r=0.2), base_dir=tmp_path)[0])
    half = fundamental(scene_track(text.format(r=0.1), base_dir=tmp_path)[0])
    assert abs(at_size - 440) < 5 and abs(half - 880) < 10, (at_size, half)


def test_ambient_bed_synthesized_or_looped_from_a_wav(tmp_path: Path) -> None:
    base = "world: {gravity: [0, 0]}\ntiming: {duration: 2}\nbodies: [{kind: ball, radius: 1}]\n"
    room, levels, _, _ = scene_track(base + "audio: {ambient: {level_db: -40}}\n")
    assert abs(levels.loudness + 16) < 0.5 and room.std() > 0.01
    assert not np.array_equal(room[:, 0], room[:, 1]), "room tone is decorrelated stereo"
    sine_wav(tmp_path / "hum.wav", 100.0, 0.3)
    text = base + "audio: {ambient: {file: hum.wav}, room_tone: null}\n"
    looped = scene_track(text, base_dir=tmp_path)[0][:, 0]
    period = round(0.3 * RATE)  # (after the fade-in and the high-pass settle)
    assert np.allclose(looped[2 * period : 3 * period], looped[3 * period : 4 * period], atol=1e-6)


@pytest.mark.slow  # 4 s; .ci/run runs it
def test_streamed_track_is_the_in_memory_track_byte_for_byte(tmp_path: Path) -> None:
    # impacts, scraping and a room tone, 13 s: more than one mixing window (10.9 s)
    text = (SCENES / "ramp_tumble.yaml").read_text() + "\naudio: {ambient: {level_db: -45}}\n"
    scene = parse_scene(text)
    layout, frames = simulate(scene.model_copy(update={"timing": scene.timing.model_copy(
        update={"duration": 13.0})}))  # fmt: skip
    score = Score(layout)
    for frame in frames:
        score.add(frame)
    assert score.layers, "the scene should scrape or roll somewhere"
    in_memory, levels = render_track(score, scene.audio, scene.seed, 13.0)
    write_wav(tmp_path / "memory.wav", in_memory)
    streamed = write_track(tmp_path / "streamed.wav", score, scene.audio, scene.seed, 13.0)
    assert streamed == levels
    assert (tmp_path / "streamed.wav").read_bytes() == (tmp_path / "memory.wav").read_bytes()
    # the spilled mix had no name and is gone
    assert sorted(p.name for p in tmp_path.iterdir()) == ["memory.wav", "streamed.wav"]


def test_a_bad_ambient_file_is_reported_before_the_wav_is_written(tmp_path: Path) -> None:
    scene = parse_scene("timing: {duration: 0.5}\naudio: {ambient: {file: missing.wav}}\n"
                        "bodies: [{kind: ball, radius: 1}]\n")  # fmt: skip
    layout, _frames = simulate(scene)
    with pytest.raises(AudioInputError, match=r"missing\.wav: no such file"):
        write_track(tmp_path / "x.wav", Score(layout), scene.audio, 1, 0.0, base_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_track_shorter_than_a_loudness_block_is_not_pushed_to_absurd_gains() -> None:
    # 21 ms of noise at -20 dBFS cannot measure -16 LUFS in a 400 ms block, whatever the gain
    noise = np.random.default_rng(1).standard_normal((1000, 2)).astype(np.float32) * 0.1
    levels = master(noise, -16.0, -1.0)
    assert levels.gain_db < 20 + MAX_LIMITING_DB + 1, levels  # was 278 dB
    assert levels.true_peak <= -1.0 and np.abs(noise).max() < 1.0


def test_the_mix_is_the_same_whatever_the_window() -> None:
    rng = np.random.default_rng(3)
    pieces = [(int(s), rng.standard_normal(n), rng.standard_normal(n))
              for s, n in zip(np.sort(rng.integers(0, 9000, 40)), rng.integers(1, 3000, 40),
                              strict=True)]  # fmt: skip
    noise = [(int(s), rng.standard_normal(500), rng.standard_normal(500)) for s in (100, 4000)]
    sources = lambda: [(0, iter(pieces)), (100, iter(noise))]  # noqa: E731
    whole = np.concatenate(list(mix_windows(sources(), 10_000, window=10_000)))
    assert whole.shape == (10_000, 2) and np.abs(whole).max() > 1
    for window in (1, 7, 999, 4096):
        assert np.concatenate(list(mix_windows(sources(), 10_000, window))).tobytes() == (
            whole.tobytes()
        )
    # and each piece is where it belongs: the sum of plain adds, source by source
    expected = np.zeros((10_000, 2), dtype=np.float32)
    for start, left, right in pieces + noise:
        n = min(len(left), 10_000 - start)
        expected[start : start + n, 0] += left[:n]
        expected[start : start + n, 1] += right[:n]
    assert np.array_equal(expected, whole)


def test_true_peak_meter_fed_blocks_equals_the_whole_track() -> None:
    rng = np.random.default_rng(5)
    audio = rng.standard_normal((3 * BLOCK + 123, 2)).astype(np.float32) * 0.1
    audio[BLOCK - 2 : BLOCK + 2] = 0.9  # a peak straddling two blocks
    meter = TruePeakMeter()
    for start in range(0, len(audio), BLOCK):
        meter.add(audio[start : start + BLOCK])
    assert meter.value() == true_peak(audio)


def probe(path: Path) -> str:
    exe = imageio_ffmpeg.get_ffmpeg_exe()
    return subprocess.run([exe, "-hide_banner", "-i", str(path)], capture_output=True,
                          text=True).stderr  # fmt: skip


def decoded_audio_seconds(path: Path) -> float:
    exe = imageio_ffmpeg.get_ffmpeg_exe()
    raw = subprocess.run(
        [exe, "-v", "error", "-i", str(path), "-map", "0:a", "-f", "f32le", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    return len(raw) / 4 / 2 / RATE


SMALL = (SCENES / "bouncing_balls.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("fps, seconds", [(60, 2.0), (24, 1.5), (25, 1.32)])
def test_mp4_has_picture_and_sound_of_the_same_length(tmp_path: Path, fps, seconds) -> None:
    scene = load_scene(SCENES / "bouncing_balls.yaml")
    scene = scene.model_copy(update={"timing": scene.timing.model_copy(
        update={"fps": fps, "duration": seconds})})  # fmt: skip
    target = tmp_path / "clip.mp4"
    run(RenderJob(scene, target, "mp4", 160, 90, "draft", states=False))
    info = probe(target)
    assert re.search(r"Video: h264", info) and re.search(r"Audio: aac.*48000 Hz, stereo", info)
    video_seconds = scene.timing.frame_count / fps
    assert abs(decoded_audio_seconds(target) - video_seconds) <= 1 / fps


def test_audio_options_wav_and_none(tmp_path: Path) -> None:
    scene = load_scene(SCENES / "bouncing_balls.yaml")
    run(RenderJob(scene, tmp_path / "a.mp4", "mp4", 160, 90, "draft", audio="wav"))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "a.metadata.json", "a.mp4", "a.states.jsonl", "a.wav"]  # fmt: skip
    wav = read_wav(tmp_path / "a.wav")
    assert len(wav) == 6 * RATE
    with wave.open(str(tmp_path / "a.wav")) as file:
        assert (file.getnchannels(), file.getframerate(), file.getsampwidth()) == (2, RATE, 3)
    run(RenderJob(scene, tmp_path / "b.mp4", "mp4", 160, 90, "draft", audio="none"))
    assert "Audio:" not in probe(tmp_path / "b.mp4") and not (tmp_path / "b.wav").exists()
    # the sound in the MP4 is the WAV, AAC-encoded: same loudness within a fraction of a dB
    exe = imageio_ffmpeg.get_ffmpeg_exe()
    raw = subprocess.run([exe, "-v", "error", "-i", str(tmp_path / "a.mp4"), "-map", "0:a",
                          "-f", "f32le", "-"], capture_output=True, check=True).stdout  # fmt: skip
    aac = np.frombuffer(raw, dtype="<f4").reshape(-1, 2).astype(np.float64)
    original = np.stack([wav, wav], axis=1)  # (mono read-back; loudness compares levels)
    assert abs(integrated_loudness(aac) - integrated_loudness(original)) < 4.0
    assert abs(integrated_loudness(aac) + 16) < 0.5


def test_audio_is_bit_identical_across_runs_and_processes(tmp_path: Path) -> None:
    path = SCENES / "dominoes.yaml"
    run(RenderJob(load_scene(path), tmp_path / "one" / "d.jsonl", "states", 0, 0, audio="wav",
                  source=path))  # fmt: skip
    subprocess.run(  # unsigned: a signature's salt differs every run (signing: test_provenance)
        [sys.executable, "-m", "physics_scenes.cli", "render", str(path), "-o",
         str(tmp_path / "two" / "d.jsonl"), "--audio", "wav", "-q", "--no-sign"],
        check=True, cwd=ROOT,
    )  # fmt: skip
    one, two = (tmp_path / d / "d.wav" for d in ("one", "two"))
    assert one.read_bytes() == two.read_bytes()
    assert len(read_wav(one)) == 7 * RATE


def test_the_cli_switches_sound_off_and_reports_a_missing_sample(write_scene, tmp_path, capsys):
    scene = write_scene(SMALL.replace("seed: 1", "seed: 1\ntiming: {duration: 0.5}").replace(
        "timing: {duration: 6, fps: 60, substeps: 4}\n", ""))  # fmt: skip
    assert main(["render", str(scene), "-o", str(tmp_path / "n.mp4"), "--size", "64x36",
                 "--no-audio", "-q"]) == 0  # fmt: skip
    assert "Audio:" not in probe(tmp_path / "n.mp4")
    bad = write_scene(
        "audio: {materials: {rubber: {sample: nope.wav}}}\ntiming: {duration: 0.5}\n"
        "bodies: [{kind: floor}, {kind: ball, radius: 0.3, position: [2, 1], material: rubber}]\n",
        "bad.yaml",
    )
    assert main(["render", str(bad), "-o", str(tmp_path / "out" / "x.mp4"), "-q"]) == 1
    err = capsys.readouterr().err
    # found when the scene is loaded, located, before anything is rendered
    assert "bad.yaml:1:38: audio.materials.rubber.sample: no file 'nope.wav'" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.slow
def test_thousand_balls_meet_the_loudness_target_without_clipping(tmp_path: Path) -> None:
    path = SCENES / "ball_pile.yaml"
    run(RenderJob(load_scene(path), tmp_path / "p.jsonl", "states", 0, 0, audio="wav",
                  source=path))  # fmt: skip
    with wave.open(str(tmp_path / "p.wav")) as file:
        raw = np.frombuffer(file.readframes(file.getnframes()), dtype=np.uint8).reshape(-1, 3)
    padded = np.zeros((len(raw), 4), dtype=np.uint8)
    padded[:, 1:] = raw
    audio = (padded.view("<i4").reshape(-1, 2) / 2.0**31).astype(np.float64)
    assert len(audio) == 8 * RATE
    assert np.abs(audio).max() < 10 ** (-1 / 20), "no sample reaches -1 dBFS"
    assert true_peak(audio) <= -1.0 + 0.01
    assert abs(integrated_loudness(audio) + 16) < 0.5


def test_write_wav_round_trips(tmp_path: Path) -> None:
    t = np.arange(RATE // 10) / RATE
    audio = np.stack([0.5 * np.sin(2 * np.pi * 300 * t), -0.25 * np.ones_like(t)], axis=1)
    write_wav(tmp_path / "x.wav", audio)
    back = read_wav(tmp_path / "x.wav")
    assert np.allclose(back, audio.mean(axis=1), atol=2e-7)


def test_xylophone_bars_play_a_c_major_scale(tmp_path: Path) -> None:
    path = SCENES / "xylophone.yaml"
    scene = load_scene(path)
    layout, frames = simulate(scene)
    first: dict[str, float] = {}
    strikes: dict[str, list[float]] = {}
    masses = layout.masses()
    for frame in frames:
        for event in frame.events:
            if event.kind == "begin" and event.a.startswith("bar_"):
                first.setdefault(event.a, event.time)
                a, b = (layout.names.index(n) for n in (event.a, event.b))
                level = impact_level(event.impulse, masses[a], masses[b], scene.audio.min_speed)
                strikes.setdefault(event.a, []).append(level)
    assert list(first) == [f"bar_{n}" for n in ("c5", "d5", "e5", "f5", "g5", "a5", "b5", "c6")]
    for bar, levels in strikes.items():  # each bar struck once: re-strikes 30 dB down or gone
        assert all(later < levels[0] * 10 ** (-30 / 20) for later in levels[1:]), (bar, levels)
    run(RenderJob(scene, tmp_path / "x.jsonl", "states", 0, 0, audio="wav", source=path))
    audio = read_wav(tmp_path / "x.wav")
    measured = []
    for t in first.values():
        start = round(t * RATE)
        piece = audio[start : start + RATE // 5] * np.hanning(RATE // 5)
        spectrum = np.abs(np.fft.rfft(piece, 8 * RATE))
        freqs = np.fft.rfftfreq(8 * RATE, 1 / RATE)
        spectrum[freqs < 200] = 0
        measured.append(float(freqs[np.argmax(spectrum)]))
    semitones = 12 * np.log2(np.array(measured) / measured[0])
    assert np.allclose(semitones, [0, 2, 4, 5, 7, 9, 11, 12], atol=0.2), measured
    assert abs(measured[0] - 523.25) < 1.5, "the longest bar is C5"


def test_custom_materials_sound_like_the_preset_they_name_or_resemble() -> None:
    from physics_scenes.audio.sounds import custom_timbre

    assert custom_timbre("domino_wood", {"domino_wood": (700, 0.1)}).name == "wood"
    assert custom_timbre("steel", {"steel": (7900, 0.5)}).name == "metal"
    assert custom_timbre("bouncy", {"bouncy": (1100, 0.8)}).name == "rubber"


def test_the_aac_track_in_the_mp4_is_in_sync_too(tmp_path: Path) -> None:
    scene = parse_scene(BOUNCE)
    _layout, frames = simulate(scene)
    hits = [e.time for f in frames for e in f.events if e.kind == "begin"]
    run(
        RenderJob(scene, tmp_path / "b.mp4", "mp4", 160, 90, "draft", states=False, watermark=False)
    )
    exe = imageio_ffmpeg.get_ffmpeg_exe()
    raw = subprocess.run([exe, "-v", "error", "-i", str(tmp_path / "b.mp4"), "-map", "0:a",
                          "-f", "f32le", "-"], capture_output=True, check=True).stdout  # fmt: skip
    aac = np.frombuffer(raw, dtype="<f4").reshape(-1, 2).astype(np.float64)
    assert len(aac) == 8 * RATE, "the edit list trims the encoder's priming and padding"
    found = onsets(aac, threshold_db=-40)
    assert len(found) == len(hits)
    assert max(abs(s / RATE - t) for s, t in zip(found, hits, strict=True)) <= 0.001
    assert true_peak(aac) <= -1.0 and abs(integrated_loudness(aac) + 16) < 0.3
    loudness, peak = ebur128(tmp_path / "b.mp4")  # ffmpeg's own meter agrees
    assert peak <= -1.0 and abs(loudness + 16) < 0.5, (loudness, peak)
    meta = json.loads((tmp_path / "b.metadata.json").read_text())["audio"]
    assert abs(meta["aac_true_peak_dbtp"] - true_peak(aac)) < 0.1, meta


def test_footstep_loudness_follows_the_walkers_momentum_change() -> None:
    from physics_scenes.audio.sounds import composite_masses, footstep_level

    assert composite_masses(layout_with_walker()) == {"bob": 70.0}
    assert footstep_level(0.6, 70.0) == 0.0, "a foot settling on the ground is silent"
    soft, firm = footstep_level(4.0, 70.0), footstep_level(12.0, 70.0)
    assert 0 < soft < firm and abs(20 * math.log10(firm / soft) - 20 * math.log10(3)) < 1e-9


def foot_score(steps: list[tuple[float, str, float]], seconds: float) -> Score:
    """A Score of foot events (time, foot, impulse) on layout_with_walker's floor, which
    comes before the feet in the Layout (the order that once swapped foot and ground)."""
    score = Score(layout_with_walker())
    zeros = np.zeros((3, 2))
    for index in range(round(seconds * 60)):
        t = index / 60
        events = tuple(
            Event(s, round(s * 240), "foot", f"bob/foot_{foot}", "floor", impulse=impulse,
                  point=(8.0, 0.0), normal=(0.0, -1.0))
            for s, foot, impulse in steps if t - 1 / 60 < s <= t
        )  # fmt: skip
        score.add(Frame(index, t, zeros.copy(), np.zeros(3), zeros.copy(), np.zeros(3), events))
    return score


def test_footstep_level_follows_the_impulse_over_20_db_settling_silent_recontacts_merged():
    # the walker weighs 70 kg: impulses 1.75 … 17.5 N·s are changes of 0.025 … 0.25 m/s
    impulses = [1.75, 5.534, 17.5]
    steps = [(0.5 + 0.6 * k, "left" if k % 2 else "right", i) for k, i in enumerate(impulses)]
    steps += [(0.02, "left", 0.6), (0.04, "right", 0.3)]  # settling: under 1.5 cm/s
    steps += [(0.5 + 0.6 * 2 + 0.08, "right", 3.0)]  # a re-contact 80 ms after a step
    spec = parse_scene(
        "bodies: [{kind: floor}]\naudio: {loudness: null, footsteps_db: -20, room_tone: null}"
    ).audio
    audio, _levels = render_track(foot_score(steps, 2.5), spec, 1, 2.5)
    found = onsets(audio, threshold_db=-60, gap=0.2)
    assert [round(s / RATE, 3) for s in found] == [0.5, 1.1, 1.7], "settling silent, one flam"
    energy = [float(np.sum(audio[s : s + RATE // 2] ** 2)) for s in found]
    db = [10 * math.log10(e / energy[0]) for e in energy]
    assert abs(db[1] - 10) < 1.5 and abs(db[2] - 20) < 1.5, db


def test_every_footstep_and_impact_voice_ends_at_zero() -> None:
    synth = ImpactSynth(3)
    rng = np.random.default_rng(0)
    for name, timbre in PRESET_TIMBRES.items():
        for mass, speed in ((3.0, 0.02), (70.0, 0.05), (140.0, 0.3)):
            wave_ = synth.footstep(timbre, timbre.f_ref * 0.06, 950.0, mass, speed, rng)
            assert wave_[0] == 0.0 and wave_[-1] == 0.0, (name, mass)
            tail = np.abs(wave_[-RATE // 1000 :]).max() / np.abs(wave_).max()
            assert tail < 0.01, (name, mass, tail)  # no step at the end: it fades out
        impact, _ring = synth.impact(timbre, 500.0, rng)
        assert impact[-1] == 0.0, name


@pytest.mark.slow  # a whole clip (6 s); the remapped clock stays in the default run
def test_a_rendered_slow_motion_clip_plays_its_sounds_on_the_video_clock(tmp_path: Path) -> None:
    """Through the whole pipeline: a 0.5x segment in the scene's `time:` stretches the sound."""
    text = BOUNCE + "time:\n  segments:\n    - {start: 1.0, end: 3.0, rate: 0.5}\n"
    scene = parse_scene(text)
    out = tmp_path / "slow.mp4"
    run(RenderJob(scene, out, "mp4", 320, 180, audio="wav"))
    audio = read_wav(out.with_suffix(".wav"))[:, None]  # mono, as onsets() wants columns
    _layout, frames = simulate(parse_scene(BOUNCE))
    hits = [e.time for f in frames for e in f.events if e.kind == "begin"]

    def video(t: float) -> float:  # 1 s at 1x, 2 s of simulation over 4 s, then 1x again
        return t if t < 1 else 1 + 2 * (t - 1) if t < 3 else t + 2

    assert len(audio) == round((8.0 + 2.0) * RATE)  # the video is 2 s longer
    found = onsets(audio)
    assert len(found) == len(hits)
    errors = [abs(s / RATE - video(t)) for s, t in zip(found, hits, strict=True)]
    assert max(errors) <= 0.001, errors


@pytest.mark.slow  # a whole walker clip (6 s); footstep levels stay in the default run
def test_walker_footsteps_are_heard_at_its_foot_events(tmp_path: Path) -> None:
    scene = load_scene(SCENES / "walker_hit_by_ball.yaml")
    out = tmp_path / "walk.mp4"
    run(RenderJob(scene, out, "mp4", 320, 180, audio="wav"))
    audio = read_wav(out.with_suffix(".wav"))[:, None]  # mono, as onsets() wants columns
    layout, frames = simulate(scene)
    score = Score(layout)
    for frame in frames:
        score.add(frame)
    touches = [h.time for h in score.hits if h.kind == "foot" and h.time < 2.0]
    steps = [s.hit.time for s in footsteps(score.hits, layout) if s.hit.time < 2.0]
    assert len(steps) >= 2 and min(touches) < 0.05 < min(steps)
    level = np.abs(audio).max(axis=1)
    heard = []
    for t in steps:  # something sounds within 5 ms of each footstep
        window = level[round(t * RATE) : round((t + 0.005) * RATE)]
        assert window.max() > 1e-2, t
        heard.append(window.max())
    # the feet settling at the start make no step (only the soles' brief slide is heard)
    assert level[: int(0.05 * RATE)].max() < 0.25 * max(heard)


def test_composite_parts_sound_like_what_they_are_made_of() -> None:
    """The builders' own materials are real sounds: the cradle's steel balls ring for
    seconds, a walker's soles are shoes, its limbs a body (not the default wood's planks),
    whegs' feet rubber; a scene may still call a material of its own 'steel'."""
    from physics_scenes.audio.sounds import body_sounds

    def sounds(text: str) -> dict[str, tuple[str, float, float]]:
        scene = parse_scene(text)
        layout, _frames = simulate(scene)
        materials = {n: (m.density, m.elasticity) for n, m in scene.materials.items()}
        resolved = body_sounds(layout, scene.audio, Path("."), materials)
        return {b.name: (s.timbre.name, s.f0, max(s.timbre.decays))
                for b, s in zip(layout.bodies, resolved, strict=True)}  # fmt: skip

    found = sounds(
        "bodies:\n  - {kind: floor}\n"
        "  - {kind: newtons_cradle, name: c, position: [0, 1.3], balls: 2, radius: 0.12}\n"
        "  - {kind: walker, name: w, position: [3, 0]}\n"
        "  - {kind: whegs, name: x, position: [-3, 0]}\n"
    )
    ball = found["c/ball_0"]
    assert ball[0] == "steel" and 500 < ball[1] < 3000 and ball[2] > 1.5, ball
    assert found["w/foot_left"][0] == "sole" and found["w/torso"][0] == "flesh"
    assert found["w/shin_left"][0] == "flesh"
    assert {v[0] for k, v in found.items() if k.startswith("x/")} >= {"grip"}
    wave_, _ = ImpactSynth(1).impact(PRESET_TIMBRES["metal"], ball[1], np.random.default_rng(0))
    assert decay_time(wave_) > 1.0, "a steel ball rings for seconds"
    own = sounds(
        "materials: {steel: {density: 1000, elasticity: 0.1}}\n"
        "bodies: [{kind: ball, name: b, position: [0, 1], radius: 0.1, material: steel}]\n"
    )
    assert own["b"][0] != "steel", "a scene's own material named steel resolves as before"


def test_a_crowd_of_alike_balls_varies_a_little_and_small_parts_differ_in_pitch() -> None:
    from physics_scenes.audio.sounds import body_sounds
    from physics_scenes.audio.timbre import MAX_HZ, Shape, fundamental

    scene = parse_scene(
        "bodies:\n  - {kind: floor}\n"
        "  - {kind: ball, name: b, radius: 0.1, position: [1, 1], material: plastic,\n"
        "     grid: {columns: 8, rows: 5, spacing: [0.25, 0.25]}}\n"
        "  - {kind: ball, name: odd, radius: 0.3, position: [6, 1], material: plastic}\n"
    )
    layout, _frames = simulate(scene)
    plain = body_sounds(layout, scene.audio, Path("."))
    varied = body_sounds(layout, scene.audio, Path("."), seed=5)
    assert varied == body_sounds(layout, scene.audio, Path("."), seed=5), "seeded, repeatable"
    balls = [row for row, b in enumerate(layout.bodies) if b.name.startswith("b")]
    base = plain[balls[0]].f0
    pitches = sorted({varied[r].f0 / base for r in balls})
    decays = {varied[r].timbre.decays[0] for r in balls}
    assert len(pitches) >= 8 and len(decays) >= 8, "a texture, not one note"
    assert pitches[0] > 0.95 and pitches[-1] < 1.05 and pitches[-1] / pitches[0] > 1.04
    odd = next(row for row, b in enumerate(layout.bodies) if b.name == "odd")
    assert varied[odd] == plain[odd], "a body unlike the others keeps its exact pitch"
    small = [fundamental(PRESET_TIMBRES["plastic"], Shape(s, False)) for s in (0.02, 0.03, 0.05)]
    assert small[0] > small[1] > small[2] and small[0] <= MAX_HZ, small
