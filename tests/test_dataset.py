"""Datasets: resumable batches of a template's items, on the local and the Ray engine."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import zlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import webdataset
from scipy import ndimage

from physics_scenes.cli import main
from physics_scenes.errors import SceneError
from physics_scenes.job.dataset import DatasetError, DatasetJob, run_dataset
from physics_scenes.job.engines.pool import ProcessPool
from physics_scenes.scene.template import parse_template, sample

from helpers import ROOT, probe_video

TINY = """
name: tiny drop
world: {size: [4, 4], walls: true}
timing: {duration: 0.25, fps: 16, substeps: 15}
variables:
  speed: {uniform: [0, 3]}
bodies:
  - kind: ball
    name: ball
    repeat: {randint: [1, 2]}
    radius: {uniform: [0.3, 0.6]}
    position: {uniform: [[1, 3], [2, 3]]}
    velocity: [$speed, 0]
    color: {choice: ["#ff0000", "#00ff00"]}
"""


def tree(folder: Path) -> dict[str, str]:
    """Every file below ``folder`` (hidden ones too) → the SHA-256 of its bytes."""
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def job_for(out: Path, count: int, text: str = TINY, **options: object) -> DatasetJob:
    template = out.parent / "template.yaml"
    template.write_text(text)
    return DatasetJob(str(template), text, out, count, width=64, height=64, **options)  # type: ignore[arg-type]


def test_a_batch_writes_items_and_a_manifest_and_resume_renders_only_the_missing(
    tmp_path: Path,
) -> None:
    job = job_for(tmp_path / "data", 2)
    first = run_dataset(job, ProcessPool(1))
    assert (first.rendered, first.skipped) == (2, 0)
    records = [json.loads(line) for line in first.manifest.read_text().splitlines()]
    template = parse_template(TINY, job.template_file)
    for index, record in enumerate(records):
        folder = tmp_path / "data" / "items" / f"{index:06d}"
        assert record["index"] == index and record["seed"] == sample(template, index).seed
        assert record["values"] == dict(sample(template, index).values)
        for name, digest in record["files"].items():
            assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest
        states = (folder / "clip.states.jsonl").read_text().splitlines()
        assert json.loads(states[-1])["run_hash"] == record["run_hash"]
        header = probe_video(folder / "clip.mp4")
        assert header.size == (64, 64) and header.frame_count == record["frames"] == 4
        truth = np.load(folder / "clip.truth.npz")
        assert truth["ids"].shape == (4, 64, 64) and truth["flow"].shape == (3, 64, 64, 2)
        balls = len(sample(template, index).scene.bodies)
        ball_ids = set(range(2, balls + 2))  # row 0 is the walls (one body), then the balls
        assert ball_ids <= set(np.unique(truth["ids"])) <= {0, 1} | ball_ids
        assert truth["visible"].shape == (4, balls + 1)
    before = tree(tmp_path / "data")
    # an item lost (as if never finished) and the manifest: only that item is rendered
    for path in (tmp_path / "data" / "items" / "000001").iterdir():
        path.unlink()
    (tmp_path / "data" / "items" / "000001").rmdir()
    (tmp_path / "data" / "manifest.jsonl").unlink()
    again = run_dataset(job, ProcessPool(1))
    assert (again.rendered, again.skipped) == (1, 1)
    assert tree(tmp_path / "data") == before
    # shards: read back by each format's own reader, the same bytes and arrays as the items
    for fmt in ("webdataset", "hdf5"):  # (hdf5 of MP4 items: --video mp4)
        assert (
            run_dataset(replace(job, fmt=fmt, shard_size=1, video="mp4"), ProcessPool(1)).rendered
            == 0
        )
    shards = tmp_path / "data" / "shards"
    samples = []
    for tar in sorted(shards.glob("*.tar")):  # webdataset's own tar reader, on streams we close
        with open(tar, "rb") as stream:
            source = [{"url": str(tar), "stream": stream}]
            files = webdataset.tariterators.tar_file_expander(source)
            samples += list(webdataset.tariterators.group_by_keys(files))
    assert [clip["__key__"] for clip in samples] == ["000000", "000001"]
    for clip, record in zip(samples, records, strict=True):
        folder = tmp_path / "data" / "items" / record["name"]
        assert json.loads(clip["json"]) == record
        for ending in ("mp4", "states.jsonl", "metadata.json", "truth.npz", "annotations.json"):
            assert clip[ending] == (folder / f"clip.{ending}").read_bytes()
    for path, record in zip(sorted(shards.glob("*.h5")), records, strict=True):
        folder = tmp_path / "data" / "items" / record["name"]
        with h5py.File(path, "r") as h5:
            group = h5[record["name"]]
            assert group["video"][()].tobytes() == (folder / "clip.mp4").read_bytes()
            assert json.loads(group.attrs["record"]) == record
            frames = [json.loads(line) for line in
                      (folder / "clip.states.jsonl").read_text().splitlines()[1:-1]]  # fmt: skip
            assert group["position"][()].tolist() == [f["position"] for f in frames]
            assert group["angle"][()].tolist() == [f["angle"] for f in frames]
            truth = np.load(folder / "clip.truth.npz")
            assert np.array_equal(group["flow"][()], truth["flow"])
            assert np.array_equal(group["ids"][()], truth["ids"])
            assert group["ids"].chunks == (1, 64, 64) and group["ids"].compression == "gzip"
            # the decoded frames: inside each body's id region its colour, around it the
            # background's (to within the encoding's error)
            pictures = group["frames"][()].astype(int)
            assert pictures.shape == (len(frames), 64, 64, 3)
            bodies = json.loads(group.attrs["bodies"])
            ids = truth["ids"]
            for row, colour in [(0, [0x15, 0x17, 0x1C])] + [
                (r + 1, body["color"]) for r, body in enumerate(bodies)
            ]:
                inner = np.stack([ndimage.binary_erosion(f == row, iterations=2) for f in ids])
                if inner.any():
                    error = np.abs(np.median(pictures[inner], axis=0) - colour).max()
                    assert error <= 8, (row, error)  # BT.601 instead: 13 on red
    shards_before = tree(shards)
    for fmt in ("webdataset", "hdf5"):  # written again: the same bytes
        run_dataset(replace(job, fmt=fmt, shard_size=1, video="mp4"), ProcessPool(1))
    assert tree(shards) == shards_before
    before = tree(tmp_path / "data")
    # another template or global seed in the same folder is refused, not mixed in
    with pytest.raises(DatasetError, match="another global_seed"):
        run_dataset(job_for(tmp_path / "data", 2, global_seed=1), ProcessPool(1))
    with pytest.raises(
        DatasetError, match=r"items are clip\.mp4, not clip\.h5; resume it with --video mp4"
    ):
        run_dataset(replace(job, fmt="hdf5"), ProcessPool(1))
    with pytest.raises(DatasetError, match="another template"):
        run_dataset(job_for(tmp_path / "data", 2, TINY.replace("0.25", "0.5")), ProcessPool(1))
    assert tree(tmp_path / "data") == before


def test_hdf5_items_hold_their_exact_frames_as_arrays_and_no_video(tmp_path: Path) -> None:
    """PhyWorld's format: ``--format hdf5`` items keep their pictures as an array (no
    encoder) in ``clip.h5`` with the states and truth, which the shard copies as it is;
    ``--video frames`` in a folder dataset gives the same pictures as ``clip.npz``. Inside
    each body's id region the pixels are that body's colour (the watermark moves a few
    levels)."""
    out, flat = tmp_path / "data", tmp_path / "flat"
    common = ["--count", "1", "--size", "64x48", "-q", "--workers", "1"]
    assert main(["batch", str(_template(tmp_path)), "--out", str(out), "--format", "hdf5",
                 *common]) == 0  # fmt: skip
    assert main(["batch", str(_template(tmp_path)), "--out", str(flat), "--video", "frames",
                 *common]) == 0  # fmt: skip
    folder = out / "items" / "000000"
    assert sorted(p.name for p in folder.iterdir()) == [
        "clip.annotations.json", "clip.h5", "clip.metadata.json", "clip.states.jsonl",
        "item.json",
    ]  # fmt: skip
    record = json.loads((folder / "item.json").read_text())
    digest = hashlib.sha256((folder / "clip.h5").read_bytes()).hexdigest()
    assert digest == record["files"]["clip.h5"]
    frames = np.load(flat / "items" / "000000" / "clip.npz")["frames"]
    ids = np.load(flat / "items" / "000000" / "clip.truth.npz")["ids"]
    assert frames.shape == (4, 48, 64, 3) and frames.dtype == np.uint8
    states = (folder / "clip.states.jsonl").read_text().splitlines()
    bodies = json.loads(states[0])["bodies"]
    colours = [(0, [0x15, 0x17, 0x1C])] + [(r + 1, b["color"]) for r, b in enumerate(bodies)]
    for row, colour in colours:
        inner = np.stack([ndimage.binary_erosion(f == row, iterations=2) for f in ids])
        if inner.any():
            assert np.abs(np.median(frames[inner].astype(int), axis=0) - colour).max() <= 2, row
    with h5py.File(out / "shards" / "data-000000.h5", "r") as h5:
        group = h5["000000"]
        assert "video" not in group and np.array_equal(group["frames"][()], frames)
        assert group["frames"].chunks == (1, 48, 64, 3)
        assert np.array_equal(group["ids"][()], ids)
        assert json.loads(group.attrs["record"]) == record
        assert group.attrs["annotations"] == (folder / "clip.annotations.json").read_text()
        positions = [json.loads(line)["position"] for line in states[1:-1]]
        assert group["position"][()].tolist() == positions
    assert json.loads((out / "dataset.json").read_text())["video"]["frames"] == "clip.h5"


def _template(folder: Path) -> Path:
    path = folder / "tiny.yaml"
    path.write_text(TINY)
    return path


def test_the_batch_command_refuses_bad_input_with_a_located_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("bodies:\n  - {kind: ball, radius: {uniform: [1]}}\n")
    out = tmp_path / "out"
    assert main(["batch", str(bad), "--count", "2", "--out", str(out)]) == 1
    assert f"{bad}:2:36: bodies[0].radius.uniform: expected [low, high]" in capsys.readouterr().err
    assert not out.exists()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine")
    good = tmp_path / "good.yaml"
    good.write_text(TINY)
    args = ["batch", str(good), "--count", "1", "--out", str(tmp_path / "full"), "-q"]
    assert main(args) == 1
    assert "is not empty and holds no dataset" in capsys.readouterr().err
    assert main([*args[:-1], "--size", "65x64"]) == 2


def test_a_batch_checks_every_item_against_the_blocklist_before_writing_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``batch --registry``: an item whose text is blocked is refused, located, and
    nothing of it is written."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # never the user's own
    registry = str(tmp_path / "r.sqlite3")
    assert main(["blocklist", "add-name", "Zorblax", "--owner", "Zorb Inc", "--reason", "tm",
                 "--registry", registry]) == 0  # fmt: skip
    template = tmp_path / "t.yaml"
    template.write_text(TINY.replace("name: tiny drop", "name: ZÖRBLAX drop"))
    out = tmp_path / "out"
    args = ["batch", str(template), "--count", "1", "--size", "64x64", "-q", "--workers", "1"]
    capsys.readouterr()
    assert main([*args, "--out", str(out), "--registry", registry]) == 1
    err = capsys.readouterr().err
    assert "blocked" in err and "Zorb Inc" in err, err
    assert not list(out.rglob("clip.mp4"))  # (the same batch without it: the tests above)


class _LastFirst:
    """An engine that runs the tasks here and hands their results back last first: an
    order a pool's workers may finish in."""

    def map(self, fn: Any, tasks: Any) -> Any:
        return iter([fn(task) for task in tasks][::-1])


