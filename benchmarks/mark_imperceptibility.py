"""How visible and how audible the default marks are: figures and pictures to look at.

    nice -n 10 python benchmarks/mark_imperceptibility.py --out /tmp/marks

Picture: a flat scene and a busy one rendered at 1280x720 as PNG frames with and without
the mark (the same frames, so the difference is the mark alone); PSNR, the largest change
of a level and the share of changed values; crops at 1:1 and at 4x (unmarked | marked |
the difference x 32 around grey) written as PNGs to look at. Visibility: S-CIELAB
(Zhang & Wandell 1996): both pictures turned into opponent colour planes, each blurred by
the eye's spatial sensitivity at 45 pixels per degree (a 24" 1080p screen at 70 cm, 1:1),
then the CIELAB difference per pixel (ΔE; about 1 is a just noticeable difference between
large patches side by side, and the eye is most sensitive near the mark's 3 cycles per
degree, so the pixels' 99th percentile is what is quoted), over the whole frame and over
its flat part (no change of level within 9x9 px in the unmarked frame).

Sound: example scenes' unmarked master WAVs, marked as ``render`` marks them (block by
block, ``Marks.mark_wav``); the mark is the marked minus the master. Its level under a
masking threshold per 21 ms frame and critical band (Bark) in its 1.5-6 kHz band:
Schroeder's spreading function over the programme's band energies, less Johnston's offset
(14.5 + z dB where the frame is tonal, 5.5 dB where noise-like, by spectral flatness).
The margin is threshold minus mark, in dB (positive: under the threshold, masked),
over the frames whose programme is within 60 dB of the clip's loudest. The absolute
threshold of hearing is left out: it depends on the playback level. Spectrograms of the
programme and of the mark (the same dB scale) are written as PNGs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from physics_scenes.audio.dsp import WavWriter  # noqa: E402
from physics_scenes.job.pipeline import RenderJob, run  # noqa: E402
from physics_scenes.output.provenance.marks import Marks, _samples  # noqa: E402
from physics_scenes.output.provenance.payload import MarkKey  # noqa: E402
from physics_scenes.output.provenance.sound import BAND  # noqa: E402
from physics_scenes.scene.loader import load_scene  # noqa: E402
from physics_scenes.scene.model import Timing  # noqa: E402

RATE, FFT, HOP = 48_000, 1024, 512
PICTURE_SCENES = {"flat": "bouncing_balls", "busy": "ball_pile"}
SOUND_SCENES = ("bouncing_balls", "ball_pile", "newtons_cradle", "xylophone", "dominoes")


def _render(name: str, folder: Path, fmt: str, size: tuple[int, int], seconds: float,
            **options: object) -> Path:  # fmt: skip
    path = ROOT / "scenes" / f"{name}.yaml"
    scene = load_scene(path)
    scene = scene.model_copy(update={"timing": Timing(
        duration=seconds, fps=scene.timing.fps, substeps=scene.timing.substeps)})  # fmt: skip
    out = folder / (name + ("" if fmt == "png" else f".{fmt}"))
    run(RenderJob(scene, out, fmt, *size, states=False, source=path, overwrite=True,
                  **options))  # type: ignore[arg-type]  # fmt: skip
    return out


XYZ_OPPONENT = np.array([[0.279, 0.72, -0.107], [-0.449, 0.29, -0.077],
                         [0.086, -0.59, 0.501]])  # fmt: skip
"""S-CIELAB's opponent planes (luminance, red-green, blue-yellow) from CIE XYZ."""
EYE = (((1.00327, 0.114416, -0.117686), (0.05, 0.225, 7.0)),
       ((0.616725, 0.383275), (0.0685, 0.826)),
       ((0.567885, 0.432115), (0.0920, 0.6451)))  # fmt: skip
"""Per opponent plane: weights and spreads (degrees) of the Gaussians that blur it."""
SRGB_XYZ = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722],
                     [0.0193, 0.1192, 0.9505]])  # fmt: skip


def _blurred(plane: np.ndarray, weights: tuple[float, ...], spreads: tuple[float, ...],
             ppd: float) -> np.ndarray:  # fmt: skip
    fy = np.fft.fftfreq(plane.shape[0])[:, None] * ppd  # cycles per degree
    fx = np.fft.fftfreq(plane.shape[1])[None, :] * ppd
    f2 = fy**2 + fx**2
    response = sum(
        w * np.exp(-((np.pi * s) ** 2) * f2) for w, s in zip(weights, spreads, strict=True)
    )
    return np.real(np.fft.ifft2(np.fft.fft2(plane) * response))


