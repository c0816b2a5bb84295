"""Text to speech, offline: espeak-ng (a formant synthesiser, no downloaded weights) run
as a subprocess, its 22.05 kHz mono WAV read from a pipe and resampled to ``RATE``.

Why espeak-ng: it is packaged by Debian (``apt-get install espeak-ng``), runs here with
no network and no model files, and is deterministic: the same text, voice, rate and
pitch give the same bytes (checked by the tests). The price is its voice: clear and
intelligible but robotic, nothing like a recorded actor; a ``say`` line with a ``file``
plays a recording instead.

>>> import shutil
>>> if shutil.which("espeak-ng"):
...     from physics_scenes.scene.speech import Speaker
...     wave = speak(Speaker(None, "en-us", 165, 50), "Hello.")
...     print(0.3 < len(wave) / RATE < 1.5, float(abs(wave).max()) > 0.1)
... else:
...     print(True, True)
True True
"""

from __future__ import annotations

import shutil
import subprocess
from math import gcd

import numpy as np
from scipy import signal

from ..errors import AudioInputError
from ..scene.speech import Speaker
from .dsp import RATE, Audio

ENGINE = "espeak-ng"
HEADER = 44
"""espeak-ng's WAV header on stdout: 44 bytes, its sizes left unset (a pipe)."""


class SpeechEngineMissing(AudioInputError):
    """No speech engine on this machine: a line without a recorded file cannot be said."""


def engine() -> str:
    """The engine's executable, or ``SpeechEngineMissing`` with how to install it."""
    found = shutil.which(ENGINE)
    if found is None:
        raise SpeechEngineMissing(
            f"speaking a line needs the {ENGINE} speech engine, which is not installed "
            f"(Debian/Ubuntu: apt-get install {ENGINE}); or give the line a recorded file:"
        )
    return found


def speak(speaker: Speaker, text: str) -> Audio:
    """``text`` spoken by the engine with ``speaker``'s voice: mono float64 at ``RATE``."""
    command = [engine(), "-v", speaker.voice, "-s", str(speaker.rate), "-p", str(speaker.pitch),
               "--stdin", "--stdout"]  # fmt: skip
    result = subprocess.run(command, input=text.encode(), capture_output=True, timeout=60)
    data = result.stdout
    if result.returncode != 0 or len(data) <= HEADER or data[:4] != b"RIFF":
        why = result.stderr.decode(errors="replace").strip().splitlines()
        raise AudioInputError(
            f"{ENGINE} could not speak with voice {speaker.voice!r}: "
            f"{why[-1] if why else 'no sound came out'}"
        )
    rate = int.from_bytes(data[24:28], "little")
    raw = data[HEADER : len(data) - (len(data) - HEADER) % 2]
    mono = np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0
    g = gcd(RATE, rate)
    return np.ascontiguousarray(signal.resample_poly(mono, RATE // g, rate // g))


def engine_version() -> str | None:
    """The engine's version line (for the metadata), or None if it is not installed."""
    found = shutil.which(ENGINE)
    if found is None:
        return None
    result = subprocess.run([found, "--version"], capture_output=True, timeout=30)
    return result.stdout.decode(errors="replace").strip().split("  ")[0] or None
