"""Fill one note: the single function that `fill` and `watch` are thin shells around (docs/DESIGN.md).

prepare → compute → render → merge → commit:

- **prepare**: find the vault, refuse a note that resolves outside it, read anchors and vault defaults;
  read the note and its spec (broken markers or frontmatter: *refused*).
- **compute**: the Report and figure PNG bytes for the note's request, from the cache or the
  analyzer, once per request: a concurrent edit of the note's text is merged again without
  recomputing. A failed analysis (unknown model, bad kwargs, bad weights) is *failed*: the note gets
  a visible warning callout and keeps all of the user's text.
- **render**: Markdown per section and the figure embeds, in memory; nothing is written.
- **merge**: the sections into the note's text, the Report's `vn_` properties into its frontmatter
  (obsidian/frontmatter.py: only those keys' lines, values compared). A refusal here (an unclosed code fence where a region
  would go, …) leaves every file in the vault as it was.
- **commit**: only now the figure PNGs, then the note (compare-and-swap against what was read),
  then the cache entry; the properties' types are registered in types.json after it.

torch is imported only when a Report must be computed.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Literal, Optional

from vitnotes.analysis.report import Report
from vitnotes.analysis.request import AnalysisRequest
from vitnotes.errors import NoteError, SpecError, VitnotesError, for_note
from vitnotes.render.context import MAX_TRACE_ROWS

if TYPE_CHECKING:
    from vitnotes.cache import ReportCache
    from vitnotes.obsidian.companion import Kind
    from vitnotes.obsidian.frontmatter import PropertyEdit
    from vitnotes.obsidian.note import Note
    from vitnotes.obsidian.regions import MergeResult
    from vitnotes.obsidian.vault import Vault
    from vitnotes.spec import NoteSpec

Progress = Optional[Callable[[str], None]]
Status = Literal["filled", "unchanged", "refused", "failed"]
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
    status: Status
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


MODEL_SOURCES = {"frontmatter": "from frontmatter", "--model": "from --model",
                 "vault config": "from .vitnotes/config.yaml", "default": "vitnotes' default"}


@dataclass
class _Setup:
    """What prepare found once per fill: the vault and its settings."""

    vault: "Vault"
    anchors: dict[str, list[str]]
    config: Optional[dict[str, Any]]
    cache: "ReportCache"


@dataclass
class _Computed:
    """The outcome of compute: a Report and its figures, or the failure that replaces them."""

    request: AnalysisRequest
    report: Optional[Report] = None
    figures: dict[str, bytes] = field(default_factory=dict)
    failure: Optional[VitnotesError] = None
    key: str = ""
    to_cache: bool = False  # computed now (not served from the cache): commit stores it


@dataclass
class _Rendered:
    """Everything commit writes besides the note: figure PNGs by path. Sections are the note's part."""

    sections: dict[str, str]
    pngs: dict[Path, bytes] = field(default_factory=dict)
    failure: Optional[VitnotesError] = None
    companions: list[tuple[Path, str, "Kind"]] = field(default_factory=list)  # (path, text, kind): companion notes


# --------------------------------------------------------------------------- prepare


def _prepare(path: Path, result: FillResult) -> _Setup:
    from vitnotes.cache import ReportCache
    from vitnotes.obsidian.anchors import load_anchors
    from vitnotes.obsidian.vault import Vault
    from vitnotes.obsidian.write import ensure_writable
    from vitnotes.paths import vault_paths
    from vitnotes.spec import read_vault_config

    if not path.is_file():
        raise NoteError(f"note not found: {path}", "check the path")
    vault = Vault.for_note(path)
    result.display = vault.display(path)
    ensure_writable(path, vault.root)  # a symlink out of the vault: refuse before any work
    return _Setup(vault=vault, anchors=load_anchors(vault.root), config=read_vault_config(vault.root),
                  cache=ReportCache(vault_paths(vault.root).cache, vault.root))


