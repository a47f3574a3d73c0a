"""The adversarial cases of issue 13, each reproduced and asserted fixed.

Concurrent in-place writers (0 bytes lost, for write_note, fill, the CLI and watch), regions only
where Markdown shows HTML comments, YAML and template bounds, ownership/mode/hard links/read-only,
special files, stale temp files, the analysis worker dying with its parent, paths a note may read.
Writers are real child processes; the write protocol's waits are shortened through its
environment variables (obsidian/guard.py) so no test sleeps for long.
"""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from vitnotes.errors import NoteError, SpecError
from vitnotes.obsidian import guard as guard_mod
from vitnotes.obsidian import write as write_mod
from vitnotes.obsidian.note import read_note
from vitnotes.obsidian.regions import HEADING, find_regions, merge
from vitnotes.obsidian.write import ConcurrentEdit, write_note

REPO = Path(__file__).resolve().parents[1]
LINUX = sys.platform.startswith("linux")

# Writes its chunks into the file in place (no rename), flushing each, pausing between them.
WRITER = r"""
import json, sys, time
path, pause, mode = sys.argv[1], float(sys.argv[2]), sys.argv[3]
chunks = sys.argv[4:] if sys.argv[4] != "--json" else json.load(open(sys.argv[5], encoding="utf-8"))
with open(path, mode) as fh:
    for i, chunk in enumerate(chunks):
        fh.write(chunk.encode()); fh.flush()
        print("wrote", i, flush=True)
        if i < len(chunks) - 1:
            time.sleep(pause)
print("closed", flush=True)
"""


def _writer(path: Path, pause: float, chunks: list[str], mode: str = "wb") -> subprocess.Popen:
    """A child process writing ``chunks`` into ``path`` in place; returns once the first is written."""
    fd, spec = tempfile.mkstemp(suffix=".json")  # outside the vault: big chunks do not fit in argv
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(chunks, fh)
    child = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(pause), mode, "--json", spec],
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().startswith("wrote 0")
    return child


@pytest.fixture
def vault(tmp_path) -> Path:
    (tmp_path / ".obsidian").mkdir()
    (tmp_path / "Papers").mkdir()
    return tmp_path


@pytest.fixture
def quick(monkeypatch):
    """Short protocol times: a test writer's pauses are longer than these, and nothing waits long."""
    monkeypatch.setenv("VITNOTES_SETTLE_S", "0.3")
    monkeypatch.setenv("VITNOTES_LATE_CHECK_S", "1.5")
    monkeypatch.setenv("VITNOTES_BUSY_WAIT_S", "20")


def _temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if write_mod.TEMP_MARK in p.name)


# --------------------------------------------------------------------------- 1. concurrent in-place writers

PARTS = ["---\nvitnotes: vit_tiny_patch16_224\n---\n# Streamed\n\n", "first paragraph " * 200 + "\n\n",
         "second paragraph " * 300 + "\n\n", "third paragraph\n\n", "fourth and last paragraph\n"]


@pytest.mark.parametrize("leases", ["1", "0"], ids=["lease", "stillness"])
def test_write_waits_for_a_writer_that_holds_the_note_open(vault, quick, monkeypatch, leases):
    """An in-place save paused longer than the settle time: nothing is swapped in until it is done."""
    monkeypatch.setenv("VITNOTES_LEASES", leases)
    if leases == "0":
        monkeypatch.setenv("VITNOTES_SETTLE_S", "1.5")  # stillness must outlast the writer's pauses
    note = vault / "Papers" / "n.md"
    note.write_bytes(b"old text\n")
    child = _writer(note, 0.6, PARTS[:3])
    partial = note.read_bytes()
    with pytest.raises(ConcurrentEdit):
        write_note(note, partial + b"<!-- generated -->\n", partial, vault_root=vault)
    assert child.wait(10) == 0
    assert note.read_bytes() == "".join(PARTS[:3]).encode()  # every byte the writer wrote
    assert _temps(note.parent) == []


