"""Commands, exit codes and progress output. Thin: the work lives in the modules it calls.

Exit codes: 0 done, 1 some work failed, 2 bad input (unknown model, bad option, missing file).
Heavy modules are imported inside the command that needs them, so `vitnotes fill` on a cached
note never imports torch.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Sequence

from vitnotes import __version__
from vitnotes.errors import VitnotesError


def _progress(msg: str) -> None:
    """One overwritten status line on a terminal, plain lines otherwise; always on stderr."""
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K" + msg)
        sys.stderr.flush()
    else:
        sys.stderr.write(msg + "\n")


def _progress_done() -> None:
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()


def _json_arg(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"--kwargs is not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("--kwargs must be a JSON object, e.g. '{\"depth\": 6}'")
    return value


def _sections_arg(text: str) -> tuple[str, ...]:
    from vitnotes.sections import names as section_names

    known = section_names()
    names = tuple(s.strip() for s in text.split(",") if s.strip())
    bad = [s for s in names if s not in known]
    if bad:
        raise argparse.ArgumentTypeError(f"unknown section {bad[0]!r}; choose from {', '.join(known)}")
    return names


def cmd_profile(args: argparse.Namespace) -> int:
    from vitnotes.analysis import analyze
    from vitnotes.analysis.request import AnalysisRequest
    from vitnotes.sections import structural_names
    from vitnotes.spec import check_model_kwargs, resolve_user_path

    check_model_kwargs(args.kwargs, key="--kwargs")
    req = AnalysisRequest(
        model=args.model,
        img_size=args.img_size,
        model_kwargs=args.kwargs,
        sections=args.sections or structural_names(),
        weights=str(resolve_user_path(args.weights, None, key="--weights")) if args.weights else None,
        pretrained=args.pretrained,
        images=str(resolve_user_path(args.images, None, key="--images", folder=True)) if args.images else None,
        num_images=args.num_images,
        device=args.device,
        flops_backend=args.flops_backend,
    )
    report = analyze(req, progress=None if args.quiet else _progress)
    _progress_done()
    if args.json:
        print(report.to_json(indent=2))
    else:
        from vitnotes.render.terminal import format_report

        print(format_report(report, args.sections))
    if report.weights_error:  # the structure above is right; the weight sections could not be computed
        _progress_done()
        print(f"vitnotes: error: {report.weights_error}", file=sys.stderr)
        return 2
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Measured latency and throughput of one model on this machine (the `speed` section's numbers)."""
    from vitnotes.analysis.speed import measure_speed
    from vitnotes.render.terminal import format_speed
    from vitnotes.spec import check_model_kwargs

    check_model_kwargs(args.kwargs, key="--kwargs")
    if args.batch < 1 or args.runs < 1 or args.warmup < 0:
        raise VitnotesError("--batch and --runs must be at least 1, --warmup at least 0")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    speed = measure_speed(args.model, args.img_size, args.kwargs, device=args.device, dtype=args.dtype,
                          batch=args.batch, runs=args.runs, warmup=args.warmup, progress=not args.quiet)
    if args.json:
        import dataclasses

        print(json.dumps(dataclasses.asdict(speed), indent=2))
        return 0
    print(format_speed(speed))
    return 0


def cmd_fill(args: argparse.Namespace) -> int:
    from vitnotes.fill_io import JsonEvents, note_paths
    from vitnotes.pipeline import FillOptions, fill_note

    notes = note_paths(args.notes, sys.stdin if args.stdin else None, args.vault)
    if args.list:
        print("\n".join(notes))
        return 0
    if args.print and len(notes) != 1:
        raise VitnotesError(f"--print fills exactly one note, not {len(notes)}", "give one note path")
    if args.expect_sha and not args.print:
        raise VitnotesError("--expect-sha goes with --print", "add --print")
    events = JsonEvents() if args.progress == "json" else None
    quiet = args.quiet or args.progress == "none"
    opts = FillOptions(
        model=args.model,
        force=args.force,
        use_cache=not args.no_cache,
        device=args.device,
        progress=events.progress if events else None if quiet else _progress,
        write=not args.print,
        expect_sha=args.expect_sha,
    )
    worst = 0
    for index, note in enumerate(notes):
        if events:
            events.start(note, index, len(notes))
        result = fill_note(note, opts)
        _progress_done()
        if events:
            events.result(result)
        if args.print:
            if result.merged_bytes is not None:
                sys.stdout.buffer.write(result.merged_bytes)
                sys.stdout.flush()
            if not events:
                print(result.line(), file=sys.stderr, flush=True)
        else:
            print(result.line(), flush=True)
        worst = max(worst, result.exit_code)
    if not notes and not args.quiet:
        print(f"vitnotes: no opted-in note in {args.vault}" if args.vault else "vitnotes: no note given",
              file=sys.stderr)
    return worst