def _read(path: Path, setup: _Setup, opts: FillOptions, result: FillResult) -> tuple["Note", "NoteSpec"]:
    from vitnotes.obsidian.guard import wait_settled
    from vitnotes.obsidian.note import read_note
    from vitnotes.obsidian.optin import check_paper_note
    from vitnotes.spec import build_spec

    wait_settled(path, opts.cancel)  # read only once no other program is writing the note
    note = read_note(path)
    if opts.expect_sha is not None and hashlib.sha256(note.raw).hexdigest() != opts.expect_sha.lower():
        result.stale = True
        raise NoteError(f"{path}: the note changed since it was read (its sha256 is not {opts.expect_sha})",
                        "read it again and retry")
    _ = note.regions  # broken markers: refuse before any analysis
    check_paper_note(note.text, note.frontmatter, setup.anchors, opts.model)  # a shopping list stays as it is
    spec = build_spec(note.frontmatter, vault_root=setup.vault.root, cli_model=opts.model, vault_config=setup.config)
    return note, spec


# --------------------------------------------------------------------------- compute


def _compute(req: AnalysisRequest, cache: "ReportCache", opts: FillOptions) -> _Computed:
    """The Report and figure PNGs for ``req`` (cache first); SpecError/NoteError mean *refused*."""
    from vitnotes.cache import cache_key
    from vitnotes.sections import figure_sections, get

    key = cache_key(req)
    if opts.use_cache:
        hit = cache.get(key)
        if hit is not None:
            return _Computed(req, report=hit[0], figures=hit[1], key=key)
    drawable = figure_sections(req.sections)
    try:
        from vitnotes import analysis

        if opts.progress:
            opts.progress(f"profiling {req.model} …")
        report = analysis.analyze(req, progress=opts.progress, on_idle=_import_figure_renderer if drawable else None)
        figures: dict[str, bytes] = {}
        if drawable:
            from vitnotes.render.figures import render_figures

            if opts.progress and any(get(s).has_figure(report) for s in drawable):
                opts.progress("drawing figures …")  # only when there is something to draw (not for a Swin or a CNN)
            figures = render_figures(report, drawable)
    except (SpecError, NoteError) as exc:
        raise for_note(exc) from None
    except Exception as exc:  # noqa: BLE001 — an analyzer bug must not lose the note or stop the daemon
        return _Computed(req, failure=_as_failure(exc, req.model), key=key)
    # A failed weight load is not cached: it is retried next time (e.g. once online).
    return _Computed(req, report=report, figures=figures, key=key, to_cache=not report.weights_error)


def _as_failure(exc: Exception, model: str) -> VitnotesError:
    """The analyzer's error for the request, with the hint a note's author needs."""
    if not isinstance(exc, VitnotesError):
        return VitnotesError(
            f"internal error while analysing {model}: {type(exc).__name__}: {exc}".splitlines()[0],
            "please report this with the note's vitnotes: settings")
    return for_note(exc)


def _import_figure_renderer() -> None:
    """matplotlib's import, done while the analyzer's child process runs the real forward."""
    from vitnotes.render.figures import warm_up

    warm_up()


# --------------------------------------------------------------------------- render (in memory)


def _render(path: Path, note: "Note", spec: "NoteSpec", setup: _Setup, computed: _Computed) -> _Rendered:
    """Markdown per section and the PNGs to write, or the failure callout; writes nothing."""
    if computed.report is None:
        assert computed.failure is not None
        return _Rendered(_error_sections(note, spec, str(computed.failure), setup.vault.root), failure=computed.failure)
    try:
        return _render_report(path, spec, setup.vault, computed)
    except (SpecError, NoteError):
        raise
    except Exception as exc:  # noqa: BLE001 — a broken vault template becomes a callout, not a traceback
        failure = _as_failure(exc, spec.model)
        return _Rendered(_error_sections(note, spec, str(failure), setup.vault.root), failure=failure)


