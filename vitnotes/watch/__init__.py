"""`vitnotes watch VAULT`: a daemon that re-fills opted-in notes a few seconds after they are saved.

This module is the command's shell only (options, the fill function, the warm-up) and is imported by
`cli.py` on every command, so it imports nothing heavy: watchdog, the pipeline and torch load inside
`run`. The parts: rules (which files), index (hash index), queue (quiet period), notes (one note),
worker (the thread), events (watchdog), pidfile, signals, daemon (wiring). Docs: README, "vitnotes watch".
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from pathlib import Path

from vitnotes.errors import VitnotesError


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--settle takes seconds, e.g. 3 or 1.5 (got {text!r})") from None
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError("--settle must be between 0 and 3600 seconds")
    return value


def configure_parser(p: argparse.ArgumentParser) -> None:
    p.description = ("Watch a vault and fill each opted-in note (a `vitnotes:` frontmatter key) once it has "
                     "been still for the settle time. Other notes are never written (remove the key to stop: "
                     "regions stay as last written). Notes changed while the daemon was down are filled at start.")
    p.add_argument("vault", metavar="VAULT", help="the vault folder (the one holding .obsidian)")
    p.add_argument("--settle", type=_seconds, default=3.0, metavar="SECONDS",
                   help="act once a note has been still this long (default 3; Obsidian autosaves after ~2 s)")
    # The old name, kept working: `-q/--quiet` means "no progress line" everywhere else.
    p.add_argument("--quiet", dest="settle", type=_seconds, help=argparse.SUPPRESS)
    p.add_argument("--poll", action="store_true",
                   help="poll the folder instead of OS notifications (network drives, some sync folders)")
    p.add_argument("--once", action="store_true",
                   help="fill the notes changed since the last run, then exit (cron, Shell commands plugin)")
    p.add_argument("--force", action="store_true",
                   help="overwrite regions you edited by hand (on every save: use with care)")
    p.add_argument("--device", default="cpu", help="cpu or cuda for the attention forward")
    p.add_argument("-v", "--verbose", action="store_true", help="also log file events, skipped notes and every progress line")
    p.set_defaults(func=run)


def _warm_analyzer() -> None:
    """Import the analyzer's heavy modules (torch, timm) once, while the daemon is idle."""
    import vitnotes.analysis.structure  # noqa: F401  (imports torch and, through build, timm)
    import timm  # noqa: F401


def _warn_if_inside_a_vault(root: Path, log) -> None:
    from vitnotes.obsidian.vault import Vault

    outer = Vault.for_note(root.absolute() / "_")
    if not outer.is_fallback and outer.root != root.absolute():
        log(f"note: {root} is a folder inside the vault {outer.root}; this daemon's pid file lives in "
            f"{root}/.vitnotes, where the Obsidian plugin does not look — `vitnotes watch {outer.root}` "
            "watches the whole vault")


def _progress_to(log):
    """The daemon log gets what a user should see unasked — a checkpoint download being announced,
    warnings — and every progress line (download bar, forward batches) with --verbose."""
    def progress(msg: str) -> None:
        if msg.startswith(("downloading ", "warning: ")):
            log(msg)
        else:
            log.debug(msg)
    return progress


def run(args: argparse.Namespace) -> int:
    from vitnotes.pipeline import FillOptions, fill_note
    from vitnotes.watch.daemon import Logger, WatchOptions, serve

    root = Path(args.vault).expanduser()
    if not root.is_dir():
        what = "is a file, not a folder" if root.exists() else "not found"
        raise VitnotesError(f"vault folder {what}: {args.vault}", "give the folder that holds .obsidian")
    log = Logger(sys.stdout, verbose=args.verbose, timestamps=not os.environ.get("JOURNAL_STREAM"))
    _warn_if_inside_a_vault(root, log)
    cancel = threading.Event()  # a stop ends a fill's wait for another program writing its note
    opts = FillOptions(force=args.force, device=args.device, progress=_progress_to(log), cancel=cancel)
    code = serve(
        root,
        fill=lambda path: fill_note(path, opts),
        opts=WatchOptions(quiet=args.settle, poll=args.poll, once=args.once, on_stop=cancel.set),
        log=log,
        warm=_warm_analyzer,
    )
    return code  # vitnotes.cli.run skips the slow teardown of a torch-loaded interpreter
