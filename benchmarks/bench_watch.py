"""The watch daemon's two numbers: save-to-filled latency for a cached note, and idle CPU.

    python benchmarks/bench_watch.py [--quiet 1] [--runs 5] [--idle-seconds 30] [--poll]

Targets (issue 5): latency = quiet period + < 0.5 s; idle CPU < 1 % of one core over 30 s.
A real `vitnotes watch` subprocess on a temporary vault with a vit_tiny note. The note is filled
once with `--once` first (so the Report is cached), then the daemon is started and, after it has
pre-loaded the analyzer, the note is saved repeatedly in two ways:
  - a text-only edit (the regions come out identical: the fill answers "unchanged", no write);
  - one generated region deleted by the user (the fill puts it back: "filled", one write).
Latency is measured from the save to the daemon's log line. Idle CPU is the daemon's user+system
time (from /proc, else `ps`) over the idle window divided by its length.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

NOTE = """---
vitnotes:
  model: vit_tiny_patch16_224
  sections: [card, shapes, params, flops]
---
# Bench paper

## 张量变化 (Tensor Shapes)

edit {n}
"""


class Daemon:
    def __init__(self, vault: Path, *args: str):
        self.lines: list[tuple[float, str]] = []
        self.cond = threading.Condition()
        self.proc = subprocess.Popen([sys.executable, "-m", "vitnotes", "watch", str(vault), "-v", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            with self.cond:
                self.lines.append((time.perf_counter(), line.rstrip()))
                self.cond.notify_all()

    def wait_for(self, pattern: str, after: float, timeout: float = 120.0) -> float:
        rx, deadline = re.compile(pattern), time.perf_counter() + timeout
        with self.cond:
            while True:
                for t, line in self.lines:
                    if t >= after and rx.search(line):
                        return t
                if time.perf_counter() > deadline:
                    raise SystemExit(f"no /{pattern}/ in the daemon's log:\n" + "\n".join(line for _, line in self.lines))
                self.cond.wait(0.1)


def cpu_seconds(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    out = subprocess.run(["ps", "-o", "time=", "-p", str(pid)], capture_output=True, text=True).stdout.strip()
    parts = [float(p) for p in re.split("[:-]", out)]
    return sum(v * m for v, m in zip(reversed(parts), (1, 60, 3600, 86400)))


def save(path: Path, text: str) -> float:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return time.perf_counter()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quiet", type=float, default=1.0)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--idle-seconds", type=float, default=30.0)
    ap.add_argument("--poll", action="store_true", help="measure the polling observer instead of inotify")
    args = ap.parse_args()

    vault = Path(tempfile.mkdtemp(prefix="vitnotes-bench-watch-"))
    try:
        (vault / ".obsidian").mkdir()
        (vault / ".obsidian" / "app.json").write_text(json.dumps({}))
        note = vault / "Bench.md"
        save(note, NOTE.format(n=0))
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "vitnotes", "watch", str(vault), "--once"], check=True,
                       capture_output=True)
        print(f"cold fill (--once, torch import + analysis): {time.perf_counter() - t:.2f} s")

        extra = ["--quiet", str(args.quiet)] + (["--poll"] if args.poll else [])
        d = Daemon(vault, *extra)
        t = time.perf_counter()
        d.wait_for(r"watching ", t)
        d.wait_for(r"analyzer loaded", t)
        print(f"daemon ready (analyzer pre-loaded) after {time.perf_counter() - t:.2f} s")

        text_edit, region_restore = [], []
        for n in range(1, args.runs + 1):
            current = note.read_text(encoding="utf-8")
            t = save(note, current.replace(f"edit {n - 1}", f"edit {n}"))
            text_edit.append(d.wait_for(r"(unchanged|filled) Bench\.md", t) - t)
            time.sleep(args.quiet + 0.3)  # let the daemon settle its own events
            current = note.read_text(encoding="utf-8")
            cut = re.sub(r"<!-- vitnotes:begin params.*?<!-- vitnotes:end params -->\n?", "", current, flags=re.S)
            assert cut != current, "the params region was not found"
            t = save(note, cut)
            region_restore.append(d.wait_for(r"filled Bench\.md", t) - t)
            time.sleep(args.quiet + 0.3)

        for name, xs in (("text edit -> unchanged (no write)", text_edit),
                         ("region deleted -> filled (one write)", region_restore)):
            med = statistics.median(xs)
            print(f"save-to-done, {name}: median {med:.3f} s, max {max(xs):.3f} s over {len(xs)} saves; "
                  f"over the {args.quiet:g} s quiet period: {med - args.quiet:+.3f} s (target < 0.5 s)")

        time.sleep(2.0)
        c0, t0 = cpu_seconds(d.proc.pid), time.perf_counter()
        time.sleep(args.idle_seconds)
        c1, t1 = cpu_seconds(d.proc.pid), time.perf_counter()
        pct = 100.0 * (c1 - c0) / (t1 - t0)
        how = "polling" if args.poll else "native events"
        print(f"idle CPU over {t1 - t0:.0f} s ({how}): {pct:.2f} % of one core "
              f"({c1 - c0:.2f} s CPU) (target < 1 %)")

        d.proc.send_signal(signal.SIGTERM)
        t = time.perf_counter()
        code = d.proc.wait(30)
        print(f"SIGTERM to exit: {time.perf_counter() - t:.2f} s, exit code {code}")
    finally:
        shutil.rmtree(vault, ignore_errors=True)


if __name__ == "__main__":
    main()