def cmd_new(args: argparse.Namespace) -> int:
    from vitnotes.newnote import check_model_name, new_note

    if args.model is not None:
        check_model_name(args.model)
    path = new_note(args.title, model=args.model, vault=args.vault)
    print(f"created {path}")
    return 0


def cmd_base(args: argparse.Namespace) -> int:
    from vitnotes.obsidian.base_file import write_base

    result = write_base(args.vault, name=args.name, force=args.force)
    print(f"{result.status} {result.path}")
    return 0


def cmd_table(args: argparse.Namespace) -> int:
    from pathlib import Path

    from vitnotes.render.table import format_rows
    from vitnotes.table import collect_rows

    vault = Path(args.vault).expanduser()
    if not vault.is_dir():
        raise VitnotesError(f"{vault} is not a folder", "give the path of your Obsidian vault")
    rows = collect_rows(vault, warn=lambda msg: print(msg, file=sys.stderr))
    if not rows and args.format != "csv":
        print(f"no paper notes in {vault} (a note needs a vitnotes: key, or a fill that wrote vn_ properties)",
              file=sys.stderr)
        return 0
    print(format_rows(rows, args.format))
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    import timm

    pattern = args.pattern or "*"
    if not any(ch in pattern for ch in "*?["):  # a plain word matches anywhere: `models mixer`
        pattern = f"*{pattern}*"
    names = timm.list_models(pattern, pretrained=args.pretrained)
    if not names:
        print(f"vitnotes: no timm model matches {args.pattern!r}", file=sys.stderr)
        return 1
    print("\n".join(names))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vitnotes",
        description="Profile a paper's timm model and write the answers into an Obsidian note.",
    )
    parser.add_argument("--version", action="version", version=f"vitnotes {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_profile(sub)
    _add_bench(sub)
    _add_fill(sub)
    _add_small_commands(sub)

    from vitnotes import install_plugin, watch

    watch.configure_parser(sub.add_parser("watch", help="daemon: refill opted-in notes when saved"))
    install_plugin.configure_parser(
        sub.add_parser("install-plugin", help="copy the Obsidian plugin into a vault")
    )
    return parser


def _add_profile(sub) -> None:
    p = sub.add_parser("profile", help="print a model's shapes, params and MACs (no note)")
    p.add_argument("model", help="a timm model name, e.g. vit_base_patch16_224")
    p.add_argument("--img-size", type=int, default=None, help="input resolution (ViTs, Swin, …)")
    p.add_argument("--kwargs", type=_json_arg, default={}, help="JSON object of timm model kwargs")
    p.add_argument("--sections", type=_sections_arg, default=None, help="comma-separated sections")
    p.add_argument("--weights", default=None, help="local checkpoint (.safetensors, .pth/.bin, .npz)")
    p.add_argument("--pretrained", action="store_true",
                   help="timm's trained checkpoint (MODEL or MODEL.TAG): from the HF cache, else downloaded once into it")
    p.add_argument("--images", default=None, help="folder of images for the attention figures")
    p.add_argument("--num-images", type=int, default=16)
    p.add_argument("--device", default="cpu", help="cpu or cuda for the attention forward")
    p.add_argument("--flops-backend", choices=["dispatch", "fvcore"], default="dispatch",
                   help="dispatch (meta device, counts fused attention) or fvcore (cross-check)")
    p.add_argument("--json", action="store_true", help="print the Report as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=cmd_profile)



def _add_bench(sub) -> None:
    p = sub.add_parser("bench", help="measure a model's latency and throughput on this machine")
    p.add_argument("model", help="a timm model name, e.g. vit_base_patch16_224")
    p.add_argument("--img-size", type=int, default=None, help="input resolution (ViTs, Swin, …)")
    p.add_argument("--kwargs", type=_json_arg, default={}, help="JSON object of timm model kwargs")
    p.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    p.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default="float32")
    p.add_argument("--batch", type=int, default=16, help="throughput batch size (latency is batch 1)")
    p.add_argument("--runs", type=int, default=10, help="timed runs per batch size (median reported)")
    p.add_argument("--warmup", type=int, default=3, help="untimed runs first")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--json", action="store_true", help="print the measurement as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_bench)


