"""The batch planner and runner as a library: plans made and run without a model or the CLI.

Planning reads names, never pixels, so most inputs here are empty files named like photos or videos.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from weatherclean.batch import (
    FrameProgress,
    Job,
    MediaOptions,
    OutputFormat,
    Plan,
    Record,
    Restoration,
    default_output,
    job_handler,
    parse_shard,
    plan_batch,
    plan_clips,
    plan_jobs,
    plan_media,
    run_jobs,
)
from weatherclean.errors import InputError


def _touch(*paths: Path) -> None:
    """Files that exist and hold something (an empty output counts as not done)."""
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")


def _photo(path: Path, value: int = 100) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((6, 8, 3), value, np.uint8)).save(path)


def _names(plan: Plan) -> list[str]:
    return [j.source.name for j in plan.jobs]


def test_a_folder_with_a_shard_splits_it_and_resumes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _touch(*(Path("in") / f"p{i:02d}.jpg" for i in range(30)))
    shards = [plan_jobs(["in"], "out", shard=(k, 4)) for k in range(1, 5)]
    assert sorted(n for plan in shards for n in _names(plan)) == [f"p{i:02d}.jpg" for i in range(30)]
    assert all(plan.other_shards == 30 - len(plan.jobs) for plan in shards)
    assert shards == [plan_jobs(["in"], "out", shard=(k, 4)) for k in range(1, 5)]  # the same on a rerun
    done = shards[1].jobs[0]
    _touch(done.output)  # finished by an earlier run: resumed past, not redone
    again = plan_jobs(["in"], "out", shard=(2, 4))
    assert _names(again) == _names(shards[1])[1:]
    assert again.skipped == [Record(Path("in") / done.source.name, f"output exists: out/{done.source.name} "
                                    "(use --overwrite to redo)")]  # fmt: skip
    assert _names(plan_jobs(["in"], "out", shard=(2, 4), overwrite=True)) == _names(shards[1])


def test_shards_split_alike_however_the_folder_is_typed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One task given ``photos`` and another ``/abs/photos`` split the batch differently: some photos were
    done twice and others by no one, without a word."""
    monkeypatch.chdir(tmp_path)
    _touch(*(Path("photos/sub") / f"p{i:02d}.jpg" for i in range(30)))
    typed = ["photos", "./photos/", str(tmp_path / "photos")]
    splits = [[sorted(_names(plan_jobs([t], "out", shard=(k, 3)))) for k in range(1, 4)] for t in typed]
    assert splits[0] == splits[1] == splits[2]
    assert sorted(n for names in splits[0] for n in names) == [f"p{i:02d}.jpg" for i in range(30)]
    monkeypatch.chdir(tmp_path / "photos")  # the folder itself, as "."
    assert [sorted(_names(plan_jobs(["."], "../out", shard=(k, 3)))) for k in range(1, 4)] == splits[0]