def test_bytes_written_into_the_old_inode_after_the_swap_are_put_back(vault, quick, monkeypatch):
    """No lease (another OS, not the owner): the old inode is watched after the swap and restored."""
    monkeypatch.setenv("VITNOTES_LEASES", "0")
    note = vault / "Papers" / "n.md"
    note.write_bytes(b"")
    child = _writer(note, 0.8, PARTS[:2], mode="ab")  # pauses longer than the 0.3 s settle time
    time.sleep(0.35)
    partial = note.read_bytes()
    with pytest.raises(ConcurrentEdit, match="another program wrote to it"):
        write_note(note, partial + b"<!-- generated -->\n", partial, vault_root=vault)
    assert child.wait(10) == 0
    assert note.read_bytes() == "".join(PARTS[:2]).encode()
    assert _temps(note.parent) == []


@pytest.mark.skipif(not LINUX, reason="read leases are Linux's")
def test_a_writer_opening_the_old_inode_during_the_swap_breaks_the_lease(vault, quick, monkeypatch):
    """A writer that opens the note between vitnotes' check and its rename writes into the old inode:
    the lease break tells vitnotes, which puts that inode back (with the late bytes) and merges again."""
    note = vault / "Papers" / "n.md"
    note.write_bytes(b"user text\n")
    real_replace = os.replace
    late: list[subprocess.Popen] = []

    def replace_then_open_old(src, dst):
        real_replace(src, dst)
        if Path(dst) == note.resolve() and not late:
            keep = [p for p in note.parent.iterdir() if write_mod.TEMP_MARK in p.name][0]
            late.append(subprocess.Popen([sys.executable, "-c", WRITER, str(keep), "0", "ab", "late bytes\n"],
                                         stdout=subprocess.PIPE, text=True))
            time.sleep(0.5)  # the child is now blocked in open() by the lease

    monkeypatch.setattr(write_mod.os, "replace", replace_then_open_old)
    with pytest.raises(ConcurrentEdit):
        write_note(note, b"generated\n", b"user text\n", vault_root=vault)
    assert late[0].wait(10) == 0
    assert note.read_bytes() == b"user text\nlate bytes\n"
    assert _temps(note.parent) == []


def test_settled_file_costs_no_wait(vault, monkeypatch):
    """The common path: a note nobody is writing is read and replaced at once (no settle sleep)."""
    monkeypatch.setenv("VITNOTES_SETTLE_S", "30")
    monkeypatch.setenv("VITNOTES_LATE_CHECK_S", "0")
    note = vault / "n.md"
    note.write_bytes(b"a\n")
    if not LINUX:
        os.utime(note, (time.time() - 60, time.time() - 60))
    t0 = time.monotonic()
    guard_mod.wait_settled(note)
    assert write_note(note, b"b\n", b"a\n", vault_root=vault)
    assert time.monotonic() - t0 < 5
    assert note.read_bytes() == b"b\n"


def test_a_writer_that_never_finishes_is_refused_in_bounded_time(vault, quick, monkeypatch):
    monkeypatch.setenv("VITNOTES_BUSY_WAIT_S", "1")
    monkeypatch.setenv("VITNOTES_SETTLE_S", "5")
    note = vault / "n.md"
    child = _writer(note, 30, ["x", "y"])
    try:
        t0 = time.monotonic()
        with pytest.raises(NoteError, match="open for writing|kept it open"):
            guard_mod.wait_settled(note)
        assert time.monotonic() - t0 < 4
    finally:
        child.kill()
        child.wait()


def test_a_cancelled_wait_stops_at_once(vault, quick, monkeypatch):
    monkeypatch.setenv("VITNOTES_SETTLE_S", "10")
    note = vault / "n.md"
    child = _writer(note, 30, ["x", "y"])
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    try:
        t0 = time.monotonic()
        with pytest.raises(NoteError, match="stopped while waiting"):
            guard_mod.wait_settled(note, cancel)
        assert time.monotonic() - t0 < 2
    finally:
        child.kill()
        child.wait()


# --------------------------------------------------------------------------- 5. ownership, links, read-only

def test_read_only_note_is_refused_with_one_line(vault):
    note = vault / "n.md"
    note.write_bytes(b"mine\n")
    os.chmod(note, 0o444)
    with pytest.raises(NoteError, match=r"read-only \(mode 0444\)"):
        write_note(note, b"generated\n", b"mine\n", vault_root=vault)
    with pytest.raises(NoteError, match="read-only"):
        write_mod.ensure_writable(note, vault)
    assert note.read_bytes() == b"mine\n" and stat.S_IMODE(note.stat().st_mode) == 0o444


