"""Perceptual fingerprints: real images resized, recompressed, cropped and recoloured with
Pillow, real sounds re-encoded by ffmpeg; unrelated ones stay apart."""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageEnhance

from physics_scenes.rights.fingerprint import (
    FingerprintError,
    image_distance,
    image_matches,
    image_print,
    sound_distance,
    sound_matches,
    sound_print,
    value_distance,
)


def picture(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """Random ellipses and bars on a random ground: varied, and different per seed."""
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", size, tuple(int(v) for v in rng.integers(0, 256, 3)))
    draw = ImageDraw.Draw(image)
    w, h = size
    for _ in range(14):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        box = [x, y, x + int(rng.integers(10, w // 3)), y + int(rng.integers(10, h // 3))]
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=colour)
    return image


def melody(seed: int, seconds: float = 4.0, rate: int = 44_100) -> np.ndarray:
    """Notes of random pitch every 0.25 s with a little noise: a sound with a shape."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    notes = rng.integers(48, 84, int(seconds * 4) + 1)
    freq = 440.0 * 2 ** ((notes[(t * 4).astype(int)] - 69) / 12)
    phase = 2 * np.pi * np.cumsum(freq) / rate
    envelope = np.exp(-((t * 4) % 1.0) * 3)
    signal = 0.4 * envelope * (np.sin(phase) + 0.3 * np.sin(2 * phase))
    return signal + 0.01 * rng.standard_normal(len(t))


def write_wav(path: Path, signal: np.ndarray, rate: int = 44_100) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(signal, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def encode(source: Path, target: Path, *args: str) -> Path:
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error"]
    subprocess.run([*command, "-i", str(source), *args, "-y", str(target)], check=True)
    return target


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("img") / "mark.png"
    picture(1).save(path)
    return path


def test_copies_of_an_image_match(original: Path, tmp_path: Path) -> None:
    blocked = image_print(original)
    image = Image.open(original).convert("RGB")
    hsv = np.array(image.convert("HSV"))
    hsv[..., 0] += 64  # a hue turn of 90 degrees: the colour-insensitive print finds it
    copies = {
        "half.png": image.resize((160, 120), Image.Resampling.BILINEAR),
        "larger.png": image.resize((480, 360), Image.Resampling.BICUBIC),
        "q30.jpg": image,
        "cropped.png": image.crop((0, 0, 290, 218)),  # about 10 % off two sides
        "brighter.png": ImageEnhance.Brightness(image).enhance(1.3),
        "hue.png": Image.fromarray(hsv, "HSV").convert("RGB"),
    }
    for name, copy in copies.items():
        path = tmp_path / name
        copy.save(path, quality=30) if name.endswith(".jpg") else copy.save(path)
        found = image_print(path)
        assert found.sha256 != blocked.sha256
        assert image_matches(blocked, found), (name, image_distance(blocked, found))
    assert max(value_distance(blocked, image_print(tmp_path / "hue.png"))) <= 2


def test_unrelated_images_do_not_match(original: Path, tmp_path: Path) -> None:
    blocked = image_print(original)
    for seed in range(2, 8):
        path = tmp_path / f"other{seed}.png"
        picture(seed).save(path)
        assert not image_matches(blocked, image_print(path)), seed


def test_bad_images_are_named(original: Path, tmp_path: Path) -> None:
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    truncated = tmp_path / "cut.jpg"
    Image.open(original).convert("RGB").save(truncated, quality=90)
    truncated.write_bytes(truncated.read_bytes()[:600])
    with pytest.raises(FingerprintError, match="not an image"):
        image_print(text)
    with pytest.raises(FingerprintError, match="truncated"):
        image_print(truncated)
    with pytest.raises(FingerprintError, match="no such file"):
        image_print(tmp_path / "gone.png")


@pytest.mark.slow  # five fingerprints and two encodes: about 3 s
def test_sound_survives_aac_mp3_and_gain(tmp_path: Path) -> None:
    source = write_wav(tmp_path / "theme.wav", melody(1))
    blocked = sound_print(source)
    assert blocked.seconds == pytest.approx(4.0, abs=0.01)
    copies = [
        encode(source, tmp_path / "theme.m4a", "-c:a", "aac", "-b:a", "96k"),
        encode(source, tmp_path / "theme.mp3", "-b:a", "128k"),
        write_wav(tmp_path / "louder.wav", melody(1) * 2.0),  # +6 dB
        write_wav(tmp_path / "softer.wav", melody(1) * 0.5),  # -6 dB
    ]
    for copy in copies:
        found = sound_print(copy)
        assert found.sha256 != blocked.sha256
        assert sound_matches(blocked, found), (copy.name, sound_distance(blocked, found))
    other = sound_print(write_wav(tmp_path / "other.wav", melody(2)))
    assert sound_distance(blocked, other) > 0.3
    assert not sound_matches(blocked, other)


@pytest.mark.slow  # the audio stack's import and four ffmpeg runs: about 1 s
def test_sound_survives_aac(tmp_path: Path) -> None:
    """The quick check: one re-encoded copy matches, another melody does not."""
    source = write_wav(tmp_path / "theme.wav", melody(1, seconds=3.0))
    blocked = sound_print(source)
    copy = sound_print(encode(source, tmp_path / "theme.m4a", "-c:a", "aac", "-b:a", "96k"))
    other = sound_print(write_wav(tmp_path / "other.wav", melody(2, seconds=3.0)))
    assert sound_distance(blocked, copy) < 0.05
    assert sound_distance(blocked, other) > 0.3


def test_not_a_sound(tmp_path: Path) -> None:
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF....WAVEjunk")
    with pytest.raises(FingerprintError, match=r"junk\.wav"):
        sound_print(junk)