def test_items_finishing_in_any_order_give_the_same_manifest_summary_and_shards(
    tmp_path: Path,
) -> None:
    """The manifest, the summary and the shards are written in index order while items
    finish in any order, with items an earlier run left mixed in: the same bytes."""
    job = job_for(tmp_path / "in_order", 5, truth=False, fmt="hdf5", shard_size=2)
    run_dataset(job, ProcessPool(1))
    mixed = replace(job, out=tmp_path / "mixed")
    run_dataset(mixed, ProcessPool(1))
    for name in ("000001", "000003"):  # an earlier run's items 0, 2 and 4 stay
        for path in (mixed.out / "items" / name).iterdir():
            path.unlink()
        (mixed.out / "items" / name).rmdir()
    (mixed.out / "manifest.jsonl").unlink()
    for path in (mixed.out / "shards").iterdir():
        path.unlink()
    result = run_dataset(mixed, _LastFirst())
    assert (result.rendered, result.skipped) == (2, 3)
    assert tree(mixed.out) == tree(job.out)
    assert len(list((mixed.out / "shards").glob("*.h5"))) == 3


def test_a_shard_copies_an_items_hdf5_as_h5pys_own_calls_would(tmp_path: Path) -> None:
    """The shard's low-level copy of an item's ``clip.h5`` (``_ItemCopier``) makes the
    bytes h5py's high-level ``create_group``, ``attrs[...] =`` and ``copy`` make, also
    for attributes that are not text and for a name that is not ASCII."""
    from physics_scenes.output.shards import H5_OPTIONS, ShardClip, write_shards

    item = tmp_path / "clip.h5"
    with h5py.File(item, "w", **H5_OPTIONS) as h5:
        h5.attrs["zeta"] = "text, é"
        h5.attrs["alpha"] = np.arange(3)
        h5.attrs["beta"] = 2.5
        h5.create_dataset("x", data=np.arange(10), track_times=False)
        h5.create_dataset("frames", data=np.ones((3, 4, 4), np.uint8), chunks=(1, 4, 4),
                          compression="gzip", track_times=False)  # fmt: skip
    clips = [ShardClip("ünï", {"a": 1}, {"h5": item}),
             ShardClip("000001", {"b": [1.5]}, {"h5": item})]  # fmt: skip
    (path,) = write_shards(tmp_path / "shards", clips, "hdf5")
    expected = tmp_path / "expected.h5"
    with h5py.File(expected, "w", **H5_OPTIONS) as h5:
        for clip in clips:
            group = h5.create_group(clip.name)
            group.attrs["record"] = json.dumps(clip.record, sort_keys=True)
            with h5py.File(clip.files["h5"], "r") as source:
                for key, value in source.attrs.items():
                    group.attrs[key] = value
                for name in source:
                    h5.copy(source[name], group, name=name)
    assert path.read_bytes() == expected.read_bytes()
    with h5py.File(path, "r") as h5:
        assert sorted(h5) == ["000001", "ünï"]
        assert h5["ünï"].attrs["zeta"] == "text, é" and h5["ünï"].attrs["beta"] == 2.5
        assert h5["000001"]["frames"][()].sum() == 48