def _render_report(path: Path, spec: "NoteSpec", vault: "Vault", computed: _Computed) -> _Rendered:
    from vitnotes.render.markdown import RenderContext, build_model_line, default_template_dirs, render_sections
    from vitnotes.sections import applicable

    assert computed.report is not None
    pngs: dict[Path, bytes] = {}
    embeds: dict[str, str] = {}
    if computed.figures:
        folder = vault.attachment_dir(path)
        for section, data in computed.figures.items():
            png = folder / vault.figure_name(path, section)
            pngs[png] = data
            embeds[section] = vault.embed(png, path)
    report = computed.report
    names = spec.sections if spec.sections_explicit else applicable(report, spec.sections)  # defaults follow the model
    model_line = build_model_line(report, MODEL_SOURCES[spec.source])
    template_dirs = default_template_dirs(vault.root)
    companions, links = _companion_notes(path, vault, report, names, model_line, template_dirs)
    ctx = RenderContext(
        figures=embeds,
        template_dirs=template_dirs,
        vault_root=vault.root,
        bytecode_cache=True,
        model_line=model_line,
        trace_link=links.get("trace", "") if "shapes" in names else "",
        rules_link=links.get("rules", ""),
        code_link=links.get("code", ""),
    )
    return _Rendered(render_sections(report, names, ctx), pngs, companions=companions)


def _companion_notes(path: Path, vault: "Vault", report: Report, names: tuple[str, ...] | list[str], model_line: str,
                     template_dirs: list[Path]) -> tuple[list[tuple[Path, str, "Kind"]], dict[str, str]]:
    """The companion notes this note gets (path, text, kind) and the links to them the regions carry:
    the op trace when the shapes or MACs are shown, the code listing with the code section."""
    from vitnotes.obsidian import companion
    from vitnotes.render.code_note import render_code_note
    from vitnotes.render.trace import RULES_HEADING, render_trace_note
    from vitnotes.sections.code import link_label

    wanted: dict[Kind, tuple[bool, str]] = {
        "trace": (bool({"shapes", "flops"} & set(names)) and bool(report.shapes.trace),
                  f"all {len(report.shapes.trace):,} ops"),
        "code": ("code" in names and bool(report.code and report.code.snippets), link_label(report)),
    }
    notes: list[tuple[Path, str, Kind]] = []
    links: dict[str, str] = {}
    for kind, (want, label) in wanted.items():
        target = companion.companion_path(vault, path, kind)
        if not want or companion.blocked(target, kind):  # a user's file of that name is never overwritten (nor linked)
            continue
        links[kind] = companion.link(vault, target, path, label)
        if kind == "trace":
            links["rules"] = companion.link(vault, target, path, "what is counted", heading=RULES_HEADING)
        back = companion.link(vault, path, target, path.stem)
        text = (render_trace_note(report, back, model_line, MAX_TRACE_ROWS) if kind == "trace" else
                render_code_note(report, back, model_line, template_dirs, bytecode_cache=True))
        notes.append((target, text, kind))
    return notes, links


def _error_sections(note: "Note", spec: "NoteSpec", message: str, vault_root: Path) -> dict[str, str]:
    """The warning goes into every region the note already has, or into the first section."""
    from vitnotes.render.markdown import default_template_dirs, render_error

    callout = render_error(message, default_template_dirs(vault_root))
    present = [r.name for r in note.regions]
    names = [s for s in spec.sections if s in present] or list(spec.sections[:1])
    return {name: callout for name in names}


def _merge_properties(merged: "MergeResult", note: "Note", spec: "NoteSpec", rendered: _Rendered,
                      computed: _Computed) -> Optional["PropertyEdit"]:
    """The note's vn_ properties from the Report, set in the merged text (one atomic write with the
    regions). None when they are turned off or there is no Report to take them from."""
    if not spec.properties or rendered.failure is not None or computed.report is None:
        return None
    from vitnotes.obsidian.frontmatter import set_properties
    from vitnotes.render.properties import KEYS, property_values

    edit = set_properties(merged.text, property_values(computed.report), KEYS, note.newline)
    merged.text, merged.changed = edit.text, edit.text != note.text
    return edit


# --------------------------------------------------------------------------- commit


def _commit(path: Path, note: "Note", merged: "MergeResult", rendered: _Rendered, computed: _Computed,
            setup: _Setup, opts: FillOptions, result: FillResult) -> None:
    """Figures, then the note (ConcurrentEdit if it changed since it was read), then the cache.
    With ``opts.write`` off the note is left alone and its merged bytes go to ``result``."""
    from vitnotes.obsidian.write import write_bytes_atomic, write_note

    root = setup.vault.root
    for png, data in rendered.pngs.items():
        write_bytes_atomic(png, data, vault_root=root)
    if not opts.write:
        result.merged_bytes = note.encode(merged.text) if merged.changed else note.raw
    elif merged.changed:
        data = note.encode(merged.text)
        write_note(path, data, expected_raw=note.raw, vault_root=root, cancel=opts.cancel)
        result.written_bytes = data
    if rendered.companions:  # the companion notes (op trace, code), like the PNGs vitnotes' own files
        from vitnotes.obsidian.companion import write_companion

        for target, text, kind in rendered.companions:
            write_companion(target, text, vault_root=root, kind=kind)
    if computed.to_cache and computed.report is not None:
        setup.cache.put(computed.key, computed.report, computed.figures)
        computed.to_cache = False


