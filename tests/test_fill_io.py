"""`vitnotes fill` driven by a program (the Obsidian plugin): --vault/--list discovery with the daemon's
rules, --stdin paths, --print --expect-sha (merged text on stdout, the note untouched), --progress json."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY = "---\nvitnotes:\n  model: vit_tiny_patch16_224\n  sections: [card, params]\n---\n# Tiny\n\nMy words.\n"


def vitnotes(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "vitnotes", *args], input=stdin.encode() if stdin else None,
                          capture_output=True,
                          env=env, timeout=300)


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    v = tmp_path / "vault"
    (v / ".obsidian").mkdir(parents=True)
    (v / ".obsidian" / "templates.json").write_text('{"folder": "Templates"}')
    for rel, text in {
        "Papers/Tiny.md": TINY,
        "Papers/Plain.md": "# not opted in\n",
        "Papers/Quoted.md": "---\n'vitnotes': vit_tiny_patch16_224\n---\n",
        "Templates/Paper.md": TINY,
        "Papers/Tiny (conflicted copy).md": TINY,
        ".trash/Old.md": TINY,
        "Papers/Body.md": "# Body\n\nvitnotes: only in the text\n",
    }.items():
        (v / rel).parent.mkdir(parents=True, exist_ok=True)
        (v / rel).write_text(text, encoding="utf-8")
    return v


def test_list_uses_the_daemons_rules(vault):
    res = vitnotes("fill", "--vault", str(vault), "--list")
    assert res.returncode == 0, res.stderr
    listed = [Path(p) for p in res.stdout.decode().splitlines()]
    assert listed == [vault / "Papers" / "Quoted.md", vault / "Papers" / "Tiny.md"]

    from vitnotes.watch.notes import NoteProcessor  # the daemon's start-up scan: the same notes
    from vitnotes.watch.rules import VaultRules

    class _Index:
        def stat_matches(self, rel, st): return False
        def get(self, rel): return None
        def record(self, *a): pass
        def rels(self): return []
        def forget(self, rel): pass

    proc = NoteProcessor(VaultRules.for_folder(vault), _Index(), fill=None, log=lambda m: None)
    assert sorted(Path(p) for p in proc.catch_up()) == listed


def test_stdin_paths_beyond_any_command_line_limit(vault):
    # 60,000 paths (~5 MB) would be E2BIG on the command line; through stdin they are just data.
    missing = [str(vault / "Papers" / f"missing-{i:05d}-{'x' * 60}.md") for i in range(60_000)]
    res = vitnotes("fill", "--stdin", "--list", stdin="\n".join(missing) + "\n")
    assert res.returncode == 0, res.stderr[-500:]
    assert res.stdout.decode().splitlines() == missing


def test_print_returns_the_merged_note_and_leaves_the_file(vault):
    note = vault / "Papers" / "Tiny.md"
    raw = note.read_bytes()
    sha = hashlib.sha256(raw).hexdigest()
    res = vitnotes("fill", "--print", "--expect-sha", sha, "--progress", "json", str(note))
    assert res.returncode == 0, res.stderr.decode()
    assert note.read_bytes() == raw, "--print never writes the note"
    merged = res.stdout.decode("utf-8")
    user_part = "".join(line for line in merged.splitlines(True) if not line.startswith("vn_"))  # + properties
    assert user_part.startswith(TINY.split("# Tiny")[0]) and "My words." in merged
    assert "\nvn_params_m: 5.717\n" in merged
    assert "<!-- vitnotes:begin params" in merged and "5,717,416" in merged  # ViT-Ti/16, timm's count
    events = [json.loads(line) for line in res.stderr.decode().splitlines()]
    assert events[0] == {"event": "start", "note": str(note), "index": 0, "total": 1}
    assert {e["event"] for e in events[1:-1]} == {"progress"} and len(events) > 2
    assert events[-1]["event"] == "result" and events[-1]["status"] == "filled"
    assert events[-1]["model"] == "vit_tiny_patch16_224" and events[-1]["stale"] is False

    # The same fill written by the CLI gives the same bytes.
    assert vitnotes("fill", "-q", str(note)).returncode == 0
    assert note.read_bytes() == res.stdout


def test_print_refuses_a_note_that_changed_since_it_was_read(vault):
    note = vault / "Papers" / "Tiny.md"
    raw = note.read_bytes()
    res = vitnotes("fill", "--print", "--expect-sha", hashlib.sha256(b"older text").hexdigest(),
                   "--progress", "json", str(note))
    assert res.returncode == 2
    assert res.stdout == b"", "nothing printed for a stale note"
    assert note.read_bytes() == raw
    result = json.loads(res.stderr.decode().splitlines()[-1])
    assert result["status"] == "refused" and result["stale"] is True
    assert "changed since it was read" in result["line"]


def test_print_takes_one_note(vault):
    res = vitnotes("fill", "--print", "--vault", str(vault))
    assert res.returncode == 2
    assert res.stderr.decode().strip() == "vitnotes: error: --print fills exactly one note, not 2 — give one note path"


def test_fill_without_notes_says_what_to_give():
    res = vitnotes("fill")
    assert res.returncode == 2
    assert "give note paths, --vault DIR or --stdin" in res.stderr.decode()
