"""The watch daemon's logic, in process and fast: quiet period with a fake clock, skip rules,
opt-in detection, own-write suppression, the catch-up index, the pid file, the observer fallback.

The fill function is a fake that writes a region the way `pipeline.fill_note` does (only when the
bytes change, atomically) and counts its calls; the real pipeline is exercised by test_watch_e2e.py.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pytest

from vitnotes.watch.index import NoteIndex, content_hash
from vitnotes.watch.notes import NoteProcessor
from vitnotes.watch.queue import QuietQueue
from vitnotes.watch.rules import VaultRules, frontmatter_block, opted_in
from vitnotes.watch.worker import Worker

OPTED = "---\nvitnotes:\n  model: vit_tiny_patch16_224\n---\n# Paper\n\n{body}\n"
PLAIN = "# Just a note\n\n{body}\n"


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def advance(self, dt: float) -> None:
        self.t += dt


@dataclass
class FakeResult:
    path: Path
    status: str
    written_bytes: Optional[bytes] = None
    message: str = ""

    @property
    def exit_code(self) -> int:
        return {"refused": 2, "failed": 1}.get(self.status, 0)

    def line(self) -> str:
        return f"{self.status} {self.path.name}" + (f": {self.message}" if self.message else "")


@dataclass
class FakeFill:
    """Appends a generated region whose body depends on the text around it, like a real fill."""

    calls: list[str] = field(default_factory=list)
    seen: list[bytes] = field(default_factory=list)
    during: Optional[callable] = None  # runs inside the fill, to simulate a save mid-fill

    def __call__(self, path: str) -> FakeResult:
        p = Path(path)
        self.calls.append(p.name)
        raw = p.read_bytes()
        self.seen.append(raw)
        if b"BOOM" in raw:
            raise RuntimeError("analysis exploded")
        if b"model: nope" in raw:
            return FakeResult(p, "refused", message="unknown model 'nope'")
        text = raw.decode()
        user = text.split("<!-- vitnotes:begin")[0]
        region = f"<!-- vitnotes:begin card sha=0 -->\n\nwords={len(user.split())}\n\n<!-- vitnotes:end card -->\n"
        new = (user + region).encode()
        if self.during is not None:
            self.during(p)
            self.during = None
        if new == raw:
            return FakeResult(p, "unchanged")
        tmp = p.with_name(f".{p.name}.tmp")
        tmp.write_bytes(new)
        os.replace(tmp, p)
        return FakeResult(p, "filled", written_bytes=new)


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    (tmp_path / ".obsidian").mkdir()
    (tmp_path / ".obsidian" / "app.json").write_text("{}")
    (tmp_path / ".obsidian" / "templates.json").write_text(json.dumps({"folder": "Templates"}))
    (tmp_path / "Papers").mkdir()
    return tmp_path


def make(vault: Path, clock: Optional[FakeClock] = None, quiet: float = 3.0, fill: Optional[FakeFill] = None):
    lines: list[str] = []
    rules = VaultRules.for_folder(vault)
    index = NoteIndex.load(vault / ".vitnotes" / "watch-index.json")
    fill = fill or FakeFill()
    clock = clock or FakeClock()
    proc = NoteProcessor(rules, index, fill, lines.append, clock=clock)
    worker = Worker(proc, QuietQueue(quiet, clock), log=lines.append)
    return worker, fill, lines


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


# ----------------------------------------------------------------------------- quiet period


def test_quiet_queue_pushes_the_deadline_back_on_every_event():
    clock = FakeClock()
    q = QuietQueue(3.0, clock)
    q.touch("a")
    clock.advance(2.9)
    q.touch("a")  # still typing: the deadline moves
    clock.advance(2.9)
    assert q.pop_due() == []
    assert q.next_deadline() == pytest.approx(clock() + 0.1)
    clock.advance(0.1)
    assert q.pop_due() == ["a"]
    assert q.pop_due() == [] and len(q) == 0 and q.next_deadline() is None


def test_quiet_queue_orders_notes_by_deadline_and_honours_explicit_delay():
    clock = FakeClock()
    q = QuietQueue(3.0, clock)
    q.touch("late")
    clock.advance(1.0)
    q.touch("later")
    q.touch("now", delay=0.0)
    assert q.pop_due() == ["now"]
    clock.advance(3.0)
    assert q.pop_due() == ["late", "later"]


def test_fifty_saves_in_two_seconds_make_one_fill(vault):
    clock = FakeClock()
    worker, fill, _ = make(vault, clock, quiet=3.0)
    note = vault / "Papers" / "ViT.md"
    for i in range(50):
        write(note, OPTED.format(body=f"draft {i}"))
        worker.touch(str(note))
        clock.advance(2.0 / 50)
        assert worker.run_due() == []  # never due while saves keep coming
    clock.advance(2.9)
    assert worker.run_due() == [] and fill.calls == []
    clock.advance(0.2)
    outcomes = worker.run_due()
    assert [o.action for o in outcomes] == ["filled"] and fill.calls == ["ViT.md"]
    assert b"draft 49" in fill.seen[0]  # the last save is the one filled


def test_own_write_is_ignored_and_identical_resave_is_not_refilled(vault):
    clock = FakeClock()
    worker, fill, lines = make(vault, clock)
    note = vault / "Papers" / "ViT.md"
    write(note, OPTED.format(body="first"))
    worker.touch(str(note))
    clock.advance(3)
    assert [o.action for o in worker.run_due()] == ["filled"]
    written = note.read_bytes()
    # the watcher sees the daemon's own rename and close events
    worker.touch(str(note))
    worker.touch(str(note))
    clock.advance(3)
    assert [o.action for o in worker.run_due()] == ["same"]
    # the editor re-saves exactly what is on disk (Obsidian does this on focus changes)
    note.write_bytes(written)
    worker.touch(str(note))
    clock.advance(3)
    assert [o.action for o in worker.run_due()] == ["same"]
    assert fill.calls == ["ViT.md"] and note.read_bytes() == written
    assert lines == ["filled ViT.md"]


def test_a_real_change_after_a_fill_is_filled_again(vault):
    clock = FakeClock()
    worker, fill, _ = make(vault, clock)
    note = vault / "Papers" / "ViT.md"
    write(note, OPTED.format(body="one"))
    worker.touch(str(note))
    clock.advance(3)
    worker.run_due()
    text = note.read_text().replace("one", "one two three")
    note.write_text(text)
    worker.touch(str(note))
    clock.advance(3)
    assert [o.action for o in worker.run_due()] == ["filled"]
    assert "one two three" in note.read_text() and len(fill.calls) == 2


def test_a_save_during_a_fill_is_not_lost(vault):
    clock = FakeClock()
    fill = FakeFill()
    worker, _, _ = make(vault, clock, fill=fill)
    note = vault / "Papers" / "ViT.md"
    write(note, OPTED.format(body="before"))

    def user_saves_after_our_write(p: Path) -> None:
        # The fake's write happens after this returns; the user's save lands right after it,
        # which the watcher reports as an event while the worker is still busy.
        def later():
            time.sleep(0.05)
            p.write_text(p.read_text().replace("before", "latest words"))
        t = threading.Thread(target=later)
        t.start()
        fill.after = t

    fill.during = user_saves_after_our_write
    worker.touch(str(note))
    clock.advance(3)
    worker.run_due()
    fill.after.join()
    worker.touch(str(note))  # the event for the user's save
    clock.advance(3)
    assert [o.action for o in worker.run_due()] == ["filled"]
    assert "latest words" in note.read_text() and "words=" in note.read_text()


def test_note_without_opt_in_is_never_filled_nor_touched(vault):
    clock = FakeClock()
    worker, fill, _ = make(vault, clock)
    note = vault / "Plain.md"
    write(note, PLAIN.format(body="vitnotes: is mentioned but not as a key"))
    os.utime(note, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    before = note.read_bytes()
    worker.touch(str(note))
    clock.advance(3)
    assert [o.action for o in worker.run_due()] == ["ignored"]
    assert fill.calls == [] and note.read_bytes() == before
    assert note.stat().st_mtime_ns == 1_600_000_000_000_000_000


def test_removing_the_key_opts_out_and_keeps_the_regions_as_written(vault):
    """Regression: a note whose `vitnotes:` key was removed (or filled once with `fill --model X`,
    no key) was refilled on every save with the default model and every section."""
    clock = FakeClock()
    worker, fill, _ = make(vault, clock)
    note = vault / "Papers" / "ViT.md"
    write(note, OPTED.format(body="my words"))
    worker.touch(str(note))
    clock.advance(3)
    assert [o.action for o in worker.run_due()] == ["filled"] and fill.calls == ["ViT.md"]
    filled = note.read_text()
    region = filled[filled.index("<!-- vitnotes:begin"):]
    assert region.startswith("<!-- vitnotes:begin card") and "words=" in region
    opted_out = "---\ntags: [paper]\n---\nmy words, more of them\n" + region
    write(note, opted_out)
    worker.touch(str(note))
    clock.advance(3)
    assert [o.action for o in worker.run_due()] == ["ignored"]
    assert fill.calls == ["ViT.md"] and note.read_text() == opted_out


def test_one_broken_note_does_not_stop_the_next(vault):
    clock = FakeClock()
    worker, fill, lines = make(vault, clock)
    bad, unknown, good = (vault / "Papers" / n for n in ("Bad.md", "Unknown.md", "Good.md"))
    write(bad, OPTED.format(body="BOOM"))
    write(unknown, OPTED.replace("vit_tiny_patch16_224", "nope").format(body="x"))
    write(good, OPTED.format(body="fine"))
    for n in (bad, unknown, good):
        worker.touch(str(n))
    clock.advance(3)
    actions = {o.rel: o.action for o in worker.run_due()}
    assert actions == {"Papers/Bad.md": "failed", "Papers/Unknown.md": "refused", "Papers/Good.md": "filled"}
    assert any(ln.startswith("failed Papers/Bad.md: internal error: RuntimeError") for ln in lines)
    assert "refused Unknown.md: unknown model 'nope'" in lines
    assert worker.worst == 2
    # a refused note is not retried until it changes; the crashed one is retried on its next event
    for n in (bad, unknown):
        worker.touch(str(n))
    clock.advance(3)
    assert {o.rel: o.action for o in worker.run_due()} == {"Papers/Bad.md": "failed", "Papers/Unknown.md": "same"}


def test_a_tug_of_war_with_another_writer_is_paused_then_resumed(vault):
    from vitnotes.watch.notes import LOOP_WINDOW_S, LOOP_WRITES

    clock = FakeClock()
    worker, fill, lines = make(vault, clock)
    note = vault / "Papers" / "ViT.md"
    write(note, OPTED.format(body="x"))
    actions = []
    for i in range(LOOP_WRITES + 3):
        worker.touch(str(note))
        clock.advance(3)
        actions += [o.action for o in worker.run_due()]
        # a format-on-save plugin rewrites the note right after each fill (here: drops the region)
        note.write_text(note.read_text().split("<!-- vitnotes:begin")[0] + f"reformatted {i}\n")
    assert actions == ["filled"] * LOOP_WRITES + ["paused"] * 3
    assert sum(ln.startswith("paused Papers/ViT.md") for ln in lines) == 1
    clock.advance(LOOP_WINDOW_S)  # left alone: the re-check the worker scheduled fills it again
    assert [o.action for o in worker.run_due()] == ["filled"]


def test_deleted_then_recreated_note(vault):
    clock = FakeClock()
    worker, fill, _ = make(vault, clock)
    note = vault / "Papers" / "ViT.md"
    write(note, OPTED.format(body="a"))
    worker.touch(str(note))
    clock.advance(3)
    worker.run_due()
    filled = note.read_bytes()
    note.unlink()
    worker.touch(str(note))
    note.write_bytes(filled)  # recreated with the same text within the quiet period
    worker.touch(str(note))
    clock.advance(3)
    assert [o.action for o in worker.run_due()] == ["same"]
    note.unlink()
    worker.touch(str(note))
    clock.advance(3)
    assert [o.action for o in worker.run_due()] == ["gone"]
    assert worker.processor.index.get("Papers/ViT.md") is None
    write(note, OPTED.format(body="reborn"))
    worker.touch(str(note))
    clock.advance(3)
    assert [o.action for o in worker.run_due()] == ["filled"] and len(fill.calls) == 2


def test_renamed_note_keeps_its_record_and_keeps_working(vault):
    clock = FakeClock()
    worker, fill, _ = make(vault, clock)
    old, new = vault / "Papers" / "ViT.md", vault / "Papers" / "ViT (2020).md"
    write(old, OPTED.format(body="x"))
    worker.touch(str(old))
    clock.advance(3)
    worker.run_due()
    os.rename(old, new)
    worker.processor.renamed(str(old), str(new))
    worker.touch(str(new))
    worker.touch(str(old))
    clock.advance(3)
    assert sorted(o.action for o in worker.run_due()) == ["gone", "same"]
    new.write_text(new.read_text().replace("# Paper", "# Paper, renamed"))
    worker.touch(str(new))
    clock.advance(3)
    assert [o.action for o in worker.run_due()] == ["filled"] and fill.calls == ["ViT.md", "ViT (2020).md"]


# ----------------------------------------------------------------------------- opt-in and skip rules


@pytest.mark.parametrize("text, expected", [
    (OPTED.format(body=""), True),
    ("---\nvitnotes: vit_base_patch16_224\n---\n", True),  # the short form
    ("\ufeff---\r\nvitnotes:\r\n  model: deit_tiny_patch16_224\r\n---\r\nbody\r\n", True),  # BOM + CRLF
    ("---\ntags: [paper]\n'vitnotes': x\n...\n", True),
    ("---\nvitnotes: {model: [unclosed\n---\n", True),  # broken YAML still opted in: the fill reports it
    ("---\nother:\n  vitnotes: x\n---\n", False),  # nested key is not the opt-in
    ("---\ntitle: a\n---\nvitnotes: in the body\n", False),
    ("---\nvitnotes: x\nno closing line\n", False),  # unclosed: not frontmatter (Obsidian's rule)
    ("# no frontmatter\n", False),
    # Regions without the key (a note filled once with `fill --model X`, or whose key was removed to
    # stop vitnotes) are not an opt-in: the daemon cannot know their model and leaves them as written.
    ("text\n<!-- vitnotes:begin shapes sha=1a2b3c4d -->\n\nx\n\n<!-- vitnotes:end shapes -->\n", False),
    ("---\ntags: [x]\n---\n<!-- vitnotes:begin shapes sha=1a2b3c4d -->\n\nx\n\n<!-- vitnotes:end shapes -->\n", False),
    ("text\n```\n<!-- vitnotes:begin shapes sha=1a2b3c4d -->\n<!-- vitnotes:end shapes -->\n```\n", False),
    ("text\n<!-- vitnotes:begin shapes sha=1a2b3c4d -->\nunbalanced\n", False),
])
def test_opted_in(text, expected):
    assert opted_in(text.encode("utf-8")) is expected


def test_frontmatter_block_is_exactly_the_yaml():
    assert frontmatter_block(b"---\na: 1\nb: 2\n---\nbody") == b"a: 1\nb: 2\n"
    assert frontmatter_block(b"no\n---\na: 1\n---\n") is None


@pytest.mark.parametrize("rel, skipped", [
    ("Papers/ViT.md", False),
    ("ViT.MD", False),
    ("Papers/ViT.card.png", True),  # our figures
    ("Papers/ViT.md.swp", True),
    (".obsidian/workspace.md", True),
    (".trash/Old.md", True),
    (".git/COMMIT_EDITMSG.md", True),
    (".vitnotes/cache/x.md", True),
    ("Papers/.ViT.md.vitnotes-tmp-abc", True),  # the note engine's temp file
    ("Papers/.goutputstream-XYZ", True),  # gedit's
    ("Templates/Paper study.md", True),  # templates.json
    ("Papers/ViT (Conflicted copy 2024-01-01).md", True),
    ("Papers/ViT.sync-conflict-20240101-123456-ABCDEFG.md", True),
    ("Papers/ViT conflicted copy.md", True),
])
def test_skip_rules(vault, rel, skipped):
    rules = VaultRules.for_folder(vault)
    assert (rules.skip_reason(vault / rel) is not None) is skipped
    assert rules.skip_reason(vault.parent / "elsewhere.md") == "outside the vault"


def test_catch_up_walks_only_notes(vault):
    for rel in ("Papers/A.md", "B.md", ".trash/C.md", "Templates/T.md", "Papers/x.png"):
        write(vault / rel, OPTED.format(body=rel))
    rules = VaultRules.for_folder(vault)
    assert sorted(rules.rel(p) for p in rules.walk_notes()) == ["B.md", "Papers/A.md"]


# ----------------------------------------------------------------------------- catch-up index


def test_catch_up_fills_only_what_changed_while_the_daemon_was_down(vault):
    a, b, plain = vault / "Papers" / "A.md", vault / "Papers" / "B.md", vault / "Plain.md"
    write(a, OPTED.format(body="a"))
    write(b, OPTED.format(body="b"))
    write(plain, PLAIN.format(body="p"))
    # first run: no index yet, every opted-in note is caught up; the plain note is only recorded
    worker, fill, _ = make(vault)
    due = worker.processor.catch_up()
    assert sorted(Path(p).name for p in due) == ["A.md", "B.md"]
    for p in due:
        worker.processor.process(p)
    worker.processor.index.save()
    # second run, nothing changed
    worker, fill, _ = make(vault)
    assert worker.processor.catch_up() == []
    # third run: one note edited and one deleted while down
    b.write_text(b.read_text().replace("# Paper", "# Paper (edited offline)"))
    a.unlink()
    worker, fill, _ = make(vault)
    assert [Path(p).name for p in worker.processor.catch_up()] == ["B.md"]
    assert worker.processor.index.get("Papers/A.md") is None


def test_catch_up_trusts_an_old_stat_and_rereads_a_recent_one(vault):
    note = vault / "Papers" / "A.md"
    write(note, OPTED.format(body="a"))
    worker, _, _ = make(vault)
    for p in worker.processor.catch_up():
        worker.processor.process(p)
    index = worker.processor.index
    assert index.get("Papers/A.md").mtime_ns is None  # just written: racily clean, not trusted
    old = time.time_ns() - 3_600_000_000_000
    os.utime(note, ns=(old, old))
    worker.processor.process(str(note))
    entry = index.get("Papers/A.md")
    assert entry.mtime_ns == old and entry.size == note.stat().st_size
    assert index.stat_matches("Papers/A.md", note.stat())
    # same size, same mtime but different bytes can only be caught by a re-read: an edit changes mtime
    note.write_bytes(note.read_bytes().replace(b"# Paper", b"# Pap3r"))
    assert not index.stat_matches("Papers/A.md", note.stat())


def test_index_round_trips_and_survives_corruption(vault, tmp_path):
    path = vault / ".vitnotes" / "watch-index.json"
    index = NoteIndex(path)
    index.record("Papers/A.md", content_hash(b"x"), True)
    index.record("B.md", content_hash(b"y"), False)
    index.rename("B.md", "C.md")
    index.save()
    assert not index.dirty
    again = NoteIndex.load(path)
    assert again.get("Papers/A.md").sha == content_hash(b"x") and again.get("Papers/A.md").opted
    assert again.get("C.md") is not None and again.get("B.md") is None
    assert not [p for p in path.parent.iterdir() if p.name != path.name]  # no temp file left
    path.write_text("{not json")
    assert len(NoteIndex.load(path)) == 0


# ----------------------------------------------------------------------------- threads, events, observer


def test_worker_thread_fills_after_quiet_period_and_stops(vault):
    worker, fill, _ = make(vault, clock=time.monotonic, quiet=0.05)
    worker.start(catch_up=False)
    note = vault / "Papers" / "ViT.md"
    write(note, OPTED.format(body="threaded"))
    worker.touch(str(note))
    deadline = time.monotonic() + 5
    while not fill.calls and time.monotonic() < deadline:
        time.sleep(0.01)
    assert fill.calls == ["ViT.md"]
    worker.stop()
    worker.join(5)
    assert not worker.is_alive()
    assert json.loads((vault / ".vitnotes" / "watch-index.json").read_text())["notes"]["Papers/ViT.md"]["opted"]


def test_event_handler_maps_editor_save_styles_to_the_note(vault):
    from watchdog.events import (DirModifiedEvent, FileClosedEvent, FileCreatedEvent, FileDeletedEvent,
                                 FileModifiedEvent, FileMovedEvent)

    from vitnotes.watch.events import VaultEventHandler

    worker, _, _ = make(vault)
    touched: list[str] = []
    worker.touch = lambda path, delay=None: touched.append(Path(path).relative_to(vault).as_posix())
    handler = VaultEventHandler(worker.processor.rules, worker.processor, worker, lambda m: None)
    note = str(vault / "Papers" / "ViT.md")
    worker.processor.index.record("Papers/ViT.md", "abc", True)
    events = [
        FileModifiedEvent(note), FileClosedEvent(note),  # in-place (Obsidian)
        FileMovedEvent(str(vault / "Papers" / ".goutputstream-1"), note),  # gedit temp + rename
        FileMovedEvent(note, note + "~"),  # vim moves the original to its backup first …
        FileCreatedEvent(note),  # … then writes a new file
        FileDeletedEvent(note),
        FileModifiedEvent(str(vault / ".obsidian" / "workspace.json")),
        FileModifiedEvent(str(vault / "Papers" / "ViT.card.png")),
        DirModifiedEvent(str(vault / "Papers")),
        FileMovedEvent(note, str(vault / "Papers" / "ViT (2020).md")),  # a rename
    ]
    for e in events:
        handler.dispatch(e)
    assert touched == ["Papers/ViT.md"] * 6 + ["Papers/ViT (2020).md", "Papers/ViT.md"]
    assert worker.processor.index.get("Papers/ViT (2020).md").sha == "abc"


class _FakeObserver:
    def __init__(self, error: Optional[OSError] = None):
        self.error, self.started, self.scheduled = error, False, []

    def schedule(self, handler, path, **kw):
        self.scheduled.append((path, kw))

    def start(self):
        if self.error:
            raise self.error
        self.started = True

    emitters: set = set()


@pytest.mark.parametrize("err, sysctl", [(errno.ENOSPC, "fs.inotify.max_user_watches"),
                                         (errno.EMFILE, "fs.inotify.max_user_instances")])
def test_inotify_limit_falls_back_to_polling_and_names_the_sysctl(vault, err, sysctl):
    from vitnotes.watch.events import start_observer

    lines: list[str] = []
    polling = _FakeObserver()
    obs, how = start_observer(vault, object(), poll=False, poll_interval=1.0, log=lines.append,
                              native=lambda: _FakeObserver(OSError(err, os.strerror(err))),
                              polling=lambda interval: polling)
    assert (obs, how) == (polling, "polling") and polling.started
    assert len(lines) == 1 and sysctl in lines[0] and "polling" in lines[0]


def test_other_observer_errors_are_not_hidden(vault):
    from vitnotes.watch.events import start_observer

    with pytest.raises(PermissionError):
        start_observer(vault, object(), poll=False, poll_interval=1.0, log=print,
                       native=lambda: _FakeObserver(PermissionError(errno.EACCES, "denied")),
                       polling=lambda interval: pytest.fail("must not poll"))


def test_poll_flag_skips_the_native_observer(vault):
    from vitnotes.watch.events import start_observer

    polling = _FakeObserver()
    obs, how = start_observer(vault, object(), poll=True, poll_interval=1.0, log=print,
                              native=lambda: pytest.fail("must not use inotify"), polling=lambda i: polling)
    assert how == "polling" and polling.started


def test_polling_observer_reports_a_save_and_never_walks_hidden_folders(vault):
    from vitnotes.watch.events import _visible_entries, polling_observer

    write(vault / ".git" / "x.md", "x")
    assert sorted(e.name for e in _visible_entries(str(vault))) == ["Papers"]
    seen = threading.Event()

    class H:
        def dispatch(self, event):
            if str(event.src_path).endswith("ViT.md"):
                seen.set()

    obs = polling_observer(0.1)
    obs.schedule(H(), str(vault), recursive=True)
    obs.start()
    try:
        time.sleep(0.3)
        write(vault / "Papers" / "ViT.md", "saved")
        assert seen.wait(5)
    finally:
        obs.stop()
        obs.join(5)


# ----------------------------------------------------------------------------- pid file, serve, CLI


def test_pid_file_is_written_refuses_a_second_daemon_and_replaces_a_stale_one(vault):
    from vitnotes.watch.pidfile import DaemonRunning, PidFile, read_pid_file

    state = vault / ".vitnotes"
    pf = PidFile(vault, state)
    pf.acquire()
    data = read_pid_file(state / "watch.pid")
    assert data["pid"] == os.getpid() and data["vault"] == str(vault) and "T" in data["started"]
    pf.release()
    assert not (state / "watch.pid").exists()

    # a live daemon (a process whose command line names vitnotes) holds the vault
    other = subprocess.Popen([sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)  # vitnotes"],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline().strip() == "up"  # exec'd: its command line is its own
        (state / "watch.pid").write_text(json.dumps({"pid": other.pid, "vault": str(vault)}))
        with pytest.raises(DaemonRunning, match=f"pid {other.pid}"):
            PidFile(vault, state).acquire()
    finally:
        other.kill()
        other.wait()
    # now its process is gone: the file is stale and replaced
    pf = PidFile(vault, state)
    pf.acquire()
    assert read_pid_file(state / "watch.pid")["pid"] == os.getpid()
    pf.release()
    assert [p.name for p in state.iterdir()] == []  # no temp files


def test_serve_once_fills_pending_notes_and_reports_the_worst_exit_code(vault):
    from vitnotes.watch.daemon import Logger, WatchOptions, serve

    write(vault / "Papers" / "A.md", OPTED.format(body="a"))
    write(vault / "Papers" / "Bad.md", OPTED.replace("vit_tiny_patch16_224", "nope").format(body="b"))
    write(vault / "Plain.md", PLAIN.format(body="p"))
    out = _Capture()
    fill = FakeFill()
    code = serve(vault, fill, WatchOptions(once=True), Logger(out, timestamps=False))
    assert code == 2 and sorted(fill.calls) == ["A.md", "Bad.md"]
    assert out.lines[0] == f"checked {vault}: 2 note(s) to fill"
    assert "refused Bad.md: unknown model 'nope'" in out.lines
    assert not (vault / ".vitnotes" / "watch.pid").exists()  # --once is no daemon
    # nothing changed: a second pass does nothing
    fill2 = FakeFill()
    assert serve(vault, fill2, WatchOptions(once=True), Logger(_Capture(), timestamps=False)) == 0
    assert fill2.calls == []


def test_serve_stops_cleanly_on_sigterm(vault):
    from vitnotes.watch.daemon import Logger, WatchOptions, serve

    write(vault / "Papers" / "A.md", OPTED.format(body="a"))
    out = _Capture()

    def terminate_once_watching():
        if out.watching.wait(10):
            time.sleep(0.3)  # let the catch-up fill run
            os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=terminate_once_watching, daemon=True).start()
    start = time.monotonic()
    code = serve(vault, FakeFill(), WatchOptions(quiet=0.1), Logger(out, timestamps=False))
    assert code == 0 and time.monotonic() - start < 5
    assert "filled A.md" in out.lines and out.lines[-1] == "stopped"
    assert out.lines[0].startswith(f"watching {vault} — native events, settle 0.1 s, 1 opted-in note(s), 1 to catch up")
    assert not (vault / ".vitnotes" / "watch.pid").exists()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handlers restored


def test_importing_the_command_stays_cheap():
    # cli.py imports vitnotes.watch to build its parser on every command
    from fresh_interpreter import imported

    code = "import argparse, vitnotes.watch as w; w.configure_parser(argparse.ArgumentParser())"
    assert imported(code, ("torch", "timm", "watchdog", "yaml")) == []


def test_parser_defaults():
    from vitnotes.cli import build_parser
    from vitnotes.watch import run

    args = build_parser().parse_args(["watch", "some/vault"])
    assert (args.vault, args.settle, args.poll, args.once, args.force, args.verbose) == (
        "some/vault", 3.0, False, False, False, False)
    assert args.func is run
    assert build_parser().parse_args(["watch", "v", "--settle", "1.5", "--once"]).settle == 1.5
    assert build_parser().parse_args(["watch", "v", "--quiet", "1.5"]).settle == 1.5  # the old name still works
    with pytest.raises(SystemExit):
        build_parser().parse_args(["watch", "v", "--quiet", "soon"])


class _Capture:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.watching = threading.Event()

    def write(self, s: str) -> None:
        self.lines.extend(ln for ln in s.splitlines() if ln)
        if s.startswith("watching "):
            self.watching.set()

    def flush(self) -> None:
        pass


def test_service_examples_run_the_daemon_and_match_its_exit_codes():
    import configparser
    import plistlib

    from vitnotes.errors import VitnotesError
    from vitnotes.watch.pidfile import DaemonRunning

    repo = Path(__file__).resolve().parents[1]
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str
    unit.read(repo / "contrib" / "systemd" / "vitnotes-watch.service")
    service = unit["Service"]
    assert service["ExecStart"].split()[1:2] == ["watch"] and service["ExecStart"].split()[0].endswith("/vitnotes")
    assert service["KillSignal"] == "SIGTERM" and service["Restart"] == "on-failure"
    # bad input and "already running" must not make systemd restart into the same refusal
    assert int(service["RestartPreventExitStatus"]) == DaemonRunning.exit_code == VitnotesError.exit_code
    assert unit["Install"]["WantedBy"] == "default.target"  # a --user unit

    plist = plistlib.loads((repo / "contrib" / "launchd" / "io.vitnotes.watch.plist").read_bytes())
    assert plist["Label"] == "io.vitnotes.watch"
    assert plist["ProgramArguments"][0].endswith("/vitnotes") and plist["ProgramArguments"][1] == "watch"
    assert plist["KeepAlive"] == {"SuccessfulExit": False}  # a clean SIGTERM exit (0) stays stopped
