"""What every worker's first item would otherwise do once, done once by the fork server.

``pool.PRELOAD`` lists this module last: the server imports it after the render
machinery, and every worker it forks starts with the modules an item loads on first use
(``numpy.random``, the consent check, imageio-ffmpeg's binaries, OpenCV for the frames'
colour order: ~50 ms of CPU a process) and the answers a
process asks for once (the encoder's version: an ``ffmpeg -version`` run; the packages'
versions, parsed from their metadata) already there. A worker's first item took ~100 ms
against ~55 ms for the next ones (thrown_balls, 256x256); two workers paid it at once,
and again in every batch. Nothing here writes anything or starts a thread (the server
forks afterwards).
"""

from __future__ import annotations

import importlib

from ...output.ffmpeg import encoder_versions
from ..pipeline import package_version

LAZY = ("numpy.random", "physics_scenes.rights.consent_check", "imageio_ffmpeg.binaries", "cv2")
"""Modules an item imports on first use (found by comparing ``sys.modules`` before and
after one item in a process that had imported ``pool.PRELOAD``; ``cv2``: an hdf5 item's)."""
VERSIONS = ("physics-scenes", "pygame-ce", "numpy", "pydantic", "imageio-ffmpeg")
"""The packages whose versions every item's metadata records (``pipeline.describe_run``)."""


def warm() -> None:
    """Load and ask all of it (each answer is kept by its own cache)."""
    for name in LAZY:
        importlib.import_module(name)
    for package in VERSIONS:
        package_version(package)
    encoder_versions()


warm()