def test_hard_linked_note_is_refused_and_stays_linked(vault):
    note, twin = vault / "n.md", vault / "twin.md"
    note.write_bytes(b"mine\n")
    os.link(note, twin)
    with pytest.raises(NoteError, match="2 hard links"):
        write_note(note, b"generated\n", b"mine\n", vault_root=vault)
    assert os.path.samefile(note, twin) and twin.read_bytes() == b"mine\n"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to chown")
def test_root_keeps_the_notes_owner_group_and_mode(vault):
    note = vault / "n.md"
    note.write_bytes(b"mine\n")
    os.chown(note, 4321, 4322)
    os.chmod(note, 0o620)
    assert write_note(note, b"generated\n", b"mine\n", vault_root=vault)
    st = note.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (4321, 4322, 0o620)
    os.chown(vault, 4321, 4322)
    fig = vault / "fig.png"
    write_mod.write_bytes_atomic(fig, b"png", vault_root=vault)  # a new file gets its folder's owner
    assert (fig.stat().st_uid, fig.stat().st_gid) == (4321, 4322)


def test_a_note_whose_owner_cannot_be_kept_is_refused(vault, monkeypatch):
    """Not root: replacing another user's (group-writable) note would make it ours; refuse instead."""
    note = vault / "n.md"
    note.write_bytes(b"mine\n")
    if os.geteuid() == 0:
        os.chown(note, 4321, 4322)  # a non-root owner to pretend to be
    st = note.stat()
    monkeypatch.setattr(write_mod.os, "geteuid", lambda: st.st_uid + 1)
    monkeypatch.setattr(write_mod.os, "getegid", lambda: st.st_gid)
    monkeypatch.setattr(write_mod.os, "getgroups", lambda: [st.st_gid])
    with pytest.raises(NoteError, match="belongs to another user or group"):
        write_mod.ensure_writable(note, vault)
    monkeypatch.setattr(write_mod.os, "geteuid", lambda: st.st_uid)
    write_mod.ensure_writable(note, vault)  # our own note, our group: fine
    monkeypatch.setattr(write_mod.os, "getgroups", lambda: [])
    monkeypatch.setattr(write_mod.os, "getegid", lambda: st.st_gid + 1)
    with pytest.raises(NoteError, match="another user or group"):
        write_mod.ensure_writable(note, vault)
    assert note.read_bytes() == b"mine\n"


def test_fifo_named_md_is_refused_not_read(vault):
    fifo = vault / "pipe.md"
    os.mkfifo(fifo)
    with pytest.raises(NoteError, match="not a regular file"):
        read_note(fifo)
    from vitnotes.watch.index import NoteIndex
    from vitnotes.watch.notes import NoteProcessor
    from vitnotes.watch.rules import VaultRules

    rules = VaultRules.for_folder(vault)
    assert str(fifo) not in list(rules.walk_notes())
    processor = NoteProcessor(rules, NoteIndex(), fill=lambda p: pytest.fail("a FIFO was filled"), log=print)
    t0 = time.monotonic()
    assert processor.catch_up() == []  # the daemon starts
    assert processor.process(str(fifo)).action == "gone"  # an event on it does not hang the worker
    assert time.monotonic() - t0 < 2


def test_stale_temp_files_are_cleaned_only_when_old_and_ours(vault):
    folder = vault / "Papers"
    old = folder / ".n.md.vitnotes-tmp-abc123xy"
    fresh = folder / ".n.md.vitnotes-tmp-zzz999qq"
    other = folder / ".n.md.tmp-abc123xy"
    for p in (old, fresh, other):
        p.write_bytes(b"x")
    os.utime(old, (time.time() - 2 * write_mod.STALE_TEMP_S,) * 2)
    os.utime(other, (time.time() - 2 * write_mod.STALE_TEMP_S,) * 2)
    note = folder / "n.md"
    note.write_bytes(b"a\n")
    write_note(note, b"b\n", b"a\n", vault_root=vault)
    assert not old.exists() and fresh.exists() and other.exists()


# --------------------------------------------------------------------------- 2. regions only where comments render

EXAMPLE = ("    <!-- vitnotes:begin shapes sha=00000000 -->\n\n    my example text\n\n"
           "    <!-- vitnotes:end shapes -->\n")
PAPER = "# Paper\n\n## Tensor Shapes\n\nmine\n"