def test_a_skipped_or_failed_file_is_reported_by_its_own_shard_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every task of an array reported the same bad entries, so one bad file made every task exit 1."""
    monkeypatch.chdir(tmp_path)
    _touch(*(Path("in") / f"p{i:02d}.jpg" for i in range(6)), *(Path("in") / f"n{i}.txt" for i in range(6)))
    for i in range(6):
        (tmp_path / "in" / f"empty{i}.jpg").mkdir()  # a folder named like a photo: a failure
    plans = [plan_jobs(["in", "missing"], "out", shard=(k, 3)) for k in range(1, 4)]
    skipped = [r.path.name for plan in plans for r in plan.skipped]
    failed = [r.path.name for plan in plans for r in plan.failed if r.path.name != "missing"]
    assert sorted(skipped) == [f"n{i}.txt" for i in range(6)]
    assert sorted(failed) == [f"empty{i}.jpg" for i in range(6)]
    assert all(any(r.path.name == "missing" for r in plan.failed) for plan in plans)  # the command line's own


def test_frames_clips_and_their_bad_entries_are_split_by_shard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--frames: each clip, and each bad entry, belongs to one shard whatever way the folder is typed, and a
    link to the folder of clips splits like the folder (the shard is named by the link, not its target)."""
    monkeypatch.chdir(tmp_path)
    for c in range(12):
        _touch(*(Path("clips") / f"c{c:02d}" / f"{i:05d}.png" for i in range(2)), Path("clips") / f"c{c:02d}" / "n.txt")
    (tmp_path / "clips" / "bad.jpg").mkdir()
    (tmp_path / "elsewhere").mkdir()
    os.symlink("../clips", "elsewhere/clips")  # another machine's mount: "clips" links to the real folder

    def split(given: str) -> list[tuple[list[str], list[str], list[str]]]:
        plans = [plan_clips([given], tmp_path / "out" / given.strip("/."), tag="derained", shard=(k, 3))
                 for k in range(1, 4)]  # fmt: skip
        return [(sorted(j.source.name for j in p.jobs), sorted(r.path.parent.name for r in p.skipped),
                 [r.path.name for r in p.failed]) for p in plans]  # fmt: skip

    shards = split("clips")
    assert shards == split("./clips/") == split(str(tmp_path / "clips"))
    assert sorted(n for jobs, _, _ in shards for n in jobs) == [f"c{c:02d}" for c in range(12)]
    assert sorted(n for _, skipped, _ in shards for n in skipped) == [f"c{c:02d}" for c in range(12)]  # n.txt
    assert sum(failed == ["bad.jpg"] for _, _, failed in shards) == 1
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert [jobs for jobs, _, _ in split("clips")] == [jobs for jobs, _, _ in shards]


def test_a_file_reached_by_two_paths_is_done_by_one_shard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Shards hash paths as walked; a link beside each photo must not let two shards do the same photo."""
    monkeypatch.chdir(tmp_path)
    _touch(*(Path("in/photos") / f"p{i:02d}.jpg" for i in range(24)))
    Path("in/album").mkdir()
    for i in range(24):
        os.symlink(f"../photos/p{i:02d}.jpg", f"in/album/cover{i:02d}.jpg")
    shards = [plan_jobs(["in"], "out", shard=(k, 4)) for k in range(1, 5)]
    done = [job.source.resolve() for plan in shards for job in plan.jobs]
    assert len(done) == len(set(done)) == 24
    assert all(job.source.parent.name == "photos" for plan in shards for job in plan.jobs)


def test_a_collision_is_refused_before_any_work(tmp_path: Path) -> None:
    _touch(tmp_path / "in" / "a.jpg", tmp_path / "in" / "a.png", tmp_path / "in" / "b.jpg")
    assert len(plan_jobs([tmp_path / "in"], tmp_path / "out")) == 3  # different names: no collision
    with pytest.raises(InputError, match="differ only in the extension"):
        plan_jobs([tmp_path / "in"], tmp_path / "out", format="PNG")
    _touch(tmp_path / "other" / "b.jpg")
    with pytest.raises(InputError, match="would be written here; give each input its own -o folder"):
        plan_jobs([tmp_path / "in" / "b.jpg", tmp_path / "other" / "b.jpg"], tmp_path / "out")
    with pytest.raises(InputError, match="output would overwrite an input"):
        plan_jobs([tmp_path / "in" / "a.jpg", tmp_path / "in"], tmp_path / "in")
    # More collisions, one output thrice: every output said once, at once, and every input that lands on the first.
    _touch(tmp_path / "in" / "a.tif", tmp_path / "in" / "c.jpg", tmp_path / "in" / "c.ppm")
    also = r"\(and 1 more output\(s\) with the same problem: [^,]*c\.png\)$"
    three = r"a\.png: \S*a\.jpg, \S*a\.png and \S*a\.tif would all be written here; .*rename all but one.*"
    with pytest.raises(InputError, match=three + also):
        plan_jobs([tmp_path / "in"], tmp_path / "out", format="PNG")
    assert not (tmp_path / "out").exists()  # planning writes nothing


def test_the_output_naming_rule(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    _touch(photos / "a.jpg", photos / "trip" / "b.jpeg", tmp_path / "single.png")
    plan = plan_jobs([photos, tmp_path / "single.png"], tag="derained")
    outputs = {j.source.name: j.output for j in plan.jobs}
    assert outputs == {
        "a.jpg": tmp_path / "photos_derained" / "a.jpg",  # a folder → its sibling, tree mirrored
        "b.jpeg": tmp_path / "photos_derained" / "trip" / "b.jpeg",
        "single.png": tmp_path / "derained" / "single.png",  # a file → a folder beside it
    }
    plan = plan_jobs([photos, tmp_path / "single.png"], tmp_path / "o", format="JPEG")
    assert sorted(j.output.relative_to(tmp_path / "o").as_posix() for j in plan.jobs) == [
        "a.jpg", "single.jpg", "trip/b.jpeg",  # -o mirrors folders, single files land in it; .jpeg is JPEG
    ]  # fmt: skip
    assert default_output(photos / "a.jpg", folder=None, tag="x") == photos / "x" / "a.jpg"


def test_a_linked_file_named_by_itself_goes_beside_the_link(tmp_path: Path) -> None:
    """``desnow inbox/cover.jpg``, a link to ``../photos/p1.jpg``, wrote ``photos/desnowed/p1.jpg``: into the
    link target's folder (an archive, another user's tree) under the target's name. Walking ``inbox`` or
    passing ``-o`` used the link's name; so does naming the file now."""
    _touch(tmp_path / "photos" / "p1.jpg")
    (tmp_path / "inbox").mkdir()
    os.symlink("../photos/p1.jpg", tmp_path / "inbox" / "cover.jpg")
    plan = plan_jobs([tmp_path / "inbox" / "cover.jpg"])
    assert [j.output for j in plan.jobs] == [tmp_path / "inbox" / "desnowed" / "cover.jpg"]


