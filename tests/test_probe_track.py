"""The probe's tracker on blobs made by hand (fast): bodies that come together keep
their tracks, and a body that ends the clip in a pile keeps the size it was seen with
(its size sets how near another must be to touch it, so a lost size made contacts
invisible: balls knocked upwards by others read as impossible bounces)."""

from __future__ import annotations

import numpy as np

from physics_scenes.probe.detect import Blob
from physics_scenes.probe.estimate import impact_floor, impact_frames
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


def test_bodies_passing_deep_into_each_other_both_stay_in_the_blob() -> None:
    # two bodies fly at each other and through: at the deepest the blob is 1.1x one
    # body (under the 1.2x a lost track needs to claim a share); the track merged with
    # the blob's owner in the frame before stays in it, so the pass-through is seen
    tracker = Tracker(320, 240)
    areas = {6: 1.6, 7: 1.1, 8: 1.1, 9: 1.6}
    for frame in range(12):
        a, b = 100.0 + 4 * frame, 160.0 - 4 * frame
        if frame in areas:
            blob = _blob(
                130.0, 109.0, areas[frame] * AREA, solidity=0.8, width=18 + abs(round(b - a))
            )
            tracker.update(frame, [blob])
        else:
            tracker.update(frame, [_blob(a, 109.0), _blob(b, 109.0)])
    tracks = tracker.finish()
    assert len(tracks) == 2
    assert all(t.kind[6:10] == [MERGED] * 4 and t.kind[10] == MEASURED for t in tracks)


def _hop(v_in: float, contact: float, e: float = 0.8) -> tuple[np.ndarray, ...]:
    """A ball's centre at 30 fps falling onto a floor at y = 160 (v_in px a frame at
    the contact, ``contact`` in frames) and hopping up with e x that speed, gravity
    0.218 px a frame squared (196 px/s²), drifting 2 px a frame sideways."""
    f = np.arange(20, dtype=float)
    s = f - contact
    y = np.where(s < 0, 160 + v_in * s, 160 - e * v_in * s) + 0.5 * 0.218 * s**2
    return f, 100 + 2 * f, y


def test_a_hop_whose_contact_falls_between_frames_is_an_impact() -> None:
    # 2.7 px a frame of change, split 1.35 / 1.35 over two second differences (each
    # under the 2 px floor): their sum finds it; a parabola through it bends upwards
    f, x, y = _hop(1.5, 9.5)
    assert [g for g in impact_frames(f, x, y) if 8 <= g[0] <= 11]
    f, x, y = _hop(1.5, 9.0)  # on a frame: one second difference of 2.7
    assert [g for g in impact_frames(f, x, y) if 8 <= g[0] <= 10]


def test_a_small_bodys_low_hop_is_an_impact() -> None:
    # 1.8 px a frame of change: under the old fixed 2 px floor, over a tenth of a
    # 10 px body's diameter (the floor now follows the body)
    tracker = Tracker(320, 240)
    for frame in range(5):
        tracker.update(frame, [_blob(100.0 + frame, 100.0, area=78.5, width=10)])
    floor = impact_floor(tracker.finish()[0])
    assert abs(floor - 1.0) < 0.01
    f, x, y = _hop(1.0, 9.0)
    assert not impact_frames(f, x, y)
    assert [g for g in impact_frames(f, x, y, floor) if 8 <= g[0] <= 10]