@pytest.mark.parametrize("example", [
    EXAMPLE,  # 4-space indented code block
    EXAMPLE.replace("    ", "\t"),  # tab-indented
    "- a list item\n\n      " + EXAMPLE.strip().replace("\n    ", "\n      ") + "\n",  # code inside the item
], ids=["spaces", "tab", "in-list-item"])
def test_a_region_in_an_indented_code_block_is_the_users_text(example):
    text = PAPER + "\nHow a region looks:\n\n" + example + "\nafter\n"
    assert find_regions(text) == []
    result = merge(text, {"shapes": "| generated |"}, {"shapes": ["Tensor Shapes"]}, force=True)
    assert example in result.text  # --force leaves the example alone: it is not a region
    assert result.inserted == ["shapes"] and len(find_regions(result.text)) == 1


def test_an_empty_example_in_indented_code_is_not_filled():
    example = "    <!-- vitnotes:begin shapes -->\n    <!-- vitnotes:end shapes -->\n"
    text = PAPER + "\n" + example
    result = merge(text, {"shapes": "row\n" * 560}, {"shapes": ["Tensor Shapes"]})
    assert result.inserted == ["shapes"] and example in result.text  # a new region; the example untouched
    assert result.text.count("row\n") == 560


def test_a_marker_inside_a_code_span_is_text():
    text = "intro `code starts\n    <!-- vitnotes:begin shapes -->\n    <!-- vitnotes:end shapes -->\nends` here\n"
    assert find_regions(text) == []


def test_regions_indented_in_list_items_and_paragraph_continuations_are_still_regions():
    listed = ("- **Tensor Shapes:**\n    ![[fig.jpg]]\n    <!-- vitnotes:begin shapes sha=1 -->\n\n    body\n\n"
              "    <!-- vitnotes:end shapes -->\n- next\n")
    assert [r.name for r in find_regions(listed)] == ["shapes"]
    continued = "a paragraph\n    <!-- vitnotes:begin shapes -->\n    <!-- vitnotes:end shapes -->\n"
    assert [r.name for r in find_regions(continued)] == ["shapes"]  # rendered as an inline comment
    crlf = listed.replace("\n", "\r\n").replace("body", "bo\rdy")  # a lone CR keeps line numbers aligned
    assert [(r.name, r.begin) for r in find_regions(crlf)] == [("shapes", 2)]


# --------------------------------------------------------------------------- 7. the worker, images, paths

