"""A dataset: a template's items 0 … N−1 rendered into a folder, resumable after any crash.

Layout of ``OUT``::

    dataset.json          what decides the bytes (template hash, global seed, size, ...)
    template.yaml         the template's text, as used
    items/000042/         one folder per finished item: clip.mp4, clip.states.jsonl,
                          clip.metadata.json, clip.truth.npz (``job.ground_truth``),
                          clip.annotations.json (``job.annotate``) and item.json (its
                          record, with checksums)
    manifest.jsonl        every item's record in index order (written last)
    summary.json          the counts (accepted, rejected, attempts, rejections, labels)
    shards/               with --format webdataset or hdf5: the accepted clips packed
                          (``output.shards``), rebuilt from the items at the end

An item is rendered into a staging folder and renamed into ``items/`` in one step
(``output.atomic``): a folder there is complete, and a batch killed at any moment loses
nothing finished and leaves nothing half-written (the next run deletes the dead
staging). Resuming renders only the missing items. Each item's bytes come from the
template, the global seed and its index only, so any number of workers, in any order,
on any engine, writes the same files; the manifest is rebuilt from the item records in
index order.

An engine runs the items (``Engine``): ``job.engines.pool`` (processes on this machine)
or ``job.engines.ray_tasks`` (Ray tasks, on this machine or a cluster).
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from ..errors import RenderError, SceneError, SimulationError
from ..frame import Layout
from ..output.atomic import AtomicPath, NewFolder, TargetExistsError, recover
from ..output.shards import TAR_ORDER, ShardClip, add_clip_arrays, write_shards
from ..output.sink import DEFAULT_QUALITY
from ..physics.measure import Penetration
from ..physics.simulate import frames as stream
from ..physics.world import World
from ..picture.renderer import StaticLayers
from ..scene.files import sha256 as files_sha256
from ..scene.model import Scene
from ..scene.outcome import APART_TOLERANCE, Rules, Verdict, judge
from ..scene.template import Item, Template, parse_template, sample
from .ground_truth import TruthRecorder
from .pipeline import RenderJob, run

T = TypeVar("T")
R = TypeVar("R")
DATASET_FORMAT = "physics_scenes.dataset"
ITEM_FILE = "item.json"
CLIP = "clip.mp4"
FRAMES = "clip.npz"
ITEM_H5 = "clip.h5"
TRUTH = "clip.truth.npz"
NOTES = "clip.annotations.json"
STATES = "clip.states.jsonl"
TWIN = "counterfactual"


class Engine(Protocol):
    """Runs ``fn`` over tasks, yielding each result as it is ready (in any order)."""

    def map(self, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[R]: ...


class DatasetError(RenderError):
    """A dataset folder that cannot be written or resumed as asked (one line)."""


@dataclass(frozen=True, slots=True)
class DatasetJob:
    """Everything that decides a dataset's bytes, plus where it goes."""

    template_file: str
    template_text: str
    out: Path
    count: int
    global_seed: int = 0
    width: int = 256
    height: int = 256
    quality: str = DEFAULT_QUALITY
    audio: bool = False
    truth: bool = True
    """Write ``clip.truth.npz`` (ids, flow, boxes, visibility) beside each clip."""
    fsync: bool = False
    """Flush every item's files and folders to the disk before its commit, and the commit
    (the rename) after it (``--fsync``): items survive a power cut, complete or absent.
    It does not change any bytes, so a dataset may be resumed with or without it."""
    flow16: bool = False
    """Keep the flow as float16 (``--flow16``: half the bytes, each value within 1/2048
    of itself) instead of float32."""
    compression: str = "gzip"
    """How ``clip.h5`` keeps the frames (``--compression``): ``gzip`` (level 1) or ``none``
    (15x the bytes, ~2 ms less CPU a clip; ``output.shards.FRAMES_COMPRESSION``)."""
    fmt: str = "folder"
    """``folder`` (the items only), ``webdataset`` or ``hdf5`` (also shards of them)."""
    video: str | None = None
    """``mp4`` (``clip.mp4``, H.264) or ``frames`` (the pictures as an array, no encoder:
    ``clip.npz``, or ``clip.h5`` with ``hdf5``); None: ``frames`` for ``hdf5`` (PhyWorld's
    format), else ``mp4``."""
    shard_size: int = 1000
    assets: tuple[Path, ...] = ()
    """``--assets`` folders the template's files may also come from (``RenderJob.assets``)."""
    registry: Path | None = None
    """The blocklist every item is checked against before it is written (``RenderJob``)."""

    @classmethod
    def of(cls, template: Template, out: Path, count: int, **options: Any) -> DatasetJob:
        """The job for a loaded template (its text and file as read)."""
        return cls(template.file, template.text, Path(out), count, **options)

    @property
    def frames(self) -> bool:
        """Whether items hold their pictures as arrays (``clip_file``) instead of an MP4."""
        return (self.video or ("frames" if self.fmt == "hdf5" else "mp4")) == "frames"

    @property
    def clip_file(self) -> str:
        """An item's pictures: ``clip.mp4``; ``clip.npz`` (frames); ``clip.h5`` for
        ``hdf5`` frames (frames, states and ground truth in one file, compressed once)."""
        if not self.frames:
            return CLIP
        return ITEM_H5 if self.fmt == "hdf5" else FRAMES

    def settings(self) -> dict[str, Any]:
        """What ``dataset.json`` records; a resume must match it (the count may grow)."""
        template = _template(self.template_text, self.template_file)
        video: dict[str, Any] = {"width": self.width, "height": self.height,
                                 "quality": self.quality, "audio": self.audio}  # fmt: skip
        if self.frames:  # (absent for MP4 items: datasets made before it still resume)
            video["frames"] = self.clip_file
        return {
            "format": DATASET_FORMAT,
            "version": 1,
            "template": {"file": Path(self.template_file).name, "sha256": template.sha256},
            "global_seed": self.global_seed,
            "video": video,
            "truth": self.truth,
            # (absent for float32 flow: datasets made before it still resume)
            **({"flow": "float16"} if self.flow16 else {}),
            # (absent for gzip: datasets made before it still resume)
            **({"compression": self.compression} if self.compression != "gzip" else {}),
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class DatasetResult:
    rendered: int
    """Items rendered by this run."""
    skipped: int
    """Items already complete (from an earlier, interrupted run)."""
    manifest: Path


def item_name(index: int) -> str:
    """``items/<name>``: the index, zero-padded to six digits (more when needed)."""
    return f"{index:06d}"


def items_dir(out: Path) -> Path:
    return out / "items"


@functools.lru_cache(maxsize=4)
def _template(text: str, file: str) -> Template:
    """The parsed template, once per process (workers get the text, not the path)."""
    return parse_template(text, file)


class WorkerCache:
    """What a worker keeps between the items of one template: the static layers (walls)
    its clips share, drawn once instead of once a clip; and the World its judge built
    for the draw it accepted (``apart`` only: frame 0 read, nothing stepped), which that
    draw's render takes instead of building the same World again."""

    def __init__(self) -> None:
        self.layers = StaticLayers()
        self._world: tuple[Scene, World] | None = None

    def keep(self, scene: Scene, world: World) -> None:
        self._world = (scene, world)

    def take(self, scene: Scene) -> World | None:
        """The kept World if it is ``scene``'s (once: a World is rendered only once)."""
        kept, self._world = self._world, None
        return kept[1] if kept is not None and kept[0] is scene else None


@functools.lru_cache(maxsize=4)
def _cache(text: str, file: str) -> WorkerCache:
    """One ``WorkerCache`` a template and process (a worker's)."""
    return WorkerCache()


def render_item(task: tuple[DatasetJob, int]) -> dict[str, Any]:
    """Render item ``index`` into ``items/<name>`` atomically; return its record.

    An attempt whose scene is invalid, blows up, fails an ``accept`` condition or has
    another label than balance wants is drawn again (attempt 1, 2, ... each with its own
    seed), ``retries`` times at most; then the item is recorded as rejected, without a
    clip. Runs in a worker (a process of the pool, a Ray task) or in the command."""
    job, index = task
    template = _template(job.template_text, job.template_file)
    target = items_dir(job.out) / item_name(index)
    if (target / ITEM_FILE).is_file():
        return read_record(target)
    rules = template.rules
    wanted = rules.balance[index % len(rules.balance)] if rules.balance else None
    rejections: Counter[str] = Counter()
    cache = _cache(job.template_text, job.template_file)
    for attempt in range(rules.retries + 1):
        try:
            item = sample(template, index, job.global_seed, attempt=attempt)
            verdict = judge_item(rules, item, cache)
        except SceneError:
            rejections["invalid scene"] += 1
            continue
        except SimulationError:
            rejections["blew up"] += 1
            continue
        if not verdict.accepted:
            rejections.update(verdict.failed)
            continue
        if wanted is not None and verdict.label != wanted:
            rejections[f"label {verdict.label}"] += 1
            continue
        record = {
            "index": index, "name": item_name(index), "status": "accepted", "seed": item.seed,
            "attempts": attempt + 1, "rejections": dict(sorted(rejections.items())),
            "label": verdict.label, "values": dict(item.values),
        }  # fmt: skip
        try:
            return _write_item(job, template, item, target, record)
        except SimulationError:  # the render's own checks (its camera, its clock)
            rejections["blew up"] += 1
    record = {
        "index": index, "name": item_name(index), "status": "rejected",
        "attempts": rules.retries + 1, "rejections": dict(sorted(rejections.items())),
    }  # fmt: skip
    return _write_item(job, template, None, target, record)


def judge_item(rules: Rules, item: Item, cache: WorkerCache | None = None) -> Verdict:
    """The rules' verdict; with ``apart``, an item whose bodies overlap at the start is
    refused before it is simulated (its other conditions are then not checked).
    ``cache``: where a World judged without a step is kept for the item's render."""
    if not (rules.simulates or rules.apart):
        return judge(rules, _NO_LAYOUT, (), item.values)
    # one World: frame 0 is read before any step, then the stream goes on from it (or,
    # judged on frame 0 alone, the World is kept for the render)
    world, timing = World(item.scene), item.scene.timing
    count = timing.frame_count if rules.simulates else 1
    layout, frames = world.layout, stream(world, count, timing.fps, timing.substeps)
    overlap = 0.0
    if rules.apart:
        first = next(frames)
        overlap = Penetration(layout)(first)[0]
        if overlap > APART_TOLERANCE:
            return Verdict(False, ("apart",), None)
        frames = itertools.chain([first], frames)
        if cache is not None and not rules.simulates and not first.events:
            cache.keep(item.scene, world)  # as new: read, not stepped, no event drained
    if not rules.simulates:
        return judge(rules, layout, (), item.values, overlap)
    return judge(rules, layout, frames, item.values, overlap)


def chosen_draw(template: Template, index: int, global_seed: int = 0) -> Item | None:
    """The draw of item ``index`` that ``render_item`` renders, when the rules decide it
    without simulating (``apart``, a variable's label and balance: ``sample`` prints it);
    None when they need the simulation, or when every draw is refused."""
    rules = template.rules
    if rules.simulates:
        return None
    wanted = rules.balance[index % len(rules.balance)] if rules.balance else None
    for attempt in range(rules.retries + 1):
        try:
            item = sample(template, index, global_seed, attempt=attempt)
            verdict = judge_item(rules, item)
        except (SceneError, SimulationError):  # refused as render_item refuses them
            continue
        if verdict.accepted and (wanted is None or verdict.label == wanted):
            return item
    return None


_NO_LAYOUT = Layout((), (0.0, 0.0), (1.0, 1.0), (0, 0, 0), (0.0, 0.0))


def _write_item(
    job: DatasetJob, template: Template, item: Item | None, target: Path, record: dict[str, Any]
) -> dict[str, Any]:
    """Render ``item`` (None: a rejected item, its record only), and its counterfactual
    twin into ``counterfactual/`` when the rules ask for one; commit the folder."""
    folder = NewFolder(target)
    try:
        if item is not None:
            record |= _render_clip(job, template, item.scene, folder.temp)
            twin_spec = template.rules.counterfactual
            if twin_spec is not None:
                twin = sample(template, item.index, job.global_seed, attempt=item.attempt,
                              overrides={twin_spec.variable: twin_spec.value})  # fmt: skip
                (folder.temp / TWIN).mkdir()
                twin_record = _render_clip(job, template, twin.scene, folder.temp / TWIN)
                record["counterfactual"] = {
                    "folder": TWIN, "variable": twin_spec.variable, "value": twin_spec.value,
                    "values": dict(twin.values), **twin_record,
                }  # fmt: skip
        (folder.temp / ITEM_FILE).write_text(record_line(record) + "\n", encoding="utf-8")
        if job.fsync:
            sync_tree(folder.temp)
        folder.commit()
        if job.fsync:
            _sync(target.parent)
    except TargetExistsError:
        folder.discard()
        if (target / ITEM_FILE).is_file():  # another run finished it meanwhile: same bytes
            return read_record(target)
        raise
    except BaseException:
        folder.discard()
        raise
    return record


def _render_clip(job: DatasetJob, template: Template, scene: Scene, into: Path) -> dict[str, Any]:
    """The clip, its ground truth and annotations in ``into``; their record fields."""
    source = Path(job.template_file) if template.base_dir is not None else None
    render = RenderJob(
        scene, into / job.clip_file, "frames" if job.frames else "mp4",
        job.width, job.height, job.quality,
        source=source, audio=("wav" if job.frames else "auto") if job.audio else "none",
        parallel=False, staged=False, frames_compression=job.compression,
        assets=job.assets, registry=job.registry,
    )  # fmt: skip
    recorder = TruthRecorder(job.width, job.height, pixels=job.truth, flow16=job.flow16)
    cache = _cache(job.template_text, job.template_file)
    result = run(render, observers=[recorder], layers=cache.layers, world=cache.take(scene))
    files = [*result.files, into / NOTES]
    notes = recorder.notes()
    text = json.dumps(notes, sort_keys=True, indent=1) + "\n"
    (into / NOTES).write_text(text, "utf-8")
    if job.clip_file == ITEM_H5:  # the states, annotations and truth join the frames
        arrays = recorder.arrays() if job.truth else None
        add_clip_arrays(into / ITEM_H5, recorder.states(), text, arrays)
    elif job.truth:
        recorder.write(into / TRUTH)
        files.append(into / TRUTH)
    return {
        "frames": result.frames, "events": result.events, "run_hash": result.run_hash,
        "plausibility": notes["plausibility"],
        "files": {path.name: files_sha256(path) for path in sorted(files)},
    }  # fmt: skip


def sync_tree(folder: Path) -> None:
    """``fsync`` every file below ``folder``, then every folder, deepest first (a file's
    name is durable once its folder is)."""
    for root, _folders, names in sorted(os.walk(folder), reverse=True):
        for name in names:
            _sync(Path(root) / name)
        _sync(Path(root))


def _sync(path: Path) -> None:
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def record_line(record: dict[str, Any]) -> str:
    """An item's record as one line of JSON: ``item.json``'s text and the manifest's."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


def read_record(folder: Path) -> dict[str, Any]:
    record: dict[str, Any] = json.loads((folder / ITEM_FILE).read_text(encoding="utf-8"))
    return record


def prepare(job: DatasetJob) -> set[int]:
    """Write or check ``dataset.json`` and the template copy; the indices already done."""
    settings = job.settings()
    job.out.mkdir(parents=True, exist_ok=True)
    record = job.out / "dataset.json"
    if record.exists():
        try:
            found = json.loads(record.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise DatasetError(f"{record}: not a dataset record ({error})") from None
        if not isinstance(found, dict) or found.get("format") != DATASET_FORMAT:
            raise DatasetError(f"{record} is not a physics_scenes dataset record")
        if found.get("compression", "gzip") != settings.get("compression", "gzip"):
            raise DatasetError(
                f"{job.out} holds a dataset whose frames are stored with compression "
                f"{found.get('compression', 'gzip')}; resume it with --compression "
                f"{found.get('compression', 'gzip')}"
            )
        if found.get("flow", "float32") != settings.get("flow", "float32"):
            raise DatasetError(
                f"{job.out} holds a dataset whose flow is {found.get('flow', 'float32')}; "
                f"resume it with{'' if 'flow' in found else 'out'} --flow16"
            )
        for key, value in settings.items():
            if found.get(key) != value:
                held = found[key].get("frames", CLIP) if isinstance(found.get(key), dict) else None
                if key == "video" and held is not None and held != job.clip_file:
                    raise DatasetError(
                        f"{job.out} holds a dataset whose items are {held}, not "
                        f"{job.clip_file}; resume it with --video "
                        f"{'frames' if held != CLIP else 'mp4'} (and the same --format)"
                    )
                raise DatasetError(
                    f"{job.out} holds a dataset made with another {key} ({found.get(key)!r}, "
                    f"not {value!r}); use another folder or the same settings to resume it"
                )
    else:
        ours = ("items",)  # and the staging of a first run killed before dataset.json
        names = os.listdir(job.out)
        if any(name not in ours and not name.startswith(".ps-") for name in names):
            raise DatasetError(f"{job.out} is not empty and holds no dataset; not writing there")
        _write_atomic(record, json.dumps(settings, indent=2) + "\n")
    if not (job.out / "template.yaml").is_file():  # written second: a kill may come between
        _write_atomic(job.out / "template.yaml", job.template_text)
    items = items_dir(job.out)
    items.mkdir(exist_ok=True)
    recover(items)  # dead runs' staging: rolled back, or (past the commit point) deleted
    done = set()
    with os.scandir(items) as entries:
        for entry in entries:
            if entry.name.isdigit() and entry.is_dir(follow_symlinks=False):
                done.add(int(entry.name))
    return done


def _write_atomic(path: Path, text: str) -> None:
    out = AtomicPath(path)
    try:
        out.temp.write_text(text, encoding="utf-8")
        out.commit()
    except BaseException:
        out.discard()
        raise


def run_dataset(
    job: DatasetJob, engine: Engine, progress: Callable[[int, int], None] | None = None
) -> DatasetResult:
    """Render every missing item of ``job`` with ``engine``; the manifest, the summary and
    the shards are written in index order as the items finish (``_Collector``)."""
    done = prepare(job)
    skipped = len([index for index in done if index < job.count])
    todo = (index for index in range(job.count) if index not in done)
    finished = skipped
    if progress is not None:
        progress(finished, job.count)
    collector = _Collector(job, done)
    try:
        for index, line in engine.map(render_entry, ((job, index) for index in todo)):
            collector.add(index, line)
            finished += 1
            if progress is not None:
                progress(finished, job.count)
        manifest = collector.finish()
    except BaseException:
        collector.abort()
        raise
    return DatasetResult(finished - skipped, skipped, manifest)


def render_entry(task: tuple[DatasetJob, int]) -> tuple[int, str]:
    """``render_item`` in a worker, its record returned as its manifest line: the JSON of
    ``item.json`` read back (what ``_Collector`` would make of the file), made there and
    not in the command, which collects every worker's items."""
    return task[1], record_line(json.loads(record_line(render_item(task))))


class _Collector:
    """The command's side of a batch: each item's manifest line, counted for the summary,
    and its clip handed to the shard writer (a thread), in index order as the items finish
    (any order): at most the items in flight wait here, so memory stays flat. The items
    an earlier run finished are read from their ``item.json`` when their turn comes."""

    def __init__(self, job: DatasetJob, done: set[int]) -> None:
        self.job, self.done = job, done
        self.waiting: dict[int, str] = {}
        self.next = 0
        self.statuses: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()
        self.labels: Counter[str] = Counter()
        self.attempts = 0
        self.target = AtomicPath(job.out / "manifest.jsonl")
        try:
            self.stream = open(self.target.temp, "w", encoding="utf-8")  # noqa: SIM115
        except BaseException:
            self.target.discard()
            raise
        self.shards = _ShardWriter(job) if job.fmt != "folder" else None

    def add(self, index: int, line: str) -> None:
        """Item ``index``'s line (from ``render_entry``); writes every line now in order."""
        self.waiting[index] = line
        self._advance()

    def _advance(self, last: bool = False) -> None:
        """Write the lines from ``next`` on while they are here (``last``: all of them;
        one that never came is read from its folder, or missing: ``DatasetError``)."""
        while self.next < self.job.count:
            if self.next in self.waiting:
                self._write(self.waiting.pop(self.next))
            elif self.next in self.done or last:
                self._write(self._read(self.next))
            else:
                return
            self.next += 1

    def _read(self, index: int) -> str:
        folder = items_dir(self.job.out) / item_name(index)
        if not (folder / ITEM_FILE).is_file():
            raise DatasetError(f"{folder} has no {ITEM_FILE}; delete the folder and resume")
        return record_line(read_record(folder))

    def _write(self, line: str) -> None:
        record = json.loads(line)
        self.stream.write(line + "\n")
        self.statuses[record["status"]] += 1
        self.reasons.update(record["rejections"])
        self.attempts += record["attempts"]
        if record.get("label") is not None:
            self.labels[str(record["label"])] += 1
        if self.shards is not None and record["status"] == "accepted":
            self.shards.add(_clip(self.job.out, record))

    def finish(self) -> Path:
        """Commit ``manifest.jsonl`` and ``summary.json`` (the counts: accepted, rejected,
        attempts, rejections by reason, labels), then wait for the last shard."""
        self._advance(last=True)  # the items an earlier run finished, after the last new one
        self.stream.close()
        summary = {
            "items": self.job.count, "accepted": self.statuses["accepted"],
            "rejected": self.statuses["rejected"], "attempts": self.attempts,
            "rejections": dict(sorted(self.reasons.items())),
            "labels": dict(sorted(self.labels.items())),
        }  # fmt: skip
        _write_atomic(self.job.out / "summary.json", json.dumps(summary, indent=2) + "\n")
        self.target.commit()
        if self.shards is not None:
            self.shards.finish()
        return self.target.target

    def abort(self) -> None:
        """Nothing of this run's manifest or unfinished shard stays (the items do)."""
        self.stream.close()
        self.target.discard()
        if self.shards is not None:
            self.shards.abort()


def _clip(out: Path, record: dict[str, Any]) -> ShardClip:
    """An accepted item as a shard entry (its folder listed once, not a look a member)."""
    folder = items_dir(out) / record["name"]
    with os.scandir(folder) as entries:
        files = {entry.name[5:]: folder / entry.name for entry in entries
                 if entry.name[5:] in TAR_ORDER and entry.name.startswith("clip.")
                 and entry.is_file()}  # fmt: skip
    return ShardClip(record["name"], record, files)


_END = ShardClip("", {}, {})
"""Put last: the shard writer finishes."""
_STOP = ShardClip("", {}, {})
"""Put last: the shard writer stops and discards its unfinished shard."""


class _Stopped(Exception):
    """The batch failed: the shard being written is discarded."""


class _ShardWriter:
    """``write_shards`` in a thread of its own, fed the accepted clips in index order while
    the workers render the next ones: at the end only the last clips are left to copy
    (HDF5: ~1 ms of CPU a clip, which a command writing them all after the items made the
    workers wait for). At most 64 clips wait for it."""

    def __init__(self, job: DatasetJob) -> None:
        self.clips: queue.Queue[ShardClip] = queue.Queue(maxsize=64)
        self.error: BaseException | None = None
        self.told = False
        """Whether the writer has taken ``_END`` or ``_STOP`` (nothing comes after it)."""
        self.thread = threading.Thread(
            target=self._write, args=(job.out / "shards", job.fmt, job.shard_size),
            name="shards", daemon=True,
        )  # fmt: skip
        self.thread.start()

    def _take(self) -> Iterator[ShardClip]:
        while (clip := self.clips.get()) is not _END:
            if clip is _STOP:
                self.told = True
                raise _Stopped
            yield clip
        self.told = True

    def _write(self, folder: Path, fmt: str, size: int) -> None:
        try:
            write_shards(folder, self._take(), fmt, size)
        except BaseException as error:  # raised in the command by finish()
            self.error = error
            while not self.told:  # the command may still be adding: take it all
                self.told = self.clips.get() in (_END, _STOP)

    def add(self, clip: ShardClip) -> None:
        self.clips.put(clip)

    def finish(self) -> None:
        self.clips.put(_END)
        self.thread.join()
        if self.error is not None:
            raise self.error

    def abort(self) -> None:
        if self.thread.is_alive():
            self.clips.put(_STOP)
            self.thread.join()