class _FailsAfterOne:
    """An engine whose workers break after the first item (as a pool whose worker died)."""

    def map(self, fn: Any, tasks: Any) -> Any:
        tasks = iter(tasks)
        yield fn(next(tasks))
        raise RuntimeError("a worker died")


@pytest.mark.parametrize("fmt", ["hdf5", "webdataset"])
def test_a_batch_whose_engine_fails_stops_and_leaves_no_manifest_or_shard(
    tmp_path: Path, fmt: str
) -> None:
    """The error comes out (the shard writer stops instead of waiting for clips that never
    come), the finished item stays, and nothing half-written: no manifest, no shard, no
    staging."""
    import threading

    job = job_for(tmp_path / "data", 3, truth=False, fmt=fmt, video="frames")
    outcome: list[BaseException] = []

    def batch() -> None:
        try:
            run_dataset(job, _FailsAfterOne())
        except BaseException as error:
            outcome.append(error)

    thread = threading.Thread(target=batch, daemon=True)
    thread.start()
    thread.join(timeout=120)  # (a deadlock guard, not a speed limit)
    assert not thread.is_alive(), "run_dataset hung after its engine failed"
    assert [str(error) for error in outcome] == ["a worker died"]
    # (an item's .done folder may still be going: past its commit point, deleted by a thread)
    items = [p.name for p in (job.out / "items").iterdir() if not p.name.endswith(".done")]
    assert items == ["000000"]
    assert not list(job.out.rglob("*.partial"))
    assert sorted(p.name for p in job.out.iterdir()) == [
        "dataset.json", "items", "shards", "template.yaml",
    ]  # fmt: skip
    assert list((job.out / "shards").iterdir()) == []