PARENT = r"""
import subprocess, sys, time
from vitnotes.analysis.request import AnalysisRequest
from vitnotes.analysis.worker import request_to_json
req = AnalysisRequest(model="vit_tiny_patch16_224", sections=("filters",), num_images=1)
child = subprocess.Popen([sys.executable, "-m", "vitnotes.analysis.worker"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
child.stdin.write((request_to_json(req) + "\n").encode()); child.stdin.flush()
print(child.pid, flush=True)
if sys.argv[1] == "close":
    child.stdin.close()
time.sleep(60)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not LINUX, reason="reads /proc")
@pytest.mark.parametrize("how", ["kill-parent", "close"])
def test_the_analysis_worker_dies_with_its_parent(how):
    """A killed `fill` (SIGKILL: no cleanup runs) leaves no worker behind; nor does a closed stdin."""
    parent = subprocess.Popen([sys.executable, "-c", PARENT, how], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        child = int(parent.stdout.readline())
        time.sleep(0.3)
        if how == "kill-parent":
            parent.kill()
            parent.wait()
        t0 = time.monotonic()
        while _alive(child) and time.monotonic() - t0 < 3:
            time.sleep(0.05)
        assert not _alive(child), f"the worker outlived its parent by {time.monotonic() - t0:.1f} s"
    finally:
        parent.kill()
        parent.wait()


def test_a_symlinked_image_file_out_of_the_vault_is_refused(tmp_path):
    from vitnotes.spec import build_spec

    vault, outside = tmp_path / "vault", tmp_path / "outside"
    (vault / "imgs").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.png").write_bytes(b"\x89PNG")
    (vault / "imgs" / "a.png").symlink_to(outside / "secret.png")
    fm = {"vitnotes": {"model": "m", "images": "imgs", "sections": ["filters"]}}
    with pytest.raises(SpecError, match=r"vitnotes.images: 'imgs/a.png' points outside the vault"):
        build_spec(fm, vault_root=vault)
    allowed = {"read_outside_vault": [str(outside)]}
    assert build_spec(fm, vault_root=vault, vault_config=allowed).images == vault / "imgs"


@pytest.mark.parametrize("value", ["{outside}/w.pth", "~/w.pth", "../w.pth"])
def test_a_note_may_not_read_outside_its_vault_unless_the_vault_allows_it(tmp_path, monkeypatch, value):
    from vitnotes.spec import build_spec

    vault = tmp_path / "vault"
    vault.mkdir()
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "w.pth").write_bytes(b"x")
    fm = {"vitnotes": {"model": "m", "weights": value.format(outside=tmp_path)}}
    with pytest.raises(SpecError, match="outside the vault"):
        build_spec(fm, vault_root=vault)
    ok = build_spec(fm, vault_root=vault, vault_config={"read_outside_vault": ["~"]})
    assert ok.weights.resolve() == (tmp_path / "w.pth").resolve()


# --------------------------------------------------------------------------- 4. YAML: opt-in, bounds

BOMB = ("---\na: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        + "".join(f"{n}: &{n} [{', '.join(['*' + p] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True))
        + "vitnotes:\n  model: vit_tiny_patch16_224\n  model_kwargs: {x: *i}\n---\n# Bomb\n")
SELF_REF = "---\nvitnotes:\n  model: vit_tiny_patch16_224\n  model_kwargs: &k {loop: [*k]}\n---\n# Loop\n"
QUOTED = ('---\ntitle: "a title that goes on\nvitnotes: vit_tiny_patch16_224\n  and ends here"\n---\n'
          "# Not opted in\n")


def test_opt_in_is_decided_by_the_yaml_parser():
    from vitnotes.watch.rules import opted_in

    assert not opted_in(QUOTED.encode())  # a continuation line of a quoted string is not a key
    assert opted_in(b"---\nvitnotes: vit_tiny_patch16_224\n---\n")
    assert opted_in(b'---\n"vitnotes": {model: x}\n---\n')
    assert opted_in(b"---\nvitnotes: [unclosed\n---\n")  # broken YAML under the key: the fill says where
    assert not opted_in(b"---\ntags: [vitnotes]\n---\nvitnotes: not frontmatter\n")
    assert opted_in(BOMB.encode())  # refused by the bounds, but a line starts with the key: the fill reports


@pytest.mark.parametrize("text, message", [
    (BOMB, "aliases expand to more than"),
    (SELF_REF, "self-referencing anchor"),
    ("---\nvitnotes: vit_tiny_patch16_224\nnotes: " + "x" * 70_000 + "\n---\n", "vitnotes reads at most"),
    ("---\nvitnotes: x\ndeep: " + "[" * 3000 + "]" * 3000 + "\n---\n", "nested too deeply"),
], ids=["alias-bomb", "self-reference", "huge", "deep"])
def test_hostile_frontmatter_is_refused_in_bounded_time_with_one_line(vault, text, message):
    from vitnotes.pipeline import fill_note

    note = vault / "Papers" / "n.md"
    note.write_text(text, encoding="utf-8")
    t0 = time.monotonic()
    result = fill_note(note)
    assert time.monotonic() - t0 < 10
    assert result.status == "refused" and message in result.message
    assert "\n" not in result.line() and "Traceback" not in result.line()
    assert note.read_text(encoding="utf-8") == text


def test_bounded_loader_keeps_ordinary_aliases():
    from vitnotes.obsidian import yaml_bounded

    assert yaml_bounded.load("base: &b {depth: 2}\nvitnotes: {model_kwargs: *b}") == {
        "base": {"depth": 2}, "vitnotes": {"model_kwargs": {"depth": 2}}}


# --------------------------------------------------------------------------- end to end: the CLI and the daemon

QUICK_ENV = {"VITNOTES_SETTLE_S": "0.3", "VITNOTES_LATE_CHECK_S": "1.0", "VITNOTES_BUSY_WAIT_S": "30",
             "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
STRUCTURAL = "---\nvitnotes:\n  model: vit_tiny_patch16_224\n  sections: [card, params]\n---\n"


def _user_text(text: str) -> str:
    """The note without what vitnotes adds (regions, its `## vitnotes` heading, blank lines around them)."""
    text = re.sub(r"<!-- vitnotes:begin (\w+).*?<!-- vitnotes:end \1 -->", "", text, flags=re.S)
    text = re.sub(r"^vn_\w+: .*\n", "", text, flags=re.M)  # its frontmatter properties (issue 12)
    return re.sub(rf"^{HEADING}(: .*)?$", "", text, flags=re.M).replace("\n", "")


def _assert_same_text(got: str, want: str) -> None:
    """Equal texts, or a failure that shows where they part (pytest's own diff of two 300 KB
    strings runs for many minutes)."""
    if got == want:
        return
    at = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
    pytest.fail(f"texts differ at {at} (lengths {len(got)} vs {len(want)}): "
                f"{got[max(0, at - 60):at + 60]!r} vs {want[max(0, at - 60):at + 60]!r}")


@pytest.mark.slow
def test_cli_fill_during_the_pause_of_an_in_place_save_loses_nothing(vault):
    """The issue's `fill` during a 4 s pause turned a 385,796-byte save into 241,987: now every byte stays."""
    note = vault / "Papers" / "Saved.md"
    note.write_text(STRUCTURAL + "# Old\n", encoding="utf-8")
    first = STRUCTURAL + "# Paper\n\n" + "words before the pause. " * 6000 + "\n"
    second = "\nwords after the pause. " * 8000 + "\n"
    child = _writer(note, 3.0, [first, second])  # truncates and writes in place, pausing 3 s
    fill = subprocess.run([sys.executable, "-m", "vitnotes", "fill", str(note)], capture_output=True, text=True,
                          env={**os.environ, **QUICK_ENV}, timeout=180)
    assert child.wait(10) == 0
    assert fill.returncode == 0, fill.stdout + fill.stderr
    text = note.read_text(encoding="utf-8")
    _assert_same_text(_user_text(text), _user_text(first + second))  # both halves, every byte, in order
    assert [r.name for r in find_regions(text)] == ["card", "params"]


