"""Report -> one Markdown string per note section, through Jinja2 templates.

Each section's module in ``vitnotes/sections/`` turns the Report into a small "view" (numbers
already formatted, with units and conventions); the templates in
``templates/sections/<section>.md.j2`` only lay them out, so a vault can restyle a section
(``<vault>/.vitnotes/templates/<section>.md.j2``) without redoing the maths. Templating lives in
``render/templating.py`` (sandboxed: vault templates are untrusted), provenance and labels in
``render/provenance.py``, the Mermaid emitter in ``render/mermaid.py``.
Never imports torch (docs/DESIGN.md): a cached re-fill renders from a JSON Report alone.
"""

from __future__ import annotations

import dataclasses
from typing import Optional, Sequence

from vitnotes.analysis.report import Report
from vitnotes.render.context import MAX_TRACE_ROWS, RenderContext
from vitnotes.render.mermaid import mermaid_text
from vitnotes.render.provenance import build_model_line, weights_label
from vitnotes.render.templating import (
    ERROR_TEMPLATE, TEMPLATE_SUFFIX, SectionTemplateError, default_template_dirs, make_environment, render_error,
    render_template, shipped_template_dir, tidy,
)
from vitnotes.sections._section import no_view

__all__ = [
    "MAX_TRACE_ROWS", "ERROR_TEMPLATE", "TEMPLATE_SUFFIX", "RenderContext", "SectionTemplateError",
    "build_model_line", "default_template_dirs", "make_environment", "mermaid_text", "render_error",
    "render_sections", "shipped_template_dir", "tidy", "weights_label",
]


def render_sections(report: Report, sections: Sequence[str],
                    ctx: Optional[RenderContext] = None) -> dict[str, str]:
    """LF Markdown per section, unindented, ending in one newline (the note engine indents)."""
    from vitnotes.sections import registry

    ctx = dataclasses.replace(ctx or RenderContext(), sections=tuple(sections))
    env = make_environment(ctx.template_dirs, ctx.bytecode_cache)
    model_line = ctx.model_line or build_model_line(report, ctx.model_source)
    known = registry()
    out: dict[str, str] = {}
    for i, section in enumerate(sections):
        builder = known[section].view if section in known else no_view
        try:
            try:
                view = builder(report, ctx)
            except Exception as exc:  # a Report shape this code did not foresee: say so in the note
                raise SectionTemplateError(
                    f"could not prepare section '{section}' for {report.model}: {type(exc).__name__}: {exc}",
                    hint="please report this with the model name") from exc
            variables = {
                "report": report,
                "section": section,
                "model_line": model_line if i == 0 else "",  # provenance once per note, in its first region
                "figure": ctx.figures.get(section, ""),
                "view": view,
            }
            out[section] = tidy(render_template(env, section + TEMPLATE_SUFFIX, variables))
        except SectionTemplateError as exc:
            if ctx.on_error != "callout":
                raise
            out[section] = render_error(str(exc), ctx.template_dirs)
    return out
