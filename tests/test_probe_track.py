"""The probe's tracker on blobs made by hand (fast): bodies that come together keep
their tracks, and a body that ends the clip in a pile keeps the size it was seen with
(its size sets how near another must be to touch it, so a lost size made contacts
invisible: balls knocked upwards by others read as impossible bounces)."""

from __future__ import annotations

from physics_scenes.probe.detect import Blob
from physics_scenes.probe.track import MEASURED, MERGED, Tracker, mark_near

AREA = 250.0
"""Each body's area in pixels (a disc of 17.8 px)."""


def _blob(x: float, y: float, area: float = AREA, solidity: float = 1.0, width: int = 18) -> Blob:
    box = (round(x - width / 2), round(y - 9), width, 18)
    return Blob(x, y, area, box, (200, 40, 40), solidity=solidity)


def test_bodies_that_come_together_in_one_frame_share_the_blob() -> None:
    # four bodies in a square drift right; in frame 6 they show as one blob of over four
    # times a body's area (too large for any one of them to take it): they share it,
    # and no new object is born on it
    corners = [(100.0, 100.0), (122.0, 100.0), (100.0, 122.0), (122.0, 122.0)]
    tracker = Tracker(320, 240)
    for frame in range(6):
        tracker.update(frame, [_blob(x + 2 * frame, y) for x, y in corners])
    tracker.update(6, [_blob(123.0, 111.0, 4.4 * AREA, solidity=0.6, width=40)])
    assert len(tracker.tracks) == 4
    assert [t.kind[-1] for t in tracker.tracks] == [MERGED] * 4


def test_a_body_that_ends_in_a_pile_keeps_its_size() -> None:
    # two bodies side by side seen apart for 10 frames, then in one blob for 40 (more
    # than the 30 points the size is taken from): the size is still one body's, and the
    # two are marked as touching while they share the blob
    tracker = Tracker(320, 240)
    for frame in range(10):
        tracker.update(frame, [_blob(116.0, 109.0), _blob(134.0, 109.0)])
    for frame in range(10, 50):
        tracker.update(frame, [_blob(125.0, 109.0, 2 * AREA, solidity=0.8, width=36)])
    tracks = tracker.finish()
    assert len(tracks) == 2
    assert all(t.kind[-1] == MERGED and t.kind[0] == MEASURED for t in tracks)
    assert [t.size for t in tracks] == [AREA, AREA]
    mark_near(tracks)
    assert all(t.touching[-1] and t.near[-1] for t in tracks)
