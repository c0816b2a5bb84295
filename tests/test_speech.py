"""Spoken lines (``say``) and sound cues (``sound``): the speech engine, where the lines and
cues land in the decoded track and how loud, their captions, and the errors."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest

from physics_scenes import load_scene, parse_scene, simulate
from physics_scenes.audio import RATE, read_wav
from physics_scenes.audio.speech import speak
from physics_scenes.cli import main
from physics_scenes.errors import SceneError
from physics_scenes.job.clip import Clip
from physics_scenes.job.pipeline import RenderJob, run
from physics_scenes.scene.speech import Speaker, voice_for
from tests.test_sound_delivery import band_level, tone_file

needs_engine = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="no espeak-ng")

LINES = """
seed: 4
world: {size: [4, 3], gravity: [0, 0]}
timing: {duration: 3.0}
audio: {loudness: null, room_tone: null, min_speed: 10}  # the knock itself silent
bodies:
  - {kind: ball, name: ball, radius: 0.1, position: [0.5, 1.5], velocity: [1, 0]}
  - {kind: box, name: wall, size: [0.2, 2], position: [3.0, 1.5], body_type: static}
script:
  - {name: ding, when: {contact: [ball, wall]}, sound: {hit: metal, gain_db: -3}}
  - {name: hello, at: 0.3, say: {who: ball, text: "Here I go.", gain_db: 0}}
  - {name: quiet, at: 1.5, say: {text: "Done.", gain_db: -10, file: line.flac}}