@pytest.mark.slow
def test_workers_import_the_commands_own_package_whatever_folder_it_runs_in(
    tmp_path: Path,
) -> None:
    """Run from a folder that holds another ``physics_scenes`` (a source tree), the pool's
    workers still import the command's own copy, and see the command's environment."""
    decoy = tmp_path / "elsewhere" / "physics_scenes"
    decoy.mkdir(parents=True)
    (decoy / "__init__.py").write_text('"""Another copy, in the working folder."""\n')
    script = tmp_path / "check.py"
    script.write_text(
        "import json, os, sys\n"
        "from physics_scenes.job.engines.pool import ProcessPool\n"
        "def where(_):\n"
        "    import physics_scenes\n"
        "    return physics_scenes.__file__, os.environ.get('PYTHONSAFEPATH')\n"
        "if __name__ == '__main__':\n"
        "    print(json.dumps(list(ProcessPool(2).map(where, [1, 2]))))\n"
    )  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SDL_VIDEODRIVER": "dummy"}
    env.pop("PYTHONSAFEPATH", None)
    done = subprocess.run([sys.executable, str(script)], cwd=decoy.parent, env=env,
                          capture_output=True, text=True, check=True)  # fmt: skip
    own = str(ROOT / "physics_scenes" / "__init__.py")
    assert json.loads(done.stdout) == [[own, None], [own, None]]


def _command(template: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "physics_scenes", "batch", str(template), "--out", str(out),
            "--size", "64x64", "-q", *extra]  # fmt: skip