@pytest.mark.slow
def test_daemon_hostile_vault_streamed_note_and_one_sigterm(vault):
    """One daemon: hostile notes are refused at once while a good note is filled, a quoted string is not
    an opt-in, a FIFO does not stop the start, a note streamed with pauses longer than the quiet period
    keeps all four paragraphs, and one SIGTERM stops it within two seconds."""
    from test_watch_e2e import Daemon  # noqa: E402 — the e2e tests' daemon runner

    papers = vault / "Papers"
    (papers / "Bomb.md").write_text(BOMB, encoding="utf-8")
    (papers / "Loop.md").write_text(SELF_REF, encoding="utf-8")
    (papers / "Quoted.md").write_text(QUOTED, encoding="utf-8")
    (papers / "Good.md").write_text(STRUCTURAL + "# Good\n", encoding="utf-8")
    os.mkfifo(papers / "pipe.md")
    os.environ.update(QUICK_ENV)  # the daemon inherits the short protocol times
    try:
        daemon = Daemon(vault)
    finally:
        for key in QUICK_ENV:
            if key != "PYTHONPATH":
                os.environ.pop(key, None)
    try:
        daemon.wait_for(r"refused Papers/Bomb\.md: .*aliases expand", 30)
        daemon.wait_for(r"refused Papers/Loop\.md: .*self-referencing", 30)
        daemon.wait_for(r"filled Papers/Good\.md", 120)
        assert (papers / "Quoted.md").read_text(encoding="utf-8") == QUOTED

        stream = papers / "Stream.md"
        paragraphs = [STRUCTURAL + "# Streamed\n\n"] + [f"paragraph {i} " * 50 + "\n\n" for i in range(1, 5)]
        child = _writer(stream, 1.0, paragraphs)  # pauses 1 s each, longer than the 1 s quiet + 0.3 s settle
        assert child.wait(30) == 0
        daemon.wait_for(r"filled Papers/Stream\.md", 60)
        text = stream.read_text(encoding="utf-8")
        _assert_same_text(_user_text(text), _user_text("".join(paragraphs)))
        assert [r.name for r in find_regions(text)] == ["card", "params"]
        assert "Traceback" not in daemon.log()
        t0 = time.monotonic()
        daemon.proc.send_signal(signal.SIGTERM)
        assert daemon.proc.wait(5) == 0
        assert time.monotonic() - t0 < 2.5
    finally:
        daemon.stop()


# --------------------------------------------------------------------------- 3. nothing from the vault runs