def _lab(xyz: np.ndarray) -> np.ndarray:
    t = xyz / SRGB_XYZ.sum(axis=1)
    f = np.where(t > (6 / 29) ** 3, np.cbrt(t), t / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]),
                     200 * (f[..., 1] - f[..., 2])], axis=-1)  # fmt: skip


def scielab(a: np.ndarray, b: np.ndarray, ppd: float = 45.0) -> np.ndarray:
    """S-CIELAB ΔE per pixel between two sRGB pictures seen at ``ppd`` pixels a degree."""
    labs = []
    for rgb in (a, b):
        v = rgb[..., :3].astype(np.float64) / 255
        xyz = np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4) @ SRGB_XYZ.T
        opponent = xyz @ XYZ_OPPONENT.T
        seen = np.stack([_blurred(opponent[..., c], *EYE[c], ppd) for c in range(3)], axis=-1)
        labs.append(_lab(seen @ np.linalg.inv(XYZ_OPPONENT).T))
    return np.sqrt(((labs[0] - labs[1]) ** 2).sum(axis=-1))


def flat(rgb: np.ndarray, radius: int = 4) -> np.ndarray:
    """True where no value changes within (2 radius + 1)² pixels."""
    grey = rgb[..., :3].astype(np.int64) @ np.array([1, 256, 65536])
    same = np.ones(grey.shape, bool)
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            same &= grey == np.roll(grey, (dy, dx), axis=(0, 1))
    return same


def picture(out: Path, work: Path) -> None:
    print("| scene | PSNR | largest change | values changed | S-CIELAB ΔE p99: flat, all |")
    print("|---|---|---|---|---|")
    for kind, name in PICTURE_SCENES.items():
        marked = _render(name, work / "m", "png", (1280, 720), 1.0, audio="none")
        plain = _render(name, work / "p", "png", (1280, 720), 1.0, audio="none", watermark=False)
        frames = sorted(marked.glob("frame_*.png"))
        a = np.stack([np.asarray(Image.open(f))[..., :3] for f in frames]).astype(int)
        b = np.stack([np.asarray(Image.open(plain / f.name))[..., :3] for f in frames])
        diff = a - b.astype(int)
        mse = float(np.mean(diff.astype(float) ** 2))
        psnr = 10 * np.log10(255**2 / mse)
        k = len(frames) // 2
        delta_e = scielab(a[k], b[k])
        still = flat(b[k])
        print(f"| {name} ({kind}) | {psnr:.1f} dB | {np.abs(diff).max()} level "
              f"| {100 * np.mean(diff != 0):.0f} % | {np.percentile(delta_e[still], 99):.2f} "
              f"({100 * still.mean():.0f} % flat), {np.percentile(delta_e, 99):.2f} |")  # fmt: skip
        one = np.concatenate([b[k], a[k], np.clip(128 + 32 * diff[k], 0, 255)], axis=1)
        Image.fromarray(one[200:520, :].astype(np.uint8)).save(out / f"{kind}_1x.png")
        y, x = (300, 600)
        crop = [
            im[y : y + 90, x : x + 160] for im in (b[k], a[k], np.clip(128 + 32 * diff[k], 0, 255))
        ]
        zoom = np.concatenate([np.kron(c, np.ones((4, 4, 1))) for c in crop], axis=1)
        Image.fromarray(zoom.astype(np.uint8)).save(out / f"{kind}_4x.png")


def _bark(hz: np.ndarray) -> np.ndarray:
    return 13 * np.arctan(0.00076 * hz) + 3.5 * np.arctan((hz / 7500) ** 2)


def _frames(x: np.ndarray) -> np.ndarray:
    n = 1 + (len(x) - FFT) // HOP
    idx = np.arange(FFT)[None, :] + HOP * np.arange(n)[:, None]
    return np.abs(np.fft.rfft(x[idx] * np.hanning(FFT), axis=1)) ** 2


