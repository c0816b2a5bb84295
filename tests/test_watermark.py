"""The in-signal marks: invisible strength, payload read back, keyed, after attacks.

Fast tests work on synthetic pictures and sounds; the rendered-clip tests (real renders,
real encodes, real attacks through ffmpeg) are marked slow.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import imageio.v3 as iio
import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from physics_scenes.job.pipeline import RenderJob, run
from physics_scenes.output.provenance.media import frames_of, sound_of
from physics_scenes.output.provenance.payload import MarkKey, content_id, payload_bits
from physics_scenes.output.provenance.picture import PictureMark, detect_picture
from physics_scenes.output.provenance.sound import PERIOD, detect_sound, mark_track
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


def test_the_sound_mark_sits_27_to_37_db_under_ringing_impacts_and_is_read_back() -> None:
    track = impacts(6, 0)
    marked = mark_track(track, MarkKey(), payload_bits("0123456789ab"))
    loud = np.abs(track[:, 0]) > 0.05
    under = 20 * np.log10(np.std((marked - track)[loud, 0]) / np.std(track[loud, 0]))
    assert -37 < under < -27  # tones: 27 dB under, and 31 under their own 1.5-6 kHz part
    assert detect_sound(marked, MarkKey()).payload == "0123456789ab"
    assert detect_sound(marked, MarkKey(SECRET)).payload is None
    assert detect_sound(track, MarkKey()).payload is None
    trimmed = marked[PERIOD // 3 : PERIOD // 3 + 2 * PERIOD]  # any 4 s
    assert detect_sound(trimmed, MarkKey()).payload == "0123456789ab"


def test_the_sound_mark_comes_closer_under_noise_than_under_a_tone() -> None:
    """Noise masks noise far better than a ringing mode does: 23 dB under a noise-like
    programme (24 for white noise), 31 under a tone in the mark's band; a 2 s cut of the
    noisy one is read."""
    rng = np.random.default_rng(3)
    noise = np.repeat(rng.normal(0, 0.1, (PERIOD * 2, 1)), 2, axis=1)
    t = np.arange(PERIOD * 2)[:, None] / 48_000
    tone = np.repeat(0.1 * np.sqrt(2) * np.sin(2 * np.pi * 2_500 * t), 2, axis=1)
    levels = {}
    for name, track in (("noise", noise), ("tone", tone)):
        marked = mark_track(track, MarkKey(), payload_bits("0123456789ab"))
        levels[name] = 20 * np.log10(np.std(marked - track) / np.std(track))
    assert -24.5 < levels["noise"] < -23  # flat noise reads as a little tonal in 7.8 ms
    assert -32 < levels["tone"] < -30.5  # a 2.5 kHz tone: 31 dB under (its band's cap)
    cut = mark_track(noise, MarkKey(), payload_bits("0123456789ab"))[31_111 : 31_111 + PERIOD]
    assert detect_sound(cut, MarkKey()).payload == "0123456789ab"


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
    suffix = {"mp4": ".mp4", "gif": ".gif", "png": ""}[fmt]
    job = RenderJob(scene, folder / f"{name}{suffix}", fmt, 256, 144, states=False,
                    source=SCENES / "bouncing_balls.yaml", **options)  # type: ignore[arg-type]  # fmt: skip
    run(job)
    return folder / f"{name}{suffix}"


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