"""


def first_sound(audio: np.ndarray, after: float, threshold_db: float = -50.0) -> float:
    """Seconds of the first sample after ``after`` s louder than ``threshold_db``."""
    start = round(after * RATE)
    loud = np.flatnonzero(np.abs(audio[start:]) > 10 ** (threshold_db / 20))
    return (start + int(loud[0])) / RATE


@needs_engine
def test_the_engine_is_deterministic_and_speaks_in_the_voice_asked() -> None:
    man = Speaker(None, "en-us+m3", 165, 50)
    text = "The ball hits the first domino."
    one, two = speak(man, text), speak(man, text)
    assert one.tobytes() == two.tobytes()  # same text, voice, rate, pitch: same samples
    assert 1.2 < len(one) / RATE < 3.5  # six words at 165 words a minute
    woman = speak(Speaker(None, "en-us+f3", 165, 50), text)
    faster = speak(Speaker(None, "en-us+m3", 330, 50), text)
    assert len(faster) < 0.7 * len(one)

    def pitch(wave: np.ndarray) -> float:  # the voiced fundamental, by autocorrelation
        piece = wave[: RATE // 2]
        spectrum = np.fft.rfft(piece, 2 * len(piece))
        corr = np.fft.irfft(np.abs(spectrum) ** 2)[: len(piece)]
        lo, hi = RATE // 400, RATE // 70
        return RATE / (lo + int(np.argmax(corr[lo:hi])))

    assert pitch(woman) > 1.3 * pitch(one), (pitch(woman), pitch(one))


@needs_engine
def test_lines_and_cues_start_at_their_actions_at_their_levels_captioned(tmp_path) -> None:
    tone_file(tmp_path / "line.flac", 440.0, 0.6)  # a "recorded" line
    (tmp_path / "lines.yaml").write_text(LINES)
    scene = load_scene(tmp_path / "lines.yaml")
    fired = {e.a: e.time for f in simulate(scene)[1] for e in f.events if e.kind == "action"}
    assert 2.2 < fired["ding"] < 2.4 and fired["hello"] == 0.3 and fired["quiet"] == 1.5
    run(RenderJob(scene, tmp_path / "l.jsonl", "states", 0, 0, audio="wav",
                  source=tmp_path / "lines.yaml"))  # fmt: skip
    audio = read_wav(tmp_path / "l.wav")  # (mono: both channels are alike)
    stereo = audio[:, None].repeat(2, axis=1)
    assert np.abs(audio[: round(0.29 * RATE)]).max() < 1e-3  # nothing before the first line
    line = scene.script[1].say
    assert line is not None
    spoken = speak(voice_for(line), "Here I go.")  # the ball's voice
    lead = first_sound(spoken, 0.0)  # the engine's own silence before the first sound
    assert abs(first_sound(audio, 0.0) - (0.3 + lead)) < 0.003
    # the line at the physics' silent reference loudness, -23 LUFS (gain 0)
    meter = pyloudnorm.Meter(RATE)
    said = stereo[round(0.3 * RATE) : round(0.3 * RATE) + len(spoken)]
    assert abs(meter.integrated_loudness(said) + 23) < 1.0
    # the metal hit on the first touch, peaking at -3 dBFS
    onset = first_sound(audio, fired["ding"] - 0.05, -30)
    assert abs(onset - fired["ding"]) < 0.003, (onset, fired["ding"])
    peak = 20 * math.log10(np.abs(audio[round(onset * RATE) :][: RATE // 5]).max())
    assert abs(peak + 3) < 0.5, peak
    # the recorded line (a 440 Hz tone): from 1.5 s, 10 LU under -23
    assert band_level(stereo, 440, 1.2, 1.48) < band_level(stereo, 440, 1.6, 2.0) - 40
    quiet = stereo[round(1.5 * RATE) : round(2.1 * RATE)]
    assert abs(meter.integrated_loudness(quiet) + 33) < 1.0
    # captions: the speaker named, shown as long as the line is spoken (+0.3 s)
    clip = Clip(scene, 64, 48, tmp_path)
    table = clip.caption_table
    assert table["hello"].text == "ball: Here I go."
    assert table["hello"].duration == pytest.approx(len(spoken) / RATE + 0.3, abs=1e-3)
    assert table["quiet"].text == "Done." and table["quiet"].duration == pytest.approx(0.9)


def test_without_the_engine_a_line_is_a_clear_error_not_a_traceback(
    tmp_path, monkeypatch, capsys
) -> None:
    (tmp_path / "s.yaml").write_text(LINES.replace("file: line.flac", "voice: en-gb"))
    monkeypatch.setenv("PATH", str(tmp_path))  # no espeak-ng (nor anything else) here
    code = main(["render", str(tmp_path / "s.yaml"), "-o", str(tmp_path / "s.mp4")])
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err
    assert "script[1].say:" in err and "apt-get install espeak-ng" in err, err
    assert list(tmp_path.iterdir()) == [tmp_path / "s.yaml"]  # nothing written


def test_bad_lines_and_cues_are_located_errors() -> None:
    base = "bodies: [{kind: ball, name: ball, radius: 0.1}]\nscript:\n"
    cases = {
        "  - {at: 0, say: {who: bal, text: hi}}": ("script[0].say.who", "did you mean 'ball'"),
        "  - {at: 0, sound: {gain_db: -3}}": ("script[0].sound", "exactly one of file, hit"),
        "  - {at: 0, sound: {hit: wood, file: a.wav}}": ("script[0].sound", "exactly one"),
        "  - {at: 0, say: {text: hi, voice: 'en us'}}": ("script[0].say.voice", "espeak-ng voice"),
        "  - {at: 0, say: ''}": ("script[0].say", "at least 1 character"),
    }
    for line, (where, what) in cases.items():
        with pytest.raises(SceneError) as caught:
            parse_scene(base + line)
        text = str(caught.value)
        assert where in text and what in text, (line, text)


def test_a_line_may_be_written_as_its_text() -> None:
    scene = parse_scene("bodies: [{kind: floor}]\nscript: [{at: 0, say: Hello there.}]\n")
    say = scene.script[0].say
    assert say is not None and say.text == "Hello there." and say.who is None


@pytest.fixture(autouse=True)
def _repo_root(monkeypatch) -> None:
    monkeypatch.chdir(Path(__file__).parent.parent)


@needs_engine
def test_the_music_ducks_under_a_spoken_line() -> None:
    from physics_scenes.audio.beds import Beds, bed_windows
    from physics_scenes.output.sound import ScriptSounds
    from physics_scenes.scene.audio import AudioSpec, MusicSpec

    mono = speak(Speaker(None, "en-us", 165, 50), "Watch the first domino fall.")
    line = np.repeat(mono.astype(np.float32)[:, None], 2, axis=1)
    sounds = ScriptSounds({"said": (line, 0.0)}, {})
    t = np.arange(4 * RATE) / RATE
    music = np.repeat((0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)[:, None], 2, 1)
    beds = sounds.placed(Beds(music), [("said", 1.0)], lambda s: s)  # said at 1 s
    spec = AudioSpec(music=MusicSpec(file="m.wav", gain_db=-10, fade_out=0))
    action = np.zeros((4 * RATE, 2), np.float32)  # no physics sound: only the line
    parts = list(bed_windows(action, spec, beds, RATE // 2))
    bed = np.concatenate([p.music for p in parts])
    voice = np.concatenate([p.voice for p in parts])
    start = round(1.0 * RATE)
    assert not voice[:start].any() and np.abs(voice[start : start + RATE]).max() > 0.01
    before = band_level(bed, 220, 0.3, 0.9)
    under = band_level(bed, 220, 1.4, 1.9)  # (the line lasts about 1.6 s)
    assert before - under > 6, (before, under)  # dips 8 dB (the default) under the voice
    assert abs(band_level(bed, 220, 3.4, 3.9) - before) < 1.5  # and comes back after


def test_line_and_cue_files_are_checked_at_validate_like_every_named_file(tmp_path) -> None:
    """A recorded line or a cue file that is missing, absolute or outside the scene's
    folder is a located error when the scene is loaded, not a surprise halfway through
    a render (validate used to say ok)."""
    text = (
        "bodies: [{kind: ball, name: ball, radius: 0.1}]\nscript:\n"
        "  - {at: 0, sound: {file: missing.wav}}\n"
        "  - {at: 0, say: {file: /etc/passwd, text: hi}}\n"
        "  - {at: 0, say: {file: ../x.wav, text: hi}}\n"
    )
    (tmp_path / "s.yaml").write_text(text)
    with pytest.raises(SceneError) as caught:
        load_scene(tmp_path / "s.yaml")
    found = [(i.line, i.column, i.path) for i in caught.value.issues]
    assert found == [(3, 27, "script[0].sound.file"), (4, 25, "script[1].say.file"),
                     (5, 25, "script[2].say.file")], found  # fmt: skip
    assert "no file 'missing.wav'" in str(caught.value) and "absolute path" in str(caught.value)


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs the espeak-ng engine")
def test_a_voice_the_engine_lacks_is_located_at_its_line(tmp_path, capsys) -> None:
    """validate cannot know espeak-ng's voices; the render's refusal still says where."""
    text = "bodies: [{kind: ball, name: ball, radius: 0.1}]\nscript:\n"
    (tmp_path / "s.yaml").write_text(text + "  - {at: 0, say: {text: hi, voice: xx}}\n")
    code = main(["render", str(tmp_path / "s.yaml"), "-o", str(tmp_path / "s.mp4")])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert f"{tmp_path / 's.yaml'}:3:18: script[0].say: espeak-ng could not speak" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]  # nothing written