def test_walks_never_read_outputs_or_our_own_files(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    _touch(photos / "a.jpg", photos / "desnowed" / "old.jpg", photos / "x_desnowed" / "old.jpg")
    _touch(photos / "a.jpg.compare.jpg", photos / "clip.partial.mp4", photos / "notes.txt")
    plan = plan_jobs([photos])
    assert _names(plan) == ["a.jpg"]
    assert plan.skipped == [Record(photos / "notes.txt", "not an image file (by name)")]


def test_camera_video_endings_are_videos_and_skips_say_what_a_video_needs(tmp_path: Path) -> None:
    """AVCHD (.MTS, .m2ts) and .3gp clips were skipped as "not an image or video file (by name)"; a video
    given to desnow, or a video named without an ending, said nothing of why."""
    folder = tmp_path / "cam"
    _touch(folder / "00001.MTS", folder / "00002.m2ts", folder / "old.3gp")
    assert _names(plan_media([folder], tag="derained")) == ["00001.MTS", "00002.m2ts", "old.3gp"]
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\0\0\0\x18ftypisom" + bytes(16))
    assert plan_jobs([clip]).skipped == [Record(clip, "a video; this plan takes photos only (plan_media plans videos)")]
    bare = tmp_path / "dashcam"
    bare.write_bytes(clip.read_bytes())
    (record,) = plan_media([bare], tag="derained").skipped
    assert record.reason == "a video without a file ending; rename it (e.g. dashcam.mp4) to process it"


def test_bad_arguments_are_one_line_errors(tmp_path: Path) -> None:
    assert parse_shard("3/8") == (3, 8)
    for bad in ("0/2", "3/2", "2", "a/b", "1/"):
        with pytest.raises(InputError, match="expected K/N"):
            parse_shard(bad)
    _touch(tmp_path / "a.jpg")
    with pytest.raises(InputError, match="cannot be combined with -o"):
        plan_jobs([tmp_path / "a.jpg"], tmp_path / "out", in_place=True)
    with pytest.raises(InputError, match="cannot change a photo's format"):
        plan_jobs([tmp_path / "a.jpg"], in_place=True, format="PNG")
    with pytest.raises(InputError, match="--in-place cannot be used with --frames"):
        plan_media([tmp_path], tag="derained", media=MediaOptions(frames=True), in_place=True)
    plan = plan_jobs([tmp_path / "nothing", str(tmp_path / "*.tif")])
    assert [r.reason for r in plan.failed] == ["file or folder not found", "no files match this pattern"]
    assert plan.missing_only() == plan.failed


def test_media_plans_give_each_job_its_kind(tmp_path: Path) -> None:
    _touch(tmp_path / "in" / "a.jpg", tmp_path / "in" / "clip.mp4", tmp_path / "in" / "c1" / "001.png")
    _touch(tmp_path / "in" / "c1" / "002.png", tmp_path / "in" / "c2" / "f1.jpg")
    files = plan_media([tmp_path / "in"], tag="derained", formats=OutputFormat.parse("mkv", videos=True))
    assert {(j.source.name, j.kind, j.output.name) for j in files.jobs} == {
        ("a.jpg", "photo", "a.jpg"), ("clip.mp4", "video", "clip.mkv"), ("001.png", "photo", "001.png"),
        ("002.png", "photo", "002.png"), ("f1.jpg", "photo", "f1.jpg"),
    }  # fmt: skip
    assert _names(plan_batch([tmp_path / "in"], tag="desnowed")) == ["a.jpg", "001.png", "002.png", "f1.jpg"]
    (tmp_path / "in" / "a.jpg").unlink()
    clips = plan_media([tmp_path / "in"], tag="derained", media=MediaOptions(frames=True))
    out = tmp_path / "in_derained"
    assert [(j.source.name, j.kind, j.output) for j in clips.jobs] == [
        ("clip.mp4", "video", out / "clip.mp4"), ("c1", "frames", out / "c1"), ("c2", "frames", out / "c2"),
    ]  # fmt: skip
    assert plan_batch([tmp_path / "in"], tag="derained", media=MediaOptions(frames=True)) == clips


def test_two_clips_for_one_output_folder_are_refused(tmp_path: Path) -> None:
    _touch(tmp_path / "in" / "1.png", tmp_path / "in" / "in" / "1.png")  # loose frames beside a clip of one name
    with pytest.raises(InputError, match="both clips .* would be written here; give the loose frames"):
        plan_clips([tmp_path / "in"], tmp_path / "out", tag="derained")
    plan = plan_clips([tmp_path / "in" / "in"], tmp_path / "out", tag="derained")
    assert [j.output for j in plan.jobs] == [tmp_path / "out" / "in"]  # never -o itself: it is replaced whole


def test_a_plan_runs_through_the_handler_of_each_kind(tmp_path: Path) -> None:
    _photo(tmp_path / "in" / "a.png", 100)
    _photo(tmp_path / "in" / "b.png", 50)
    _touch(tmp_path / "in" / "broken.png", tmp_path / "in" / "notes.txt")
    plan = plan_jobs([tmp_path / "in"], tmp_path / "out")
    plan.jobs.append(Job(tmp_path / "in" / "clip.mp4", tmp_path / "out" / "clip.mp4", kind="video"))

    def invert(image: object) -> np.ndarray:
        return 1.0 - image.pixels  # type: ignore[attr-defined]

    summary = run_jobs(plan, job_handler(Restoration(photo=invert)), progress=False)
    assert [j.source.name for j in summary.done] == ["a.png", "b.png"]
    assert [r.path.name for r in summary.skipped] == ["notes.txt"]  # the plan's records come first
    assert [r.path.name for r in summary.failed] == ["broken.png", "clip.mp4"]  # the batch went on
    assert "cannot process a video job here" in summary.failed[1].reason
    assert np.asarray(Image.open(tmp_path / "out" / "a.png")).max() == 155
    assert not summary.ok


def test_ctrl_c_lists_what_is_left_and_a_rerun_resumes(tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        _photo(tmp_path / "in" / f"{name}.png")
    calls: list[str] = []

    def stop_at_b(job: Job, _progress: FrameProgress) -> list[str]:
        calls.append(job.source.name)
        if job.source.name == "b.png":
            raise KeyboardInterrupt
        _photo(job.output)
        return []

    summary = run_jobs(plan_jobs([tmp_path / "in"], tmp_path / "out"), stop_at_b, progress=False)
    assert summary.interrupted and not summary.failed and [r.path.name for r in summary.not_done] == ["b.png", "c.png"]
    assert sorted(os.listdir(tmp_path / "out")) == ["a.png"]
    rerun = plan_jobs([tmp_path / "in"], tmp_path / "out")
    assert _names(rerun) == ["b.png", "c.png"] and [r.path.name for r in rerun.skipped] == ["a.png"]


def test_an_empty_file_at_an_output_path_is_redone_not_skipped(tmp_path: Path) -> None:
    """weatherclean never leaves an empty output (it renames whole files into place), so an empty one is
    another program's (a copy that ran out of space, a sync placeholder) and must not pass as done."""
    _photo(tmp_path / "in" / "a.png", 100)
    _photo(tmp_path / "in" / "b.png", 50)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.png").write_bytes(b"")
    _photo(tmp_path / "out" / "b.png", 7)  # a real output: skipped
    plan = plan_jobs([tmp_path / "in"], tmp_path / "out")
    assert _names(plan) == ["a.png"] and [r.path.name for r in plan.skipped] == ["b.png"]
    (tmp_path / "out" / "b.png").write_bytes(b"")  # emptied after planning, before its turn: done now
    plan.jobs.append(Job(tmp_path / "in" / "b.png", tmp_path / "out" / "b.png"))

    def invert(image: object) -> np.ndarray:
        return 1.0 - image.pixels  # type: ignore[attr-defined]

    summary = run_jobs(plan, job_handler(Restoration(photo=invert)), progress=False)
    assert [j.source.name for j in summary.done] == ["a.png", "b.png"]
    assert np.asarray(Image.open(tmp_path / "out" / "a.png")).max() == 155
    assert np.asarray(Image.open(tmp_path / "out" / "b.png")).max() == 205


_GIF = "GIF images are not supported; convert to PNG, JPEG or TIFF first"


def test_a_photo_named_without_an_ending_is_taken_by_its_content_when_named(tmp_path: Path) -> None:
    """Named on the command line, a PNG called 'scan' is a photo; a text file called 'README' is not, and a
    folder walk still goes by names."""
    (tmp_path / "in").mkdir()
    Image.fromarray(np.full((6, 8, 3), 100, np.uint8)).save(tmp_path / "in" / "scan", format="PNG")
    (tmp_path / "in" / "README").write_text("not a picture")
    Image.new("RGB", (4, 4)).save(tmp_path / "in" / "anim", format="GIF")
    given = [str(tmp_path / "in" / name) for name in ("scan", "README", "anim")]
    plan = plan_jobs(given, str(tmp_path / "out"))
    assert _names(plan) == ["scan"]
    assert [r.reason for r in plan.skipped] == ["not an image file (by name)", _GIF]
    assert _names(plan_jobs([str(tmp_path / "in")], str(tmp_path / "out"))) == []


def test_clips_given_side_by_side_each_get_their_own_folder(tmp_path: Path) -> None:
    """``--frames x/clipA y/clipB -o out`` was refused as a clash on ``out/0000.png``, though each clip goes to a
    folder of its name in ``-o``: the frames of a folder given now go there too, so only clips of one name clash."""
    _touch(*(tmp_path / clip / f"{i:04}.png" for clip in ("x/clipA", "y/clipB") for i in range(2)))
    plan = plan_clips([tmp_path / "x" / "clipA", tmp_path / "y" / "clipB"], tmp_path / "out", tag="derained")
    assert sorted((j.source, j.output, j.mirrored) for j in plan.jobs) == [
        (tmp_path / "x" / "clipA", tmp_path / "out" / "clipA", 0),
        (tmp_path / "y" / "clipB", tmp_path / "out" / "clipB", 0),
    ]
    _touch(tmp_path / "z" / "clipA" / "0000.png")
    with pytest.raises(InputError, match=r"out/clipA: both clips .*x/clipA and .*z/clipA would be written here; give"):
        plan_clips([tmp_path / "x" / "clipA", tmp_path / "z" / "clipA"], tmp_path / "out", tag="derained")