def margins(programme: np.ndarray, mark: np.ndarray, quiet: bool = False) -> np.ndarray:
    """Threshold minus mark (dB) per frame and Bark band inside the mark's band."""
    p, m = _frames(programme), _frames(mark)
    hz = np.fft.rfftfreq(FFT, 1 / RATE)
    z = _bark(hz)
    bands = np.arange(int(z.max()) + 1)
    which = np.minimum(z.astype(int), bands[-1])
    pb = np.stack([p[:, which == b].sum(axis=1) for b in bands], axis=1) + 1e-30
    mb = np.stack([m[:, which == b].sum(axis=1) for b in bands], axis=1) + 1e-30
    dz = bands[:, None] - bands[None, :]  # masker band j spreads to band i
    spread_db = 15.81 + 7.5 * (dz + 0.474) - 17.5 * np.sqrt(1 + (dz + 0.474) ** 2)
    spread = pb @ (10 ** (spread_db / 10)).T
    flatness = np.exp(np.mean(np.log(p[:, 1:] + 1e-30), axis=1)) / (
        np.mean(p[:, 1:], axis=1) + 1e-30
    )
    tonal = np.clip(10 * np.log10(flatness + 1e-30) / -60, 0, 1)[:, None]
    offset = tonal * (14.5 + bands[None, :]) + (1 - tonal) * 5.5
    threshold = 10 * np.log10(spread) - offset
    if quiet:  # the threshold of hearing at MPEG's calibration (a full-scale sine at 96 dB
        # SPL), of a tone at the band's most sensitive frequency (noise within a critical
        # band is heard at about a tone's power); as band power: variance x N sum(w^2) / 2
        khz = np.maximum(hz, 20.0) / 1000
        ath = 3.64 * khz**-0.8 - 6.5 * np.exp(-0.6 * (khz - 3.3) ** 2) + 1e-3 * khz**4
        unit = 10 * np.log10(0.5 * FFT * np.sum(np.hanning(FFT) ** 2) / 2) - 96.0
        floor = np.array([unit + ath[which == b].min() for b in bands])
        threshold = np.maximum(threshold, floor[None, :])
    inside = (bands >= int(_bark(np.array(BAND[0])))) & (bands <= int(_bark(np.array(BAND[1]))))
    loud = 10 * np.log10(p.sum(axis=1) + 1e-30)
    keep = loud > loud.max() - 60
    return (threshold - 10 * np.log10(mb))[keep][:, inside]


def _spectrogram(x: np.ndarray, top: float) -> np.ndarray:
    db = 10 * np.log10(_frames(x) + 1e-20)
    level = np.clip((db - (top - 90)) / 90, 0, 1)[:, ::-1].T  # low frequencies at the bottom
    return (255 * level).astype(np.uint8)


def sound(out: Path, work: Path) -> None:
    key = MarkKey()
    print("\n| scene | margin: median | 5th percentile | cells above the threshold "
          "| same, masking alone, loud frames |")  # fmt: skip
    print("|---|---|---|---|---|")
    for name in SOUND_SCENES:
        mp4 = _render(name, work / "s", "mp4", (96, 54), 4.0, audio="wav", watermark=False)
        with wave.open(str(mp4.with_suffix(".wav"))) as w:
            track = _samples(w.readframes(w.getnframes()), w.getnchannels())
        path = work / "marked.wav"
        with WavWriter(path, track.shape[1]) as sink:
            sink.write(track.astype(np.float32))
        with wave.open(str(path)) as w:  # the master as 24-bit PCM holds it
            track = _samples(w.readframes(w.getnframes()), w.getnchannels())
        Marks(content_id="0123456789ab", key=key, picture=None).mark_wav(path)  # type: ignore[arg-type]
        with wave.open(str(path)) as w:
            marked = _samples(w.readframes(w.getnframes()), w.getnchannels())
        channels = range(track.shape[1])
        mark = marked - track
        heard = np.concatenate([margins(track[:, c], mark[:, c], True).ravel() for c in channels])
        alone = np.concatenate([margins(track[:, c], mark[:, c]).ravel() for c in channels])
        above = 100 * np.mean(heard < 0), 100 * np.mean(alone < 0)
        print(f"| {name} | {np.median(heard):.1f} dB | {np.percentile(heard, 5):.1f} dB "
              f"| {above[0]:.1f} % | {above[1]:.1f} % |")  # fmt: skip
        programme = track.mean(axis=1)
        top = 10 * np.log10(_frames(programme).max())
        panels = [_spectrogram(x, top) for x in (programme, marked.mean(axis=1), mark.mean(axis=1))]
        gap = np.full((panels[0].shape[0], 4), 255, np.uint8)
        both = np.concatenate([panels[0], gap, panels[1], gap, panels[2]], axis=1)
        Image.fromarray(both).save(out / f"spectrogram_{name}.png")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Path("mark_imperceptibility"))
    parser.add_argument("--only", choices=("picture", "sound"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        if args.only != "sound":
            picture(args.out, Path(folder))
        if args.only != "picture":
            sound(args.out, Path(folder))


if __name__ == "__main__":
    main()
