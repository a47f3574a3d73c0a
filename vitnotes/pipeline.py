"""Fill one note: the single function that `fill` and `watch` are thin shells around (DESIGN.md §2).

parse → spec → analyze (or cache) → render → merge → write. Bad input (missing note, broken YAML,
markers, unknown keys, paths outside the vault) is *refused*: nothing on disk changes. A failed
analysis (unknown model, bad kwargs, bad weights) is *failed*: the note gets a visible warning
callout and keeps all of the user's text. torch is imported only when a Report must be computed.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from vitnotes.analysis.report import Report
from vitnotes.analysis.request import AnalysisRequest
from vitnotes.errors import NoteError, SpecError, VitnotesError

Progress = Optional[Callable[[str], None]]
WRITE_TRIES = 4


@dataclass
class FillOptions:
    model: Optional[str] = None  # used when the note's frontmatter names none
    force: bool = False  # overwrite regions the user edited
    use_cache: bool = True
    device: str = "cpu"
    progress: Progress = None
    # `fill --print` (the Obsidian plugin): compute the merged note but leave the note file alone;
    # `expect_sha` (sha256 of the bytes the caller read) refuses a note that changed since.
    write: bool = True
    expect_sha: Optional[str] = None
    cancel: Optional[threading.Event] = None  # set by the daemon's stop: ends a wait for another writer


@dataclass
class FillResult:
    path: Path
    status: str  # "filled" | "unchanged" | "refused" | "failed"
    message: str = ""
    display: str = ""  # the note's path relative to its vault, for log lines
    model: str = ""
    seconds: float = 0.0
    written_bytes: Optional[bytes] = None  # exactly what was written (the daemon ignores its own writes)
    merged_bytes: Optional[bytes] = None  # the note as merged (its old bytes when unchanged); set with write=False
    stale: bool = False  # refused because the note's sha256 was not FillOptions.expect_sha
    kept_edited: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return {"refused": 2, "failed": 1}.get(self.status, 0)

    def line(self) -> str:
        name = self.display or str(self.path)
        message = self.message
        for prefix in (f"{self.path}: ", f"{name}: "):  # errors that name the file already have it in front
            if message.startswith(prefix):
                message = message[len(prefix):]
        if self.status in ("refused", "failed"):
            return f"{self.status} {name}: {message}"
        detail = f"{self.model}, {self.seconds:.1f} s" if self.model else f"{self.seconds:.1f} s"
        extra = f"; {message}" if message else ""
        return f"{self.status} {name} ({detail}){extra}"


MODEL_SOURCES = {"frontmatter": "from this note's frontmatter", "--model": "from --model",
                 "vault config": "from .vitnotes/config.yaml", "default": "vitnotes' default"}


def _analyze(req: AnalysisRequest, cache, use_cache: bool, progress: Progress) -> tuple[Report, dict[str, bytes]]:
    from vitnotes.cache import cache_key
    from vitnotes.sections import figure_sections as drawn

    figure_sections = drawn(req.sections)
    key = cache_key(req)
    if use_cache:
        hit = cache.get(key, figure_sections)
        if hit is not None:
            return hit
    from vitnotes.analysis import analyze

    if progress:
        progress(f"profiling {req.model} …")
    report = analyze(req, progress=progress, on_idle=_import_figure_renderer if figure_sections else None)
    figures: dict[str, bytes] = {}
    if figure_sections:
        from vitnotes.render.figures import render_figures

        if progress and any(getattr(report, s, None) is not None for s in figure_sections):
            progress("drawing figures …")  # only when there is something to draw (not for a Swin or a CNN)
        figures = render_figures(report, figure_sections)
    if not report.weights_error:  # a failed weight load is retried next time (e.g. once online)
        cache.put(key, report, figures)
    return report, figures


def _import_figure_renderer() -> None:
    """matplotlib's import, done while the analyzer's child process runs the real forward."""
    from vitnotes.render.figures import warm_up

    warm_up()


def _render(path: Path, vault, spec, report: Report, figures: dict[str, bytes]) -> dict[str, str]:
    from vitnotes.obsidian.write import write_bytes_atomic
    from vitnotes.render.markdown import RenderContext, default_template_dirs, render_sections

    embeds = {}
    if figures:
        folder = vault.attachment_dir(path)
        folder.mkdir(parents=True, exist_ok=True)
        for section, data in figures.items():
            png = folder / vault.figure_name(path, section)
            write_bytes_atomic(png, data, vault_root=vault.root)
            embeds[section] = vault.embed(png, path)
    ctx = RenderContext(
        figures=embeds,
        template_dirs=default_template_dirs(vault.root),
        vault_root=vault.root,
        bytecode_cache=vault.root / ".vitnotes" / "cache" / "jinja",
        model_source=MODEL_SOURCES[spec.source],
    )
    return render_sections(report, spec.sections, ctx)


def _error_sections(note, spec, message: str, vault_root: Path) -> dict[str, str]:
    """The warning goes into every region the note already has, or into the first section."""
    from vitnotes.render.markdown import default_template_dirs, render_error

    callout = render_error(message, default_template_dirs(vault_root))
    present = [r.name for r in note.regions]
    names = [s for s in spec.sections if s in present] or list(spec.sections[:1])
    return {name: callout for name in names}


def fill_note(path: str | Path, opts: FillOptions | None = None) -> FillResult:
    """Fill one note in place. Never raises for a bad note: the result says what happened."""
    from vitnotes.obsidian.anchors import load_anchors
    from vitnotes.obsidian.guard import wait_settled
    from vitnotes.obsidian.note import read_note
    from vitnotes.obsidian.optin import check_paper_note
    from vitnotes.obsidian.regions import merge
    from vitnotes.obsidian.vault import Vault
    from vitnotes.obsidian.write import ConcurrentEdit, ensure_writable, write_note
    from vitnotes.spec import build_spec, read_vault_config

    opts = opts or FillOptions()
    start = time.perf_counter()
    path = Path(path).expanduser().absolute()
    result = FillResult(path=path, status="refused", display=str(path))
    try:
        if not path.is_file():
            raise NoteError(f"note not found: {path}", "check the path")
        vault = Vault.for_note(path)
        result.display = vault.display(path)
        ensure_writable(path, vault.root)  # a symlink out of the vault: refuse before any figure is written
        anchors = load_anchors(vault.root)
        config = read_vault_config(vault.root)
    except VitnotesError as exc:
        result.message = str(exc)
        return result

    for _ in range(WRITE_TRIES):
        try:
            wait_settled(path, opts.cancel)  # read only once no other program is writing the note
            note = read_note(path)
            if opts.expect_sha is not None and hashlib.sha256(note.raw).hexdigest() != opts.expect_sha.lower():
                result.stale = True
                raise NoteError(f"{path}: the note changed since it was read (its sha256 is not {opts.expect_sha})",
                                "read it again and retry")
            note.regions  # broken markers: refuse before any analysis or figure write (kept for later)
            check_paper_note(note.text, note.frontmatter, anchors, opts.model)  # a shopping list stays as it is
            spec = build_spec(note.frontmatter, vault_root=vault.root, cli_model=opts.model, vault_config=config)
        except VitnotesError as exc:
            result.status, result.message = "refused", str(exc)
            return result
        result.model = spec.model
        failure: Optional[VitnotesError] = None
        try:
            cache = _cache(vault)
            report, figures = _analyze(spec.request(opts.device), cache, opts.use_cache, opts.progress)
            sections = _render(path, vault, spec, report, figures)
        except (SpecError, NoteError) as exc:
            result.status, result.message = "refused", str(exc)
            return result
        except Exception as exc:  # noqa: BLE001 — an analyzer bug must not lose the note or stop the daemon
            failure = exc if isinstance(exc, VitnotesError) else VitnotesError(
                f"internal error while analysing {spec.model}: {type(exc).__name__}: {exc}".splitlines()[0],
                "please report this with the note's vitnotes: settings")
            try:
                sections = _error_sections(note, spec, str(failure), vault.root)
            except VitnotesError as inner:
                result.status, result.message = "refused", str(inner)
                return result
        try:
            merged = merge(note.text, sections, anchors, force=opts.force)
            if not opts.write:
                result.merged_bytes = note.encode(merged.text) if merged.changed else note.raw
            elif merged.changed:
                data = note.encode(merged.text)
                write_note(path, data, expected_raw=note.raw, vault_root=vault.root, cancel=opts.cancel)
                result.written_bytes = data
        except ConcurrentEdit:
            continue  # the user saved meanwhile: merge again from their new text
        except VitnotesError as exc:
            result.status, result.message = "refused", str(exc)
            return result
        result.seconds = time.perf_counter() - start
        result.kept_edited = list(merged.kept_edited)
        if failure is not None:
            result.status, result.message = "failed", str(failure)
        elif report.weights_error:  # structure filled; the weight-dependent sections say why they are not
            result.status, result.message = "failed", report.weights_error
        else:
            result.status = "filled" if merged.changed else "unchanged"
            if merged.kept_edited:
                result.message = (f"kept your edits in {', '.join(merged.kept_edited)} "
                                  "(--force overwrites them)")
        return result
    result.status, result.message = "refused", "the note kept changing while vitnotes wrote it; try again"
    return result


def _cache(vault):
    from vitnotes.cache import ReportCache

    return ReportCache(vault.root / ".vitnotes" / "cache", vault.root)
