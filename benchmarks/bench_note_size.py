"""How much of a filled note is vitnotes: lines and rendered height, filled vs the user's note.

    python benchmarks/bench_note_size.py [--note vault_example/Papers/ViT.md] [--out DIR] [--expanded]

Copies the example vault to a temp folder, fills the note with this checkout's vitnotes (its default
sections), and reports
  * lines: generated = filled − unfilled, against the user's own lines (the unfilled note);
  * height: both notes rendered as Obsidian's reading view shows them (callouts folded as written,
    700 px readable column) by benchmarks/render/render_check.mjs in headless Chromium, with
    elements wider than the column, KaTeX/Mermaid errors and each diagram's size; once without the
    frontmatter (the issue's measure) and once with it drawn as Obsidian's properties panel.
The render part needs Chromium and `(cd benchmarks/render && npm ci)`; without them only lines are
reported. Screenshots go to --out (default benchmarks/render/out, git-ignored): look at them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RENDER = REPO / "benchmarks" / "render"


def chromium() -> str | None:
    for name in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def render_available() -> str:
    """"" when the render check can run here, else why not."""
    if shutil.which("node") is None:
        return "node is not installed"
    if chromium() is None:
        return "Chromium is not installed (apt-get install chromium)"
    if not (RENDER / "node_modules" / "mermaid").is_dir():
        return "run (cd benchmarks/render && npm ci) first"
    return ""


def fill_copy(note: Path, workdir: Path) -> tuple[Path, Path]:
    """(unfilled copy, filled copy) of ``note``'s vault inside ``workdir``."""
    vault = note.resolve().parents[1]
    rel = note.resolve().relative_to(vault)
    before, after = workdir / "before", workdir / "after"
    ignore = shutil.ignore_patterns(".vitnotes", "node_modules")
    shutil.copytree(vault, before, ignore=ignore)
    shutil.copytree(vault, after, ignore=ignore)
    for copy in (before / rel, after / rel):  # start from the note as committed, not a filled working copy
        copy.write_bytes(_committed(note))
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, "-m", "vitnotes", "fill", "-q", str(after / rel)],
                          capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"fill failed: {proc.stdout}{proc.stderr}")
    return before / rel, after / rel


def _committed(note: Path) -> bytes:
    """The note as git has it at HEAD: in CI the Quickstart's own fill has already filled the working copy."""
    try:
        rel = note.resolve().relative_to(REPO).as_posix()
    except ValueError:
        return note.read_bytes()
    proc = subprocess.run(["git", "-C", str(REPO), "show", f"HEAD:{rel}"], capture_output=True)
    return proc.stdout if proc.returncode == 0 else note.read_bytes()


def line_counts(before: Path, after: Path) -> dict:
    user = len(before.read_text(encoding="utf-8").splitlines())
    filled = len(after.read_text(encoding="utf-8").splitlines())
    return {"user_lines": user, "filled_lines": filled, "generated_lines": filled - user,
            "generated_per_user_line": round((filled - user) / user, 2)}


def render_check(notes: list[Path], out: Path, expanded: bool = False, properties: bool = False) -> list[dict]:
    """One result per note from render_check.mjs (height, wide elements, errors, diagrams, screenshots)."""
    cmd = ["node", str(RENDER / "render_check.mjs"), "--out", str(out), *(["--expanded"] if expanded else []),
           *(["--properties"] if properties else []), *map(str, notes)]
    env = {**os.environ, "CHROMIUM": chromium() or ""}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"render_check failed: {proc.stderr.strip()}")
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--note", default=str(REPO / "vault_example" / "Papers" / "ViT.md"))
    ap.add_argument("--out", default=str(RENDER / "out"))
    ap.add_argument("--expanded", action="store_true", help="also render with every callout open")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        before, after = fill_copy(Path(args.note), Path(tmp))
        lines = line_counts(before, after)
        print(f"lines: user {lines['user_lines']}, filled {lines['filled_lines']}, generated "
              f"{lines['generated_lines']} = {lines['generated_per_user_line']}× the user's lines")
        why = render_available()
        if why:
            print(f"render check skipped: {why}")
            return 0
        out = Path(args.out)
        (out / "before").mkdir(parents=True, exist_ok=True)
        (unfilled,) = render_check([before], out / "before")
        (filled,) = render_check([after], out)
        print(f"height (callouts folded): unfilled {unfilled['height']} px, filled {filled['height']} px = "
              f"{filled['height'] / unfilled['height']:.2f}×")
        props = [r["height"] for r in render_check([before, after], out / "properties", properties=True)]
        print(f"height with the properties shown (Obsidian's default; callouts folded): unfilled {props[0]} px, "
              f"filled {props[1]} px = {props[1] / props[0]:.2f}×")
        if args.expanded:
            (opened,) = render_check([after], out, expanded=True)
            print(f"height (callouts open): {opened['height']} px; wider than the column: {opened['wide']}")
        print(f"wider than the 700 px column: {filled['wide'] or 'none'}")
        print(f"KaTeX errors: {filled['katex_errors'] or 'none'}; Mermaid errors: {filled['mermaid_errors'] or 'none'}")
        for d in filled["diagrams"]:
            print(f"diagram: {d.get('width')}×{d.get('height')} px (natural width {d.get('natural_width')}), "
                  f"edges crossing a title: {d.get('title_crossings')}")
        print(f"screenshots: {filled['screenshot']} (+ {len(filled['tiles'])} tiles)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