def _plant_pickles(folder: Path, marker: Path) -> int:
    """Jinja bytecode-cache files for every shipped template whose header unpickles os.system."""
    import pickle

    from jinja2.bccache import BytecodeCache, bc_magic

    from vitnotes.render.templating import shipped_template_dir

    class Boom:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    for tpl in shipped_template_dir().glob("*.j2"):
        key = BytecodeCache().get_cache_key(tpl.name, str(tpl))
        (folder / f"__jinja2_{key}.cache").write_bytes(bc_magic + pickle.dumps(Boom(), 2))
        count += 1
    return count


def test_a_planted_bytecode_cache_in_the_vault_is_never_loaded(vault, tmp_path_factory):
    from vitnotes.pipeline import fill_note

    marker = tmp_path_factory.mktemp("out") / "PWNED"
    assert _plant_pickles(vault / ".vitnotes" / "cache" / "jinja", marker) > 5
    note = vault / "Papers" / "n.md"
    note.write_text("---\nvitnotes: {model: vit_tiny_patch16_224, sections: [card, params]}\n---\n"
                    "# Paper\n\n## Tensor Shapes\n", encoding="utf-8")
    result = fill_note(note)
    assert result.status == "filled", result.line()
    assert not marker.exists()


def test_templates_are_read_only_from_real_files_inside_their_folder(vault, tmp_path_factory):
    from vitnotes.render.templating import (
        SectionTemplateError,
        default_template_dirs,
        make_environment,
        render_template,
    )

    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret.md.j2").write_text("SECRET 42\n")
    tdir = vault / ".vitnotes" / "templates"
    tdir.mkdir(parents=True)
    (tdir / "card.md.j2").write_text('{% include "secret.md.j2" %}\n')
    (tdir / "secret.md.j2").symlink_to(outside / "secret.md.j2")
    (tdir / "params.md.j2").symlink_to(outside / "secret.md.j2")
    env = make_environment(default_template_dirs(vault))
    for name in ("card.md.j2", "params.md.j2"):
        with pytest.raises(SectionTemplateError, match="is a symlink"):
            render_template(env, name, {})
    (tdir / "ok.md.j2").write_text("{{ 6 * 7 }}\n")
    assert render_template(env, "ok.md.j2", {}) == "42\n"

    other = tmp_path_factory.mktemp("vault2")
    (other / ".vitnotes").mkdir()
    (other / ".vitnotes" / "templates").symlink_to(outside)
    with pytest.raises(SectionTemplateError, match="leads out of the vault"):
        default_template_dirs(other)


@pytest.mark.parametrize("body, message", [
    ("{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}", "ran longer than"),
    ("{% for i in range(99999) %}{% for j in range(99999) %}{{ i }}{% endfor %}{% endfor %}", "ran longer than"),
    ("{{ 'x' * 10**9 }}", "too large"),
], ids=["nested-loops", "nested-output", "huge-string"])
def test_a_hostile_vault_template_stops_in_bounded_time(vault, monkeypatch, body, message):
    from vitnotes.render import limits
    from vitnotes.render.templating import SectionTemplateError, make_environment, render_template

    monkeypatch.setattr(limits, "RENDER_SECONDS", 0.5)
    tdir = vault / ".vitnotes" / "templates"
    tdir.mkdir(parents=True)
    (tdir / "card.md.j2").write_text(body)
    t0 = time.monotonic()
    with pytest.raises(SectionTemplateError, match=message):
        render_template(make_environment([tdir]), "card.md.j2", {})
    assert time.monotonic() - t0 < 3


# --------------------------------------------------------------------------- 6. the cache validates what it returns

def _small_report():
    from test_cache import small_report  # the cache tests' Report

    return small_report()


PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64 + b"IEND\xaeB`\x82"


@pytest.mark.parametrize("damage", ["null", "list", "report-null", "truncated-json", "truncated-png", "not-png",
                                    "no-sums"])