def _add_fill(sub) -> None:
    p = sub.add_parser("fill", help="fill paper notes in place")
    p.add_argument("notes", nargs="*", help="note files (.md)")
    p.add_argument("--vault", default=None, metavar="DIR",
                   help="also every opted-in note of this vault (the watch daemon's rules)")
    p.add_argument("--stdin", action="store_true", help="also the note paths on stdin, one per line")
    p.add_argument("--list", action="store_true", help="print the notes it would fill and stop")
    p.add_argument("--print", action="store_true",
                   help="print the merged note on stdout instead of writing it (one note; figures are still written)")
    p.add_argument("--expect-sha", default=None, metavar="SHA256",
                   help="with --print: refuse unless the note's bytes have this sha256")
    p.add_argument("--progress", choices=["text", "json", "none"], default="text",
                   help="progress on stderr: a status line (text), JSON lines for programs (json), or none")
    p.add_argument("--model", default=None, help="model when the note's frontmatter names none")
    p.add_argument("--force", action="store_true", help="overwrite regions the user edited")
    p.add_argument("--no-cache", action="store_true", help="recompute even if a cached Report fits")
    p.add_argument("--device", default="cpu", help="cpu or cuda for the attention forward")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=cmd_fill)


def _add_small_commands(sub) -> None:
    p = sub.add_parser("new", help="create a paper note from the template")
    p.add_argument("title", help="note title (becomes the file name)")
    p.add_argument("--model", default=None, help="timm model for the note's frontmatter")
    p.add_argument("--vault", default=".", help="vault folder (default: current folder)")
    p.set_defaults(func=cmd_new)

    p = sub.add_parser("table", help="the vault's paper notes as one comparison table")
    p.add_argument("vault", metavar="VAULT", help="the vault folder")
    p.add_argument("--format", choices=["text", "markdown", "csv"], default="text")
    p.set_defaults(func=cmd_table)

    p = sub.add_parser("base", help="write an Obsidian Bases view (.base) comparing the vault's papers")
    p.add_argument("vault", metavar="VAULT", help="the vault folder")
    p.add_argument("--name", default="vitnotes.base", help="file name at the vault root (default vitnotes.base)")
    p.add_argument("--force", action="store_true", help="replace an existing file that differs")
    p.set_defaults(func=cmd_base)

    p = sub.add_parser("models", help="list timm model names (for suggestions)")
    p.add_argument("pattern", nargs="?", default=None,
                   help="a word found anywhere in the name (mixer), or a wildcard pattern ('vit_*')")
    p.add_argument("--pretrained", action="store_true", help="only names with published weights")
    p.set_defaults(func=cmd_models)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "fill" and not (args.notes or args.vault or args.stdin):
        parser.error("fill: give note paths, --vault DIR or --stdin")
    try:
        return int(args.func(args) or 0)
    except VitnotesError as exc:
        _progress_done()
        print(f"vitnotes: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        _progress_done()
        print("vitnotes: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `vitnotes profile … | head`: the reader left; not an error worth a traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def run() -> None:
    """The console script: `main`, then a quick exit once torch is loaded.

    Tearing down an interpreter that imported torch takes about a second; by the time `main`
    returns every note and figure is written (atomically, fsynced), so skip it.
    """
    code = main()
    if "torch" in sys.modules:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    raise SystemExit(code)


if __name__ == "__main__":
    run()