@pytest.mark.slow
def test_kill_9_at_any_moment_then_the_same_command_gives_the_same_bytes(tmp_path: Path) -> None:
    """Killed (the whole process group, SIGKILL) while items are being written, the same
    command finishes the dataset identical to an uninterrupted run with another worker
    count; no staging is left behind."""
    text = TINY.replace("0.25", "0.5")
    whole = tmp_path / "whole"
    run_dataset(job_for(whole, 5, text, truth=False), ProcessPool(1))  # here, in order
    template = tmp_path / "template.yaml"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SDL_VIDEODRIVER": "dummy"}
    killed = tmp_path / "killed"
    for wait_for in (1, 2):  # two kills at different moments
        process = subprocess.Popen(
            _command(template, killed, "--count", "5", "--workers", "2", "--no-truth"),
            env=env, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        items = killed / "items"
        while time.monotonic() < deadline and process.poll() is None:
            if items.is_dir() and len([p for p in items.iterdir() if p.name.isdigit()]) >= wait_for:
                break
            time.sleep(0.02)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    partial = [p.name for p in (killed / "items").iterdir() if p.name.isdigit()]
    assert 1 <= len(partial) < 5
    assert not (killed / "manifest.jsonl").exists()
    subprocess.run(_command(template, killed, "--count", "5", "--workers", "2", "--no-truth"),
                   env=env, check=True)  # fmt: skip
    assert tree(killed) == tree(whole)
    assert len(tree(whole)) == 5 * 5 + 4
    assert sorted(p.name for p in (killed / "items").iterdir()) == [f"{i:06d}" for i in range(5)]


@pytest.mark.slow
def test_the_ray_engine_writes_the_same_bytes_as_the_local_engine(tmp_path: Path) -> None:
    """A real local Ray cluster (2 CPUs, its session in tmp_path, nothing in the home
    folder) renders the dataset; the process pool renders it too: the same bytes."""
    home = tmp_path / "home"
    home.mkdir()
    local, ray = tmp_path / "local", tmp_path / "ray"
    run_dataset(job_for(local, 3), ProcessPool(1))
    template = tmp_path / "template.yaml"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SDL_VIDEODRIVER": "dummy", "HOME": str(home)}
    for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_ADDRESS"):
        env.pop(name, None)
    ray_temp = Path("/tmp") / f"psray{os.getpid()}"  # a short path: Ray's sockets live there
    command = _command(template, ray, "--count", "3", "--workers", "2", "--engine", "ray",
                       "--ray-temp-dir", str(ray_temp))  # fmt: skip
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    finally:
        subprocess.run(["rm", "-rf", str(ray_temp)], check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert tree(ray) == tree(local)
    assert sorted(p.name for p in home.iterdir()) == []


RACE = """
name: race
world: {size: [4, 4]}
timing: {duration: 0.75, fps: 16, substeps: 15}
retries: 40
accept:
  - in_view: true
  - collisions: {min: 1, between: [floor, red]}
label: {first_touch: {bodies: [red, blue], target: floor}}
balance: [blue, red]
bodies:
  - {kind: floor, name: floor, y: 0.2}
  - {kind: ball, name: red, radius: 0.2, position: [1, {uniform: [0.5, 1.4]}]}
  - {kind: ball, name: blue, radius: 0.2, position: [3, {uniform: [0.5, 1.4]}]}
"""


def test_accept_label_and_balance_redraw_items_and_count_it(tmp_path: Path) -> None:
    """Item i wants label balance[i mod 2]: the ball starting lower reaches the floor
    first, so the accepted draw of item 0 has blue lower, of item 1 red lower; every
    draw before it is counted as a rejection with its reason."""
    out = tmp_path / "race"
    result = run_dataset(job_for(out, 2, RACE), ProcessPool(1))
    records = [json.loads(line) for line in result.manifest.read_text().splitlines()]
    template = parse_template(RACE, str(tmp_path / "template.yaml"))
    for record, wanted in zip(records, ["blue", "red"], strict=True):
        assert record["status"] == "accepted" and record["label"] == wanted
        item = sample(template, record["index"], attempt=record["attempts"] - 1)
        assert item.seed == record["seed"]
        heights = {body.name: body.position[1] for body in item.scene.bodies[1:]}
        assert min(heights, key=heights.__getitem__) == wanted
        assert sum(record["rejections"].values()) == record["attempts"] - 1
        assert set(record["rejections"]) <= {"label red", "label blue"}
        # the states file shows it: the wanted ball's first contact with the floor comes first
        lines = (out / "items" / record["name"] / "clip.states.jsonl").read_text().splitlines()
        events = [e for line in lines[1:-1] for e in json.loads(line)["events"]]
        first = next(e for e in events if e["kind"] == "begin" and "floor" in (e["a"], e["b"]))
        assert wanted in (first["a"], first["b"])
        # and the annotations, read off the same events, answer the race's question
        notes = json.loads((out / "items" / record["name"] / "clip.annotations.json").read_text())
        assert {"question": "Which object hits the floor first?", "answer": wanted,
                "kind": "descriptive"} in notes["questions"]  # fmt: skip
        assert notes["captions"][0] == f"{wanted} hits the floor at {first['time']:.2f} s."
        assert notes["collisions"][0]["time"] == first["time"]
        assert record["plausibility"] == notes["plausibility"]
        assert not notes["plausibility"]["flagged"] and notes["plausibility"]["energy_start"] > 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["labels"] == {"blue": 1, "red": 1} and summary["accepted"] == 2
    assert summary["attempts"] == sum(r["attempts"] for r in records)
    # a condition no draw meets: the item is rejected after 1 + retries draws, without a clip
    never = RACE.replace("retries: 40", "retries: 2").replace(
        "  - in_view: true", "  - touches: [red, blue]"
    )
    result = run_dataset(job_for(tmp_path / "never", 1, never), ProcessPool(1))
    (record,) = [json.loads(line) for line in result.manifest.read_text().splitlines()]
    assert record["status"] == "rejected" and record["attempts"] == 3
    assert record["rejections"]["touches red blue"] == 3
    assert sorted(p.name for p in (tmp_path / "never" / "items" / "000000").iterdir()) == [
        "item.json"
    ]


def test_rules_name_real_bodies_and_errors_are_located() -> None:
    bad = RACE.replace("target: floor", "target: flor").replace("balance: [blue, red]", "")
    with pytest.raises(SceneError) as caught:
        parse_template(bad, "race.yaml")
    (issue,) = caught.value.issues
    assert (issue.line, issue.path) == (9, "label.first_touch.target")
    assert "no body 'flor' in item 0" in issue.message
    with pytest.raises(SceneError) as caught:
        parse_template(RACE.replace("min: 1,", "min: -1,"), "race.yaml")
    assert [(i.line, i.path) for i in caught.value.issues] == [(8, "accept[1].collisions.min")]


def test_a_counterfactual_twin_changes_one_variable_and_is_linked_in_the_record(
    tmp_path: Path,
) -> None:
    text = TINY + "counterfactual: {variable: speed, value: 0}\n"
    result = run_dataset(job_for(tmp_path / "twins", 1, text), ProcessPool(1))
    (record,) = [json.loads(line) for line in result.manifest.read_text().splitlines()]
    twin = record["counterfactual"]
    assert twin["folder"] == "counterfactual" and twin["values"]["speed"] == 0
    assert record["values"]["speed"] != 0 and twin["run_hash"] != record["run_hash"]
    folder = tmp_path / "twins" / "items" / "000000"

    def first_frame(path: Path) -> dict[str, Any]:
        return json.loads(path.read_text().splitlines()[1])

    factual = first_frame(folder / "clip.states.jsonl")
    counter = first_frame(folder / "counterfactual" / "clip.states.jsonl")
    # the twin's balls start still; everything else drawn for the item is the same
    assert [v[0] for v in counter["velocity"][1:]] == [0] * (len(counter["velocity"]) - 1)
    assert [v[0] for v in factual["velocity"][1:]] == [record["values"]["speed"]] * (
        len(factual["velocity"]) - 1
    )
    assert counter["position"] == factual["position"]
    for name, digest in twin["files"].items():
        data = (folder / "counterfactual" / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest
    with pytest.raises(SceneError, match="no variable 'sped'"):
        parse_template(TINY + "counterfactual: {variable: sped, value: 0}\n", "t.yaml")


CROWD = """
world: {size: [8, 6], walls: true}
timing: {duration: 0.5, fps: 16, substeps: 4}
bodies:
  - {kind: segment, name: shelf, a: [0.5, 2.0], b: [4.0, 1.2], thickness: 0.12}
  - {kind: ramp, name: ramp, a: [4.5, 3.0], b: [7.5, 1.0]}
  - {kind: ragdoll, name: doll, position: [6.0, 4.5], angle: -10, velocity: [-1.5, 0]}
  - {kind: chain, name: chain, start: [0.5, 5.5], end: [3.5, 5.5], length: 3.4, links: 12,
     thickness: 0.05}
  - {kind: box, name: crate, position: [2.0, 3.0], size: [0.6, 0.5], angle: 20}
  - kind: ball
    name: ball
    position: [0.8, 2.4]
    radius: 0.17
    grid: {columns: 12, rows: 4, spacing: [0.3, 0.3], jitter: 0.05}
"""


def _one_by_one(layout: Any, frame: Any) -> tuple[float, int, int]:
    """The deepest overlap the plain way (the function before it was vectorised): each
    shape's core built alone, candidates from an N x N box test, every pair measured by
    ``measure._core_distance`` in a Python loop."""
    import math

    from physics_scenes.frame import CircleGeom, SegmentGeom
    from physics_scenes.physics.measure import _core_distance

    rows, cores = [], []
    for row, body in enumerate(layout.bodies):
        x, y = frame.position[row]
        if not all(map(math.isfinite, (float(x), float(y), float(frame.angle[row])))):
            continue
        c, s = math.cos(frame.angle[row]), math.sin(frame.angle[row])
        for geom in body.shapes:
            if isinstance(geom, CircleGeom):
                local, radius = np.array([geom.offset], dtype=np.float64), geom.radius
            elif isinstance(geom, SegmentGeom):
                local, radius = np.array([geom.a, geom.b], dtype=np.float64), geom.radius
            else:
                local, radius = np.array(geom.vertices, dtype=np.float64), 0.0
            world = np.column_stack((x + local[:, 0] * c - local[:, 1] * s,
                                     y + local[:, 0] * s + local[:, 1] * c))  # fmt: skip
            rows.append(row)
            cores.append((world, radius))
    pad = np.array([r for _, r in cores])
    low = np.array([p.min(axis=0) for p, _ in cores]) - pad[:, None]
    high = np.array([p.max(axis=0) for p, _ in cores]) + pad[:, None]
    apart = (low[:, None, :] > high[None, :, :]).any(axis=2)
    tied = {frozenset((j.a, j.b)) for j in layout.joints}
    deepest, pair = 0.0, (-1, -1)
    for i, j in zip(*np.nonzero(np.triu(~apart & ~apart.T, k=1)), strict=True):
        a, b = rows[i], rows[j]
        one, two = layout.bodies[a], layout.bodies[b]
        if a == b or (one.body_type == two.body_type == "static") or {a, b} in tied:
            continue
        if one.group != 0 and one.group == two.group:
            continue
        depth = cores[i][1] + cores[j][1] - _core_distance(cores[i][0], cores[j][0])
        if depth > deepest:
            deepest, pair = depth, (min(a, b), max(a, b))
    return deepest, *pair


def test_penetration_is_the_same_as_measuring_pair_by_pair() -> None:
    """The vectorised ``Penetration`` finds the same deepest overlap, to the bit, as the
    pair-by-pair loop, frame after frame of a crowded scene: balls (overlapping at the
    start), segments, walls, a ramp and box (polygons), a ragdoll (a group) and a chain
    (joints)."""
    from physics_scenes.physics.measure import Penetration
    from physics_scenes.physics.simulate import simulate
    from physics_scenes.scene.loader import parse_scene

    layout, frames = simulate(parse_scene(CROWD))
    measure = Penetration(layout)
    balls = np.array([body.kind == "ball" for body in layout.bodies])
    found: list[tuple[float, int, int]] = []
    for frame in frames:  # as simulated, and with the balls out of the world (NaN)
        hidden = np.where(balls[:, None], np.nan, frame.position)
        for shown in (frame, replace(frame, position=hidden)):
            ours = measure(shown)
            assert ours == _one_by_one(layout, shown) and type(ours[0]) is float
            found.append(ours)
    assert found[0][0] > 0.05  # the jittered grid starts overlapping
    pairs = {frozenset((layout.bodies[a].kind, layout.bodies[b].kind)) for d, a, b in found if d}
    assert len(pairs) >= 3, pairs  # balls, and ragdoll parts, chain links, polygons


def test_apart_redraws_items_whose_bodies_overlap_at_the_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``accept: [{apart: true}]``: a draw whose balls overlap is refused before it is
    simulated and drawn again, counted as ``apart``; the clips made start clean (their
    plausibility's deepest overlap is a contact's, not frame 0's). ``thrown_balls`` uses
    it: of its first 20 items, 7 first draws overlap; no accepted draw does."""
    from physics_scenes.job.dataset import judge_item
    from physics_scenes.physics.measure import Penetration
    from physics_scenes.physics.simulate import simulate
    from physics_scenes.scene.loader import load_scene
    from physics_scenes.scene.template import load_template

    crowded = (
        TINY.replace("repeat: {randint: [1, 2]}", "repeat: 2").replace(
            "radius: {uniform: [0.3, 0.6]}", "radius: 0.35"
        )
        + "accept:\n  - apart: true\nretries: 60\n"
    )
    result = run_dataset(job_for(tmp_path / "apart", 3, crowded, truth=False), ProcessPool(1))
    records = [json.loads(line) for line in result.manifest.read_text().splitlines()]
    assert all(r["status"] == "accepted" for r in records)
    assert sum(r["rejections"].get("apart", 0) for r in records) >= 1
    for record in records:
        at = record["plausibility"]["penetration_at"]
        assert at is None or at["frame"] > 0
        assert set(record["rejections"]) <= {"apart"}

    template = load_template(ROOT / "scenes" / "templates" / "thrown_balls.yaml")

    def overlap(item: Any) -> float:
        layout, frames = simulate(item.scene, frame_count=1)
        return Penetration(layout)(next(frames))[0]

    first_draws, chosen = 0, {}
    for index in range(20):
        attempt = 0
        while not judge_item(
            template.rules, item := sample(template, index, attempt=attempt)
        ).accepted:
            assert overlap(item) > 0
            attempt += 1
        assert overlap(item) == 0.0
        first_draws += attempt > 0
        chosen[index] = item
    # `sample` prints the draw that batch renders (apart needs no simulation)
    redrawn = next(index for index, item in chosen.items() if item.attempt > 0)
    assert main(["sample", str(template.file), "--seed", str(redrawn)]) == 0
    printed = capsys.readouterr().out
    assert f"# draw {chosen[redrawn].attempt}: " in printed
    (tmp_path / "item.yaml").write_text(printed)
    assert load_scene(tmp_path / "item.yaml") == chosen[redrawn].scene
    assert first_draws == 7  # (a draw is refused exactly when it overlaps: above)


def test_flow16_keeps_the_flow_as_float16_within_1_2048_of_itself(tmp_path: Path) -> None:
    """``--flow16``: the same items but the flow stored as float16, each value within
    1/2048 of the float32 flow's (round to nearest, 11 significant bits); the other
    truth arrays are unchanged, and the dataset refuses a resume without the option."""
    items = []
    for name, half in (("full", False), ("half", True)):
        run_dataset(job_for(tmp_path / name, 1, fmt="hdf5", flow16=half), ProcessPool(1))
        with h5py.File(tmp_path / name / "items" / "000000" / "clip.h5") as h5:
            items.append({key: h5[key][()] for key in ("ids", "flow", "boxes", "visible")})
    full, half = items
    assert full["flow"].dtype == np.float32 and half["flow"].dtype == np.float16
    moving = np.abs(full["flow"]) > 1e-3
    assert moving.mean() > 0.01  # the ball moves: there is flow to round
    error = np.abs(half["flow"].astype(np.float32) - full["flow"])
    assert np.all(error <= np.abs(full["flow"]) / 2048 + 2**-25)
    assert error[moving].max() > 0  # rounded indeed
    for key in ("ids", "boxes", "visible"):
        assert np.array_equal(full[key], half[key], equal_nan=True)
    with pytest.raises(DatasetError, match="flow is float16; resume it with --flow16"):
        run_dataset(job_for(tmp_path / "half", 1, fmt="hdf5"), ProcessPool(1))
    with pytest.raises(DatasetError, match="flow is float32; resume it without --flow16"):
        run_dataset(job_for(tmp_path / "full", 1, fmt="hdf5", flow16=True), ProcessPool(1))


def test_fsync_flushes_every_file_and_folder_of_an_item_and_changes_no_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--fsync``: every file and folder of each item, and the items folder after the
    commit, go through the real ``os.fsync`` (watched, not replaced); the dataset is
    byte-identical to one made without it."""
    synced: set[tuple[int, int]] = set()
    real = os.fsync

    def watched(handle: int) -> None:
        info = os.fstat(handle)
        synced.add((info.st_dev, info.st_ino))
        real(handle)

    run_dataset(job_for(tmp_path / "plain", 1, truth=False), ProcessPool(1))
    monkeypatch.setattr(os, "fsync", watched)
    run_dataset(job_for(tmp_path / "synced", 1, truth=False, fsync=True), ProcessPool(1))
    assert tree(tmp_path / "plain") == tree(tmp_path / "synced")
    items = tmp_path / "synced" / "items"
    paths = [items, *items.rglob("*")]
    assert len(paths) > 5
    for path in paths:
        info = path.stat()
        assert (info.st_dev, info.st_ino) in synced, path


def test_compression_none_keeps_the_same_frames_unfiltered_and_resumes_only_with_it(
    tmp_path: Path,
) -> None:
    """``--compression none``: the same pictures in ``clip.h5`` (and the shard) with no
    HDF5 filter; the choice is recorded, and a resume with another one is refused."""
    common = ["--count", "1", "--size", "64x48", "-q", "--workers", "1", "--format", "hdf5"]
    gz, raw = tmp_path / "gz", tmp_path / "raw"
    assert main(["batch", str(_template(tmp_path)), "--out", str(gz), *common]) == 0
    assert main(["batch", str(_template(tmp_path)), "--out", str(raw), *common,
                 "--compression", "none"]) == 0  # fmt: skip
    with h5py.File(gz / "items/000000/clip.h5") as a, h5py.File(raw / "items/000000/clip.h5") as b:
        assert a["frames"].compression == "gzip" and b["frames"].compression is None
        assert np.array_equal(a["frames"][()], b["frames"][()]) and a["frames"].shape[0] == 4
    with h5py.File(raw / "shards" / "data-000000.h5", "r") as h5:
        assert h5["000000/frames"].compression is None
    assert json.loads((raw / "dataset.json").read_text())["compression"] == "none"
    assert "compression" not in json.loads((gz / "dataset.json").read_text())
    with pytest.raises(DatasetError, match="--compression none"):
        tpl = _template(tmp_path)
        job = DatasetJob(str(tpl), tpl.read_text(), raw, 1, width=64, height=48, fmt="hdf5")
        run_dataset(job, ProcessPool(1))


def test_hdf5_chunks_deflated_by_zlib_ng_are_what_hdf5s_own_filters_store(
    tmp_path: Path,
) -> None:
    """``clip.h5``'s chunks are deflated by zlib-ng and written as they are, under HDF5's
    gzip and shuffle filters: h5py reads them back exactly; each chunk inflates (plain
    zlib) to what HDF5's own filters would store (shuffled bytes for floats); and a
    chunk's bytes depend on its data only, not on what was compressed before it."""
    from physics_scenes.output.shards import H5_OPTIONS, _chunked

    rng = np.random.default_rng(7)
    flow = (rng.normal(size=(3, 20, 24, 2)) * (rng.random((3, 20, 24, 1)) < 0.3)).astype(np.float32)
    frames = rng.integers(0, 4, size=(3, 20, 24, 3), dtype=np.uint8) * 60
    paths = [tmp_path / "ours.h5", tmp_path / "again.h5", tmp_path / "hdf5s.h5"]
    with h5py.File(paths[0], "w", **H5_OPTIONS) as h5:
        _chunked(h5, "flow", flow, 1)
        _chunked(h5, "frames", frames, 1)
    with h5py.File(paths[1], "w", **H5_OPTIONS) as h5:
        _chunked(h5, "noise", rng.normal(size=(4, 50, 50)), 1)  # other data first
        _chunked(h5, "flow", flow, 1)
        _chunked(h5, "frames", frames, 1)
    with h5py.File(paths[2], "w", **H5_OPTIONS) as h5:
        for name, array in (("flow", flow), ("frames", frames)):
            h5.create_dataset(name, data=array, chunks=(1, *array.shape[1:]), compression="gzip",
                              compression_opts=1, shuffle=array.dtype.itemsize > 1)  # fmt: skip
    with h5py.File(paths[0]) as ours, h5py.File(paths[1]) as again, h5py.File(paths[2]) as h5:
        for name, array in (("flow", flow), ("frames", frames)):
            mine, theirs = ours[name], h5[name]
            assert np.array_equal(mine[()], array) and mine.dtype == array.dtype
            assert (mine.compression, mine.shuffle) == ("gzip", array.dtype.itemsize > 1)
            for index in range(len(array)):
                at = (index, *(0,) * (array.ndim - 1))
                chunk = mine.id.read_direct_chunk(at)[1]
                assert zlib.decompress(chunk) == zlib.decompress(theirs.id.read_direct_chunk(at)[1])
                assert again[name].id.read_direct_chunk(at)[1] == chunk
    shuffled = zlib.decompress(h5py.File(paths[0])["flow"].id.read_direct_chunk((1, 0, 0, 0))[1])
    assert shuffled[: flow[1].size] == flow[1].view(np.uint8).reshape(-1, 4)[:, 0].tobytes()


def test_the_render_takes_the_world_its_judge_built_and_writes_the_same(tmp_path: Path) -> None:
    """With ``apart`` the judge builds the item's World and reads frame 0 only; the
    render takes that World (``WorkerCache``) instead of building it again, and writes
    the same states and metadata as a render with a World of its own. A World is taken
    once, and only for its own scene."""
    from physics_scenes.job.dataset import WorkerCache, judge_item
    from physics_scenes.job.pipeline import RenderJob, run
    from physics_scenes.scene.template import load_template

    template = load_template(ROOT / "scenes" / "templates" / "thrown_balls.yaml")
    cache = WorkerCache()
    item = sample(template, 0)
    assert judge_item(template.rules, item, cache).accepted
    other = sample(template, 1)
    assert cache.take(other.scene) is None  # not its scene: dropped
    assert judge_item(template.rules, item, cache).accepted
    kept = cache.take(item.scene)
    assert kept is not None and kept.step_index == 0 and cache.take(item.scene) is None
    outputs = []
    for name, world in (("own", None), ("taken", kept)):
        (tmp_path / name).mkdir()
        render = RenderJob(item.scene, tmp_path / name / "clip.jsonl", "states", 64, 64)
        result = run(render, world=world)
        outputs.append((result.run_hash, result.events,
                        (tmp_path / name / "clip.jsonl").read_bytes(),
                        (tmp_path / name / "clip.metadata.json").read_bytes()))  # fmt: skip
    assert kept.step_index > 0  # the render stepped the World it took
    assert outputs[0] == outputs[1] and outputs[0][1] > 0  # (it collides: events compared)