def test_a_damaged_cache_entry_is_dropped_and_recomputed(tmp_path, damage):
    import hashlib
    import json as _json

    from vitnotes.cache import ReportCache

    cache = ReportCache(tmp_path)
    cache.put("k", _small_report(), {"pos_embed": PNG})
    assert cache.get("k") is not None
    entry, png = tmp_path / "k.json", tmp_path / "k.pos_embed.png"
    data = _json.loads(entry.read_text())
    if damage in ("null", "list"):
        entry.write_bytes(b"null" if damage == "null" else b"[]")
    elif damage == "report-null":
        entry.write_text(_json.dumps({**data, "report": None}))
    elif damage == "truncated-json":
        entry.write_bytes(entry.read_bytes()[:20])
    elif damage == "truncated-png":
        png.write_bytes(PNG[:30])
    elif damage == "not-png":  # even with a matching checksum: not a PNG
        png.write_bytes(b"GIF89a" + PNG[6:])
        data["sha256"]["pos_embed"] = hashlib.sha256(png.read_bytes()).hexdigest()
        entry.write_text(_json.dumps(data))
    else:
        entry.write_text(_json.dumps({k: v for k, v in data.items() if k != "sha256"}))
    assert cache.get("k") is None  # a miss, never an exception or a bad figure
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # the bad entry is gone
    cache.put("k", _small_report(), {"pos_embed": PNG})  # the recomputed entry is served again
    assert cache.get("k")[1] == {"pos_embed": PNG}


def test_a_weights_file_rewritten_with_same_size_and_restored_mtime_changes_the_key(tmp_path):
    from vitnotes.analysis.request import AnalysisRequest
    from vitnotes.cache import cache_key

    w = tmp_path / "w.safetensors"
    w.write_bytes(b"1234")
    imgs = tmp_path / "imgs"
    imgs.mkdir()
    (imgs / "a.png").write_bytes(b"aaaa")
    req = AnalysisRequest("m", weights=str(w), images=str(imgs), sections=("attention_distance",))
    before = cache_key(req)
    for path, data in ((w, b"5678"), (imgs / "a.png", b"bbbb")):
        st = path.stat()
        time.sleep(0.01)
        path.write_bytes(data)  # same size, in place
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # mtime restored
        assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns
        key = cache_key(req)
        assert key != before
        before = key
    assert cache_key(req) == before  # stable while nothing changes


def test_a_null_cache_entry_heals_within_a_fill(vault):
    """Issue 13: an entry set to `null` made every fill fail with "internal error" until --no-cache."""
    from vitnotes.cache import ReportCache, cache_key
    from vitnotes.pipeline import fill_note
    from vitnotes.spec import build_spec

    note = vault / "Papers" / "n.md"
    note.write_text("---\nvitnotes: {model: vit_tiny_patch16_224, sections: [card, params]}\n---\n"
                    "# Paper\n\n## Tensor Shapes\n", encoding="utf-8")
    assert fill_note(note).status == "filled"
    folder = vault / ".vitnotes" / "cache"
    key = cache_key(build_spec(read_note(note).frontmatter, vault_root=vault).request())
    (folder / f"{key}.json").write_text("null")
    result = fill_note(note)
    assert result.status == "unchanged", result.line()
    assert ReportCache(folder, vault).get(key) is not None  # recomputed and stored again


def test_a_section_whose_anchor_markdown_renders_as_code_goes_to_the_end():
    """Hypothesis' counterexample: a 4-space ``` does not close a fence in CommonMark, so the anchor
    below it is code; the region placed there would not be a region on the next fill (and would be
    added again and again). It goes under `## vitnotes` instead, and the merge is idempotent."""
    text = "```\n    ```\n- [ ] **Patch Size 是多少？**\n    0"
    anchors = {"patch": ["Patch Size"], "shapes": ["Tensor Shapes"]}
    result = merge(text, {"patch": "16 px", "shapes": ""}, anchors)
    assert sorted(r.name for r in find_regions(result.text)) == ["patch", "shapes"]
    assert result.text.startswith(text)  # the user's text untouched, the regions after it
    assert merge(result.text, {"patch": "16 px", "shapes": ""}, anchors).text == result.text


def test_a_fence_left_open_inside_a_region_does_not_hide_the_regions_after_it():
    """Hypothesis' second counterexample: a region body with an unclosed ``` (generated text is
    opaque to the scanner) must not turn the indented regions placed after it into code."""
    text = "## vitnotes\n## Heading\n- [ ] **Patch Size 是多少？**\n    0"
    secs = {"shapes": "```mermaid", "patch": "", "eq": "```"}
    result = merge(text, secs, {"patch": ["Patch Size"]})
    assert sorted(r.name for r in find_regions(result.text)) == sorted(secs)
    assert merge(result.text, secs, {"patch": ["Patch Size"]}).text == result.text