# --------------------------------------------------------------------------- the one entry point


def fill_note(path: str | Path, opts: FillOptions | None = None) -> FillResult:
    """Fill one note in place. Never raises for a bad note: the result says what happened."""
    opts = opts or FillOptions()
    start = time.perf_counter()
    path = Path(path).expanduser().absolute()
    result = FillResult(path=path, status="refused", display=str(path))
    try:
        setup = _prepare(path, result)
        merged = _fill(path, setup, opts, result)
    except VitnotesError as exc:
        result.status, result.message = "refused", str(exc)
        return result
    if merged is None:
        result.status, result.message = "refused", "the note kept changing while vitnotes wrote it; try again"
        return result
    result.seconds = time.perf_counter() - start
    return result


def _fill(path: Path, setup: _Setup, opts: FillOptions, result: FillResult) -> Optional["MergeResult"]:
    """Read → (compute) → render → merge → commit, again from the new text when the user saved
    meanwhile. Compute runs again only if the note's request changed. None: it kept changing."""
    from vitnotes.obsidian.regions import merge
    from vitnotes.obsidian.write import ConcurrentEdit

    computed: Optional[_Computed] = None
    for _ in range(WRITE_TRIES):
        note, spec = _read(path, setup, opts, result)
        result.model = spec.model
        req = spec.request(opts.device)
        if computed is None or computed.request != req:
            computed = _compute(req, setup.cache, opts)
        rendered = _render(path, note, spec, setup, computed)
        merged = merge(note.text, rendered.sections, setup.anchors, force=opts.force)
        if rendered.failure is None:
            _mark_stale(merged, note, rendered.sections, spec.model)
        props = _merge_properties(merged, note, spec, rendered, computed)
        try:
            _commit(path, note, merged, rendered, computed, setup, opts, result)
        except ConcurrentEdit:
            continue  # the user saved meanwhile: merge again from their new text
        _settle(result, merged, rendered.failure, computed.report)
        _settle_properties(result, props, setup.vault)
        return merged
    return None


def _mark_stale(merged: "MergeResult", note: "Note", sections: dict[str, str], model: str) -> None:
    """A one-line mark above each region the user edited that the model has since outgrown."""
    from vitnotes.obsidian.stale import apply_marks, stale_regions

    text = apply_marks(merged.text, stale_regions(note.regions, sections, merged.kept_edited), model)
    if text != merged.text:
        merged.text, merged.changed = text, text != note.text


def _settle_properties(result: FillResult, props: Optional["PropertyEdit"], vault: "Vault") -> None:
    """Register the keys just written in types.json; the fill line says what the user should know."""
    from vitnotes.obsidian.types_json import register_types
    from vitnotes.render.properties import TYPES

    if props is None:
        return
    said = f"properties not written: {props.skipped}" if props.skipped else ""
    if props.added or props.updated:
        wanted = {k: TYPES[k] for k in (*props.added, *props.updated)}
        said = register_types(vault.config_dir, wanted, vault.root).message(wanted)
    if said and result.status != "failed":
        result.message = "; ".join(m for m in (result.message, said) if m)


def _settle(result: FillResult, merged: "MergeResult", failure: Optional[VitnotesError],
            report: Optional[Report]) -> None:
    result.kept_edited = list(merged.kept_edited)
    if failure is not None:
        result.status, result.message = "failed", str(failure)
        return
    if report is not None and report.weights_error:  # structure filled; the weight sections say why not
        result.status, result.message = "failed", report.weights_error
        return
    result.status = "filled" if merged.changed else "unchanged"
    if merged.kept_edited:
        result.message = f"kept your edits in {', '.join(merged.kept_edited)} (--force overwrites them)"
