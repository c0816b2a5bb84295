"""The in-signal marks: invisible strength, payload read back, keyed, after attacks.

Fast tests work on synthetic pictures and sounds; the rendered-clip tests (real renders,
real encodes, real attacks through ffmpeg) are marked slow.
"""

from __future__ import annotations

import json
import subprocess
import wave
from pathlib import Path

import imageio.v3 as iio
import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from physics_scenes.audio.dsp import WavWriter
from physics_scenes.job.pipeline import RenderJob, run
from physics_scenes.output.provenance import masking
from physics_scenes.output.provenance.marks import Marks, _samples
from physics_scenes.output.provenance.media import frames_of, sound_of
from physics_scenes.output.provenance.payload import MarkKey, content_id, payload_bits
from physics_scenes.output.provenance.picture import PictureMark, detect_picture
from physics_scenes.output.provenance.sound import (
    BAND,
    FLOOR_BAND,
    PERIOD,
    detect_sound,
    mark_track,
)
from physics_scenes.picture.view import Pixels
from physics_scenes.scene.loader import load_scene
from physics_scenes.scene.model import Timing

from helpers import SCENES

SECRET = b"a key only its holder has 0123456789"


def natural_picture(seed: int, height: int = 288, width: int = 384) -> np.ndarray:
    """Smooth random shapes and a gradient: a stand-in for a rendered scene."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    picture = np.zeros((height, width, 3)) + rng.uniform(20, 200, 3)
    picture += (x / width * 40)[..., None]
    for _ in range(12):
        cy, cx, r = rng.uniform(0, height), rng.uniform(0, width), rng.uniform(10, 60)
        picture[(y - cy) ** 2 + (x - cx) ** 2 < r * r] = rng.uniform(0, 255, 3)
    return np.clip(picture, 0, 255).astype(np.uint8)


def test_the_picture_mark_changes_no_pixel_by_more_than_one_level() -> None:
    picture = natural_picture(1)
    marked = PictureMark(MarkKey(), payload_bits("0123456789ab")).apply_rgb(picture)
    change = marked.astype(int) - picture
    assert np.abs(change).max() == 1
    assert np.all(change[..., 0] == change[..., 1])  # the same in R, G and B
    psnr = 10 * np.log10(255**2 / np.mean(change.astype(float) ** 2))
    assert psnr > 47


def test_the_uint8_mark_equals_the_widened_sum_clipped_on_any_shape() -> None:
    mark = PictureMark(MarkKey(), payload_bits("0123456789ab"))
    rng = np.random.default_rng(19)
    for height, width, channels in ((256, 256, 4), (100, 72, 3), (136, 200, 4), (64, 300, 3)):
        picture = rng.integers(0, 256, (height, width, channels), dtype=np.uint8)
        picture[: height // 3] = 255  # saturated both ways: where the clipping matters
        picture[height // 3 : height // 2] = 0
        plane = np.tile(mark.tile, (-(-height // 128), -(-width // 128)))[:height, :width]
        want = np.clip(picture.astype(np.int16) + plane[..., None], 0, 255).astype(np.uint8)
        for _ in range(2):  # the second time from the cached bounds
            assert np.array_equal(mark.apply_rgb(picture), want), (height, width, channels)
        if channels == 4:
            pixels = mark.apply(Pixels(width, height, picture.tobytes(), "bgr0"))
            assert pixels.data == want.tobytes()
        in_place, reversed_view = picture.copy(), picture.copy()
        mark.apply_in_place(in_place)
        mark.apply_in_place(reversed_view[:, :, ::-1])  # any channel order: the same step
        assert np.array_equal(in_place, want) and np.array_equal(reversed_view, want)
    assert np.array_equal(mark.apply_rgb(picture[:, :, ::2]), want[:, :, ::2])  # a strided view


def test_the_payload_is_read_from_a_crop_at_any_offset_and_not_from_unmarked_pictures() -> None:
    mark = PictureMark(MarkKey(), payload_bits("00ff00ff00ff"))
    frames = [mark.apply_rgb(natural_picture(seed)) for seed in range(4)]
    cropped = [frame[37:251, 53:330] for frame in frames]
    assert detect_picture(cropped, MarkKey()).payload == "00ff00ff00ff"
    plain = detect_picture([natural_picture(seed) for seed in range(4)], MarkKey())
    assert plain.payload is None and plain.z < 7


def test_a_keyed_mark_is_read_only_with_its_key() -> None:
    mark = PictureMark(MarkKey(SECRET), payload_bits("0123456789ab"))
    frames = [mark.apply_rgb(natural_picture(seed)) for seed in range(3)]
    assert detect_picture(frames, MarkKey(SECRET)).payload == "0123456789ab"
    assert detect_picture(frames, MarkKey()).payload is None


def impacts(seconds: float, seed: int) -> np.ndarray:
    """Decaying ringing tones at random moments with silence between: like our tracks."""
    rng = np.random.default_rng(seed)
    n = int(seconds * 48_000)
    out = np.zeros(n)
    t = np.arange(24_000) / 48_000
    for start in rng.integers(0, n - 24_000, int(seconds * 2)):
        hz = rng.uniform(200, 3000)
        out[start : start + 24_000] += 0.3 * np.sin(2 * np.pi * hz * t) * np.exp(-t * 12)
    return np.repeat(out[:, None], 2, axis=1)


def test_the_sound_mark_sits_about_29_db_under_ringing_impacts_and_is_read_back() -> None:
    track = impacts(6, 0)
    marked = mark_track(track, MarkKey(), payload_bits("0123456789ab"))
    loud = np.abs(track[:, 0]) > 0.05
    under = 20 * np.log10(np.std((marked - track)[loud, 0]) / np.std(track[loud, 0]))
    assert -31 < under < -27  # ringing tones mask little (Johnston: 14.5 + z dB under)
    assert detect_sound(marked, MarkKey()).payload == "0123456789ab"
    assert detect_sound(marked, MarkKey(SECRET)).payload is None
    assert detect_sound(track, MarkKey()).payload is None
    trimmed = marked[PERIOD // 3 : PERIOD // 3 + 2 * PERIOD]  # any 4 s
    assert detect_sound(trimmed, MarkKey()).payload == "0123456789ab"


def test_the_sound_mark_comes_closer_under_noise_than_under_a_tone() -> None:
    """Noise masks noise far better than a tone does: about 9 dB under white noise
    (5.5 dB in each band it fills), 26 under a 2.5 kHz tone (the floor: 20 dB under the
    tone, spread over 1.5-6 kHz; the masking alone gives 30); a 2 s cut is read."""
    rng = np.random.default_rng(3)
    noise = np.repeat(rng.normal(0, 0.1, (PERIOD * 2, 1)), 2, axis=1)
    t = np.arange(PERIOD * 2)[:, None] / 48_000
    tone = np.repeat(0.1 * np.sqrt(2) * np.sin(2 * np.pi * 2_500 * t), 2, axis=1)
    levels = {}
    for name, track in (("noise", noise), ("tone", tone)):
        marked = mark_track(track, MarkKey(), payload_bits("0123456789ab"))
        levels[name] = 20 * np.log10(np.std(marked - track) / np.std(track))
    assert -10 < levels["noise"] < -7.5
    assert -27.5 < levels["tone"] < -24
    cut = mark_track(noise, MarkKey(), payload_bits("0123456789ab"))[31_111 : 31_111 + PERIOD]
    assert detect_sound(cut, MarkKey()).payload == "0123456789ab"


def test_the_sound_mark_stays_under_the_masking_threshold_and_out_of_silence() -> None:
    """Per 10.7 ms frame and Bark band outside the floor's 1.5-6 kHz the mark is under
    the programme's threshold in most cells (measured on frames half a hop away from the
    ones it was shaped on, where the noise's own spread shows: 1 % of cells 5 dB over);
    it does not start before an impact; in silence it is under the threshold of hearing
    (full scale at 96 dB SPL)."""
    track = impacts(4, 2)
    track[PERIOD : PERIOD + 9_600] = 0  # 200 ms of digital silence, then an impact
    onset = PERIOD + 9_600
    track[onset : onset + 2_400, :] += 0.5 * np.sin(np.arange(2_400) * 0.4)[:, None]
    mark = mark_track(track, MarkKey(), payload_bits("0123456789ab")) - track
    shift = masking.HOP // 2
    for c in range(2):
        programme, added = track[shift:, c], mark[shift:, c].astype(np.float64)
        allowed = masking.threshold(programme)
        got = masking.band_sums(masking.variance(masking.stft(added)))
        hz = np.fft.rfftfreq(masking.FFT, 1 / 48_000)
        inside = masking.bands_of(masking.FFT)[
            ((hz >= BAND[0]) & (hz < FLOOR_BAND[0] - 400))  # clear of the floor's
            | ((hz > FLOOR_BAND[1] + 2_000) & (hz <= BAND[1]))  # bands and their neighbours
        ]
        nmr = 10 * np.log10(got[:, np.unique(inside)] / allowed[:, np.unique(inside)])
        assert np.median(nmr) < -1 and np.mean(nmr < 0) > 0.8 and np.percentile(nmr, 99) < 5

    def level(a: int, b: int) -> float:
        return float(20 * np.log10(np.std(mark[onset + a : onset + b, 0]) + 1e-30))

    assert level(-480, -240) < -75  # 10 to 5 ms before the impact: as in silence
    assert level(-240, 0) < level(0, 960) - 15  # the last 5 ms: pre-masked, 15 dB down
    silent = mark[PERIOD + 2_400 : onset - 2_400, 0]
    assert 20 * np.log10(np.std(silent) + 1e-30) < -75  # under hearing at 96 dB SPL


def test_the_floor_keeps_a_mark_where_the_masking_allows_almost_none() -> None:
    """A low ringing mode with a faint partial at 3 kHz: the model allows about 30 dB
    under the partial (an AAC encode drops most of that); the floor holds the mark in 1.5-6 kHz
    at the programme's own power there less FLOOR_BAND_UNDER_DB (20 dB), and a 2 s cut
    is read. A pure low tone has nothing in that band to hide a mark: it gets none."""
    t = np.arange(PERIOD * 2) / 48_000
    low = 0.1 * np.sin(2 * np.pi * 220 * t)
    partial = 0.01 * np.sin(2 * np.pi * 3_000 * t)
    track = np.repeat((low + partial)[:, None], 2, axis=1)
    mark = mark_track(track, MarkKey(), payload_bits("0123456789ab")) - track
    hz = np.fft.rfftfreq(len(t), 1 / 48_000)
    floor_band = (hz >= FLOOR_BAND[0]) & (hz <= FLOOR_BAND[1])

    def in_band(x: np.ndarray) -> float:
        return float(np.sum(np.abs(np.fft.rfft(x * np.hanning(len(x)))[floor_band]) ** 2))

    assert -22 < 10 * np.log10(in_band(mark[:, 0]) / in_band(track[:, 0])) < -18
    cut = (track + mark)[40_000 : 40_000 + PERIOD]
    assert detect_sound(cut, MarkKey()).payload == "0123456789ab"
    pure = np.repeat(low[:, None], 2, axis=1)
    none = mark_track(pure, MarkKey(), payload_bits("0123456789ab")) - pure
    assert 20 * np.log10(np.std(none) / np.std(pure)) < -55


def test_a_wav_marked_block_by_block_equals_the_whole_track_marked(tmp_path: Path) -> None:
    """``mark_wav`` marks 2 s at a time with the context the masking needs: same bytes."""
    path = tmp_path / "a.wav"
    with WavWriter(path, 2) as out:
        out.write(impacts(5, 1).astype(np.float32))
    with wave.open(str(path)) as w:
        track = _samples(w.readframes(w.getnframes()), 2)  # as 24-bit PCM holds it
    whole = mark_track(track, MarkKey(), payload_bits("0123456789ab"))
    marks = Marks(content_id="0123456789ab", key=MarkKey(), picture=None)  # type: ignore[arg-type]
    marks.mark_wav(path)
    with wave.open(str(path)) as w:
        blockwise = _samples(w.readframes(w.getnframes()), 2)
    with WavWriter(tmp_path / "b.wav", 2) as out:
        out.write(whole)
    with wave.open(str(tmp_path / "b.wav")) as w:
        at_once = _samples(w.readframes(w.getnframes()), 2)
    assert np.array_equal(blockwise, at_once)


def test_the_content_id_names_the_scene_seed_and_settings() -> None:
    assert content_id("ab" * 32, 0, "mp4") == content_id("ab" * 32, 0, "mp4")
    assert len({content_id("ab" * 32, 0, "mp4"), content_id("ab" * 32, 1, "mp4"),
                content_id("cd" * 32, 0, "mp4"), content_id("ab" * 32, 0, "gif")}) == 4  # fmt: skip


# --- rendered clips -------------------------------------------------------------------

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


def _render(
    folder: Path, name: str, fmt: str = "mp4", seconds: float = 4, **options: object
) -> Path:
    scene = load_scene(SCENES / "bouncing_balls.yaml")
    scene = scene.model_copy(update={"timing": Timing(duration=seconds, fps=30, substeps=4)})
    suffix = {"mp4": ".mp4", "gif": ".gif", "png": "", "frames": ".npz"}[fmt]
    job = RenderJob(scene, folder / f"{name}{suffix}", fmt, 256, 144, states=False,
                    source=SCENES / "bouncing_balls.yaml", **options)  # type: ignore[arg-type]  # fmt: skip
    run(job)
    return folder / f"{name}{suffix}"


def test_a_frames_array_marked_in_place_equals_the_marked_pictures_of_png_frames(
    tmp_path: Path,
) -> None:
    """A dataset's frames array is marked in the array (``FramesSink.mark``); PNG frames
    get the marked picture (``PictureMark.apply``): the same pixels, and marked."""
    frames = np.load(_render(tmp_path, "clip", "frames", seconds=0.2))["frames"]
    pngs = sorted(_render(tmp_path, "pictures", "png", seconds=0.2).glob("frame_*.png"))
    plain = np.load(_render(tmp_path, "plain", "frames", seconds=0.2, watermark=False))["frames"]
    assert frames.shape == (len(pngs), 144, 256, 3) == plain.shape
    for index, png in enumerate(pngs):
        assert np.array_equal(np.asarray(Image.open(png).convert("RGB")), frames[index])
    change = frames.astype(int) - plain
    assert np.abs(change).max() == 1 and np.mean(change != 0) > 0.5  # marked, by one level


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("marked")
    path = _render(folder, "clip")
    meta = json.loads((folder / "clip.metadata.json").read_text())
    return path, meta["watermark"]["content_id"]


def _attack(source: Path, target: Path, *args: str) -> Path:
    subprocess.run([FFMPEG, "-y", "-loglevel", "error", "-i", str(source), *args, str(target)],
                   check=True)  # fmt: skip
    return target


@pytest.mark.slow
def test_a_rendered_clip_carries_its_content_id_in_picture_and_sound(
    clip: tuple[Path, str],
) -> None:
    path, cid = clip
    assert detect_picture(frames_of(path), MarkKey()).payload == cid
    sound = sound_of(path)
    assert sound is not None
    assert detect_sound(sound, MarkKey()).payload == cid


ATTACKS = {
    "crf28": ("a.mp4", ["-c:v", "libx264", "-crf", "28", "-an"]),
    "half size": ("b.mp4", ["-vf", "scale=iw/2:ih/2", "-c:v", "libx264", "-crf", "18"]),
    "crop 20 %": ("c.mp4", ["-vf", "crop=iw*0.8:ih*0.8:23:11", "-c:v", "libx264", "-an"]),
    "gif": ("d.gif", ["-vf", "split[a][b];[a]palettegen[p];[b][p]paletteuse"]),
}


@pytest.mark.slow
@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_the_picture_mark_survives(attack: str, clip: tuple[Path, str], tmp_path: Path) -> None:
    path, cid = clip
    name, args = ATTACKS[attack]
    copy = _attack(path, tmp_path / name, *args)
    assert detect_picture(frames_of(copy), MarkKey()).payload == cid


@pytest.mark.slow
@pytest.mark.parametrize(
    "codec",
    [
        ["-c:a", "aac", "-b:a", "96k"],
        ["-c:a", "libmp3lame", "-b:a", "128k", "-ar", "44100"],
        ["-ss", "1.37", "-t", "2", "-c:a", "aac"],  # any 2 s
    ],
)
def test_the_sound_mark_survives(codec: list[str], clip: tuple[Path, str], tmp_path: Path) -> None:
    path, cid = clip
    copy = _attack(path, tmp_path / ("s.m4a" if "aac" in codec else "s.mp3"), "-vn", *codec)
    sound = sound_of(copy)
    assert sound is not None
    assert detect_sound(sound, MarkKey()).payload == cid


def marked_id(folder: Path) -> str:
    return json.loads((folder / "marked.metadata.json").read_text())["watermark"]["content_id"]


@pytest.mark.slow
def test_no_watermark_and_keyed_renders(tmp_path: Path) -> None:
    plain = _render(tmp_path, "plain", "png", 1, watermark=False)
    marked = _render(tmp_path, "marked", "png", 1)
    keyed = _render(tmp_path, "keyed", "png", 1, watermark_key=SECRET)
    a, b = iio.imread(plain / "frame_000010.png"), iio.imread(marked / "frame_000010.png")
    assert 0 < np.abs(a.astype(int) - b).max() <= 1
    assert detect_picture(frames_of(plain), MarkKey()).payload is None
    assert detect_picture(frames_of(keyed), MarkKey()).payload is None
    cid = json.loads((tmp_path / "keyed.metadata.json").read_text())["watermark"]["content_id"]
    assert detect_picture(frames_of(keyed), MarkKey(SECRET)).payload == cid
    assert "watermark" not in json.loads((tmp_path / "plain.metadata.json").read_text())
    with Image.open(marked / "frame_000010.png") as png:  # the PNG's text chunks
        assert png.text["Comment"].startswith("synthetic: rendered by physics_scenes")
        assert png.text["Comment"].endswith(f"content id {marked_id(tmp_path)}")


@pytest.mark.slow
def test_our_own_gif_keeps_the_mark(tmp_path: Path) -> None:
    """The GIF's ordered dithering is weak enough not to wipe out ±1 levels."""
    gif = _render(tmp_path, "g", "gif", 2)
    cid = json.loads((tmp_path / "g.metadata.json").read_text())["watermark"]["content_id"]
    assert detect_picture(frames_of(gif), MarkKey()).payload == cid
