"""Report -> one Markdown string per note section, through Jinja2 templates.

Python turns the Report into small "views" (numbers already formatted, with units and
conventions); the templates in ``templates/sections/<section>.md.j2`` only lay them out, so a vault
can restyle a section (``<vault>/.vitnotes/templates/<section>.md.j2``) without redoing the maths.
Vault templates are untrusted text: every template runs in Jinja2's sandbox.
Never imports torch (DESIGN.md §2): a cached re-fill renders from a JSON Report alone.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from vitnotes.analysis.report import Report, ShapeRow
from vitnotes.errors import VitnotesError
from vitnotes.render.numbers import (
    callout, fmt_int, fmt_macs, fmt_params, fmt_pct, fmt_shape, md_cell, md_table, quote, si,
)

TEMPLATE_SUFFIX = ".md.j2"
ERROR_TEMPLATE = "error.md.j2"
MAX_TRACE_ROWS = 5000  # a note is not a log file; the cut is said in the callout title


class SectionTemplateError(VitnotesError):
    """A section template (usually a vault override) failed to load or render."""


@dataclass
class RenderContext:
    """What the renderer needs besides the Report; all optional."""

    figures: dict[str, str] = field(default_factory=dict)  # section -> ready embed, e.g. ![[ViT.pos_embed.png]]
    template_dirs: list[Path] = field(default_factory=list)  # overrides first; shipped dir appended if absent
    model_source: str = ""  # where the model and settings came from, for the provenance line
    model_line: str = ""  # a provenance line of the caller's own; "" = build_model_line(report, model_source)
    on_error: str = "raise"  # "raise" a SectionTemplateError, or "callout": that section becomes a warning
    max_trace_rows: int = MAX_TRACE_ROWS
    vault_root: Optional[Path] = None  # paths inside it are shown relative: a note must not depend on where the vault lives
    bytecode_cache: Optional[Path] = None  # compiled templates kept here (Jinja's own cache): a re-fill skips compiling


def shipped_template_dir() -> Path:
    from vitnotes.paths import templates_dir

    return templates_dir() / "sections"


def default_template_dirs(vault: Optional[Path] = None) -> list[Path]:
    """``<vault>/.vitnotes/templates`` (when it exists) before the shipped section templates."""
    dirs = []
    if vault is not None and (Path(vault) / ".vitnotes" / "templates").is_dir():
        dirs.append(Path(vault) / ".vitnotes" / "templates")
    return dirs + [shipped_template_dir()]


# --------------------------------------------------------------------------- public API


def render_sections(report: Report, sections: Sequence[str],
                    ctx: Optional[RenderContext] = None) -> dict[str, str]:
    """LF Markdown per section, unindented, ending in one newline (the note engine indents)."""
    ctx = ctx or RenderContext()
    env = make_environment(ctx.template_dirs, ctx.bytecode_cache)
    model_line = ctx.model_line or build_model_line(report, ctx.model_source)
    out: dict[str, str] = {}
    for section in sections:
        builder = VIEWS.get(section, lambda r, c: {})
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
                "model_line": model_line,
                "figure": ctx.figures.get(section, ""),
                "view": view,
            }
            out[section] = tidy(_render(env, section + TEMPLATE_SUFFIX, variables))
        except SectionTemplateError as exc:
            if ctx.on_error != "callout":
                raise
            out[section] = render_error(str(exc), ctx.template_dirs)
    return out


def render_error(message: str, template_dirs: Sequence[Path] = ()) -> str:
    """The failure callout for a region: ``> [!warning] vitnotes: <message>`` (via error.md.j2).

    If the error template itself fails, the plain callout is returned: an error must never
    hide behind another one.
    """
    lines = (message.strip() or "unknown error").replace("\r\n", "\n").split("\n")
    plain = f"> [!warning] vitnotes: {lines[0]}" + ("\n" + quote("\n".join(lines[1:])) if lines[1:] else "")
    try:
        text = tidy(_render(make_environment(template_dirs), ERROR_TEMPLATE,
                            {"message": lines[0], "details": lines[1:], "section": "error"}))
    except SectionTemplateError:
        return tidy(plain)
    return text if text.strip() else tidy(plain)


def make_environment(template_dirs: Sequence[Path] = (), bytecode_cache: Optional[Path] = None) -> SandboxedEnvironment:
    """Sandboxed (vault templates are untrusted), StrictUndefined (a typo is an error, not a blank),
    no autoescape (the output is Markdown, not HTML)."""
    dirs = [Path(d) for d in template_dirs]
    shipped = shipped_template_dir()
    if not any(_same(d, shipped) for d in dirs):
        dirs.append(shipped)
    bcc = None
    if bytecode_cache is not None:
        Path(bytecode_cache).mkdir(parents=True, exist_ok=True)
        bcc = jinja2.FileSystemBytecodeCache(str(bytecode_cache))  # keyed by name + source checksum
    env = SandboxedEnvironment(
        bytecode_cache=bcc,
        loader=jinja2.FileSystemLoader([str(d) for d in dirs]),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        num=fmt_int, params=fmt_params, macs=fmt_macs, si=si, pct=fmt_pct, shape=fmt_shape,
        cell=md_cell, quote=quote,
    )
    env.globals.update(table=md_table, callout=callout)
    return env


def tidy(text: str) -> str:
    """LF only, no trailing spaces, at most one blank line in a row, no blank edges, one final LF."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
    return body + "\n"


def build_model_line(report: Report, source: str = "") -> str:
    """One line of provenance on every section: which model and settings it was computed for, and
    where they came from (e.g. "from this note's frontmatter")."""
    parts = [f"`{report.model}`"]
    if report.card.img_size:
        parts.append(f"input {fmt_shape(report.card.img_size)}")
    if report.model_kwargs:
        kwargs = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in sorted(report.model_kwargs.items()))
        parts.append("kwargs " + kwargs.replace("`", "'"))
    if source:
        parts.append(source)
    return " · ".join(parts)


def weights_label(report: Report) -> str:
    """What every weight-dependent figure says; random weights always say they are not trained."""
    w = report.weights
    if w is None:
        return "weights: unknown"
    label = w.label or (w.source if w.kind != "random" else "")
    if w.kind == "random":
        seed = f" (seed {w.seed})" if w.seed is not None else ""
        if "not a trained model" not in label:
            label = (label + " — " if label else f"random init{seed} — ") + "not a trained model"
    return label or w.kind


# --------------------------------------------------------------------------- rendering internals


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _render(env: SandboxedEnvironment, name: str, variables: dict[str, Any]) -> str:
    where = name
    try:
        template = env.get_template(name)
        where = template.filename or name
        return template.render(**variables)
    except jinja2.TemplateNotFound:
        raise SectionTemplateError(
            f"no template for section '{variables.get('section', name)}' ({name})",
            hint="use one of the known section names or add the template to <vault>/.vitnotes/templates",
        ) from None
    except jinja2.sandbox.SecurityError as exc:
        raise SectionTemplateError(
            f"template {where} tried an unsafe operation: {exc}",
            hint="templates are sandboxed; use only the variables and filters vitnotes provides",
        ) from None
    except jinja2.TemplateSyntaxError as exc:
        raise SectionTemplateError(
            f"template {exc.filename or where} line {exc.lineno}: {exc.message}",
            hint="fix the Jinja2 syntax or delete the override",
        ) from None
    except Exception as exc:  # an untrusted template can fail in many ways; none may be a traceback
        raise SectionTemplateError(
            f"template {where} failed: {type(exc).__name__}: {exc}",
            hint="fix the template or delete the override to get the shipped one back",
        ) from None


# --------------------------------------------------------------------------- views: Report -> template data


def _dims(report: Report) -> dict[str, Any]:
    """The paper's symbols for this model; None where the model has no such thing."""
    c = report.card
    hw = c.img_size or [None, None]
    prefix = c.num_prefix_tokens or 0
    d = {
        "H": hw[0], "W": hw[-1], "C": c.in_chans, "P": c.patch_size, "grid": c.grid,
        "N": c.num_patches, "T": c.num_tokens, "k": prefix, "D": c.embed_dim, "L": c.depth,
        "h": c.num_heads, "dk": c.head_dim, "mlp": c.mlp_hidden, "K": c.num_classes,
    }
    d["PPC"] = c.patch_size * c.patch_size * c.in_chans if c.patch_size else None
    d["sqrt_dk"] = _sqrt_text(c.head_dim) if c.head_dim else None
    d["N_sym"] = {0: "N", 1: "(N+1)"}.get(prefix, f"(N+{prefix})")
    pos = c.pos_embed_shape
    d["pos_rows"] = pos[-2] if pos and len(pos) >= 2 else None
    # E_pos covers the prefix tokens in the paper; some timm models (no_embed_class) add it to patches only.
    d["pos_sym"] = "N" if d["pos_rows"] is not None and d["pos_rows"] == c.num_patches else d["N_sym"]
    return d


def _sqrt_text(n: int) -> str:
    root = math.isqrt(n)
    return str(root) if root * root == n else f"{math.sqrt(n):.3f}"


def _is_vit_like(report: Report) -> bool:
    c = report.card
    return bool(c.patch_size and c.embed_dim and c.num_heads and c.depth and c.num_patches)


def _why_not_vit(report: Report, section: str = "equations") -> str:
    if report.unavailable.get(section):
        return f"Not computed for `{report.model}`: {report.unavailable[section]}"
    return (f"`{report.model}` ({report.card.family}) is not a plain ViT "
            "(no single patch size, width, head count and depth), so this section does not apply.")


def _card_view(report: Report, ctx: RenderContext) -> dict[str, Any]:
    c, d = report.card, _dims(report)
    rows = [("Model", f"`{report.model}`"), ("Family (timm class)", c.family)]
    if c.img_size:
        rows.append(("Input", f"B×{c.in_chans}×{fmt_shape(c.img_size)} (C×H×W)"))
    if c.patch_size:
        rows.append(("Patch size P", f"{c.patch_size}×{c.patch_size} px"))
    if c.grid:
        rows.append(("Patch grid", f"{fmt_shape(c.grid)} = {fmt_int(c.num_patches or 0)} patches"))
    if c.num_tokens:
        prefix = ", ".join(c.prefix_tokens) or "none"
        rows.append(("Sequence length", f"{c.num_tokens} tokens ({c.num_patches} patches + {d['k']} prefix: {prefix})"))
    for label, value in (("Width D (embed dim)", c.embed_dim), ("Depth L (blocks)", c.depth),
                         ("Heads h", c.num_heads), ("Head dim d_k = D/h", c.head_dim),
                         ("MLP hidden", c.mlp_hidden)):
        if value:
            rows.append((label, fmt_int(value)))
    if c.pos_embed:
        shape = f" ({fmt_shape(c.pos_embed_shape)})" if c.pos_embed_shape else ""
        rows.append(("Position embedding", c.pos_embed + shape))
    if c.pooling:
        rows.append(("Pooling", _POOLING_SHORT.get(c.pooling, c.pooling)))
    rows.append(("Classifier", c.classifier or (f"{c.num_classes} classes" if c.num_classes else "none (features only)")))
    rows.append(("Parameters", fmt_params(report.params.total)))
    rows.append(("MACs per image", fmt_macs(report.macs.total)))
    paper = []
    if c.paper_row:
        paper = [(str(k), str(v)) for k, v in c.paper_row.items()]
    return {"rows": rows, "paper_rows": paper}


_POOLING_SHORT = {
    "token": "token — the [CLS] output",
    "avg": "avg — global average pooling",
    "max": "max — global max pooling",
    "avgmax": "avgmax — global average and max pooling",
    "map": "map — attention pooling with a learned query",
    "": "none",
}

def _stage_sequence(report: Report) -> tuple[list[tuple[Any, bool]], Optional[Any], bool]:
    """The stage rows, each flagged "inside the repeated block", plus the block-stack row.

    The §5 shape list runs image → … → per-block steps → … → logits. If the analyzer listed the
    per-block steps only in ``shapes.block``, they are spliced in after the block-stack row
    (``blocks`` for ``blocks.0.*``), so the shape table and the diagram show them in order.
    Returns (rows, container row or None, whether rows were spliced in).
    """
    stages, block = report.shapes.stages, report.shapes.block
    block_mods = [b.module for b in block if b.module]

    def holds_blocks(row) -> bool:  # "blocks" holds "blocks.0.norm1": the next path part is an index
        prefix = row.module + "."
        return bool(row.module) and any(
            m.startswith(prefix) and m[len(prefix):].split(".")[0].isdigit() for m in block_mods)

    container = next((r for r in stages if holds_blocks(r)), None)
    if container is None:
        return [(r, False) for r in stages], None, False
    prefix = container.module + "."
    flagged = [(r, r is not container and r.module.startswith(prefix)) for r in stages]
    if any(inside for _, inside in flagged):
        return flagged, container, False
    at = stages.index(container) + 1
    spliced = [(ShapeRow(f"block: {b.stage}", b.shape, b.module, b.note), True) for b in block]
    return flagged[:at] + spliced + flagged[at:], container, True


def _shape_cells(r) -> tuple:
    return (r.stage, r.shape, f"`{r.module}`" if r.module else "", r.note)


def _shapes_view(report: Report, ctx: RenderContext) -> dict[str, Any]:
    s = report.shapes
    rows, container, _ = _stage_sequence(report)
    stages = [_shape_cells(r) for r, _ in rows]
    shown = {r.shape for r, _ in rows}
    # No block-stack row to splice after (CNNs, hierarchical models): one block as its own table.
    block = [_shape_cells(r) for r in s.block] if container is None and any(r.shape not in shown for r in s.block) else []
    block_name = next((r.module for r in s.block if r.module), "")
    trace = s.trace[: ctx.max_trace_rows]
    trace_rows = [
        (i + 1, f"`{t.module}`" if t.module else "", f"`{t.op}`", ", ".join(t.inputs), t.output,
         fmt_int(t.macs) if t.macs else "")
        for i, t in enumerate(trace)
    ]
    title = f"Full op trace ({fmt_int(len(s.trace))} ops)"
    if len(s.trace) > len(trace):
        title = f"Full op trace ({fmt_int(len(s.trace))} ops; first {fmt_int(len(trace))} shown)"
    trace_table = md_table(("#", "Module", "Op", "Inputs", "Output", "MACs"), trace_rows, "rllllr") if trace_rows else ""
    return {"stages": stages, "block": block, "block_name": block_name, "depth": report.card.depth,
            "trace_title": title, "trace_table": trace_table, "trace_count": len(s.trace)}


def _params_view(report: Report, ctx: RenderContext) -> dict[str, Any]:
    p = report.params
    total = p.total or 1
    groups = [(g.label, f"`{g.name}`", fmt_params(g.count), fmt_pct(g.count / total), _shapes_text(g.shapes))
              for g in p.groups]
    summed = sum(g.count for g in p.groups)
    if p.groups and summed != p.total:
        groups.append(("not in a group above", "", fmt_params(p.total - summed),
                       fmt_pct((p.total - summed) / total), ""))
    block_total = sum(r.count for r in p.block)
    block = [(r.label, f"`{r.name}`", fmt_params(r.count), fmt_pct(r.count / block_total if block_total else None),
              _shapes_text(r.shapes)) for r in p.block]
    depth = report.card.depth
    # "× L blocks" only where the blocks are identical (a ViT): a ResNet's, Swin's or EfficientNet's
    # first block is far smaller than its last. The check is exact: some group holds L × this block.
    if not (p.block and depth and any(g.count == block_total * depth for g in p.groups)):
        depth = None
    return {
        "block_title": "One block" if depth else f"First block (`{_common_module(p.block)}`; other blocks differ)",
        "total": fmt_params(p.total), "trainable": fmt_params(p.trainable),
        "frozen": p.total - p.trainable, "groups": groups,
        "block": block, "block_total": fmt_params(block_total) if p.block else "",
        "blocks_total": fmt_params(block_total * depth) if p.block and depth else "",
        "blocks_share": fmt_pct(block_total * depth / total) if p.block and depth else "",
        "depth": depth,
    }


def _common_module(rows) -> str:
    """The module path all ``rows`` share, e.g. ``layer1.0`` for ``layer1.0.conv1``, ``layer1.0.bn1``."""
    parts = [r.name.split(".") for r in rows] or [[]]
    common = []
    for level in zip(*parts):
        if len(set(level)) != 1:
            break
        common.append(level[0])
    if len(rows) == 1 and common:
        common = common[:-1]
    return ".".join(common)


def _shapes_text(shapes: list[list[int]]) -> str:
    return ", ".join(fmt_shape(s) for s in shapes)


def _macs_view(report: Report, ctx: RenderContext) -> dict[str, Any]:
    m = report.macs
    total = m.total or 1

    def rows(items):
        return [(r.name, si(r.macs, 2), si(2 * r.macs, 2), fmt_pct(r.macs / total)) for r in items]

    scaling = []
    base = report.scaling[0] if report.scaling else None
    quadratic = any(pt.attention_matmul_macs for pt in report.scaling)  # no attention: no N² columns
    for pt in report.scaling:
        tok = pt.num_tokens
        if not quadratic:
            scaling.append((f"{pt.img_size}×{pt.img_size}", fmt_macs(pt.macs),
                            f"×{pt.macs / base.macs:.2f}" if base and base.macs else "—",
                            f"×{(pt.img_size / base.img_size) ** 2:.2f}"))
            continue
        scaling.append((
            f"{pt.img_size}×{pt.img_size}", fmt_int(tok) if tok else "—", fmt_macs(pt.macs),
            si(pt.attention_matmul_macs, 2), fmt_pct(pt.attention_matmul_macs / pt.macs if pt.macs else None),
            f"×{pt.macs / base.macs:.2f}" if base and base.macs else "—",
            f"×{pt.attention_matmul_macs / base.attention_matmul_macs:.2f}" if base and base.attention_matmul_macs else "—",
            f"×{(tok / base.num_tokens) ** 2:.2f}" if base and tok and base.num_tokens else "—",
        ))
    return {
        "total": fmt_macs(m.total), "total_macs": fmt_int(m.total), "convention": m.convention,
        "backend": m.backend, "counted": list(m.counted), "not_counted": list(m.not_counted),
        "dispatch_total": fmt_macs(m.dispatch_total) if getattr(m, "dispatch_total", None) else "",
        "by_group": rows(m.by_group), "by_op": rows(m.by_op),
        "attention_share": fmt_pct(m.attention_share) if m.attention_share is not None else "",
        "mlp_share": fmt_pct(m.mlp_share) if m.mlp_share is not None else "",
        "scaling": scaling, "scaling_quadratic": quadratic, "activations": fmt_int(m.activations) if m.activations else "",
    }


def _patch_view(report: Report, ctx: RenderContext) -> dict[str, Any]:
    d = _dims(report)
    ok = bool(d["P"] and d["grid"])
    reason = "" if ok else (f"`{report.model}` ({report.card.family}) does not cut the image into patches: "
                            "there is no patch size (see the down-sampling section for how resolution shrinks).")
    remainder = bool(ok and d["H"] and (d["H"] % d["P"] or d["W"] % d["P"]))
    return {"ok": ok, "reason": reason, "d": d, "remainder": remainder,
            "prefix": ", ".join(report.card.prefix_tokens)}


def _downsampling_view(report: Report, ctx: RenderContext) -> dict[str, Any]:
    d = _dims(report)
    hier = [(r.name, r.resolution, fmt_int(r.channels), r.depth, r.downsample) for r in report.shapes.hierarchy]
    return {"hierarchy": hier, "d": d, "single": bool(not hier and d["P"] and d["grid"] and d["T"] and d["D"])}


def _block_view(report: Report, ctx: RenderContext) -> dict[str, Any]:
    rows = [_shape_cells(r) for r in report.shapes.block]
    per_block = sum(r.count for r in report.params.block)
    return {"rows": rows, "d": _dims(report), "params": fmt_params(per_block) if per_block else ""}


def _cls_view(report: Report, ctx: RenderContext) -> dict[str, Any]:
    c, d = report.card, _dims(report)
    has_cls = "cls" in c.prefix_tokens or any("cls_token" in g.name for g in report.params.groups)
    cls_params = next((g.count for g in report.params.groups if "cls_token" in g.name), None)
    return {"has_cls": has_cls, "d": d, "prefix": c.prefix_tokens, "pooling": c.pooling or "",
            "cls_params": fmt_params(cls_params) if cls_params else (fmt_int(d["D"]) if d["D"] else ""),
            "classifier": c.classifier or "", "num_classes": c.num_classes, "has_dist": "dist" in c.prefix_tokens,
            "pos_embed_shape": fmt_shape(c.pos_embed_shape) if c.pos_embed_shape else ""}


def _equations_view(report: Report, ctx: RenderContext) -> dict[str, Any]:
    c = report.card
    prefix_terms = []
    for tok in c.prefix_tokens:
        if tok == "cls":
            prefix_terms.append(r"\mathbf{x}_\text{class}")
        elif tok == "dist":
            prefix_terms.append(r"\mathbf{x}_\text{dist}")
        elif tok.startswith("reg"):
            prefix_terms.append(r"\mathbf{x}_\text{reg}^{1..%s}" % (tok.split("×")[-1] if "×" in tok else "r"))
    d = _dims(report)
    has_pos = bool(c.pos_embed_shape) and not (c.pos_embed or "").lower().startswith("none")
    return {"ok": _is_vit_like(report), "reason": _why_not_vit(report), "d": d,
            "prefix_terms": prefix_terms, "pooling": c.pooling or "", "has_pos": has_pos,
            "has_dist": "dist" in c.prefix_tokens,
            "pos_patches_only": has_pos and d["k"] > 0 and d["pos_sym"] == "N"}


def _diagram_view(report: Report, ctx: RenderContext) -> dict[str, Any]:
    """Mermaid flowchart lines: one node per step (consecutive steps with the same shape and note,
    like Q/K/V per head or identical CNN blocks, share a node), the tensor shape on each edge, the
    repeated block in a subgraph with its residual connections dashed. Labels are quoted and
    entity-escaped so Mermaid always parses them."""
    rows, container, _ = _stage_sequence(report)
    if not rows:
        return {"lines": [], "reason": f"No stage shapes in the report for `{report.model}`."}
    nodes: list[dict[str, Any]] = []
    for row, inside in rows:
        if row is container:
            continue
        last = nodes[-1] if nodes else None
        if last and last["inside"] == inside and last["shape"] == row.shape and last["note"] == row.note \
                and "residual" not in row.note.lower():
            last["names"].append(_short_stage(row.stage))
            continue
        nodes.append({"names": [_short_stage(row.stage)], "shape": row.shape, "note": row.note, "inside": inside})
    title = container.stage if container is not None else ""
    lines = ["flowchart TD"]
    opened = False
    for i, n in enumerate(nodes):
        if n["inside"] and not opened:
            lines.append(f'  subgraph blk["{mermaid_text(title or "repeated block")}"]')
        elif not n["inside"] and opened:
            lines.append("  end")
        opened = n["inside"]
        names = n["names"]
        name = ", ".join(names) if len(names) <= 3 else f"{names[0]} … {names[-1]} (×{len(names)})"
        label = mermaid_text(name) + (f"<br/>{mermaid_text(n['note'])}" if n["note"] else "")
        lines.append(f'  {"  " if opened else ""}n{i}["{label}"]')
    if opened:
        lines.append("  end")
    # Edges after every node is declared: an edge written inside a subgraph would pull an
    # outside node into it.
    for i in range(1, len(nodes)):
        lines.append(f'  n{i - 1} -- "{mermaid_text(nodes[i - 1]["shape"])}" --> n{i}')
    lines.append(f'  n{len(nodes) - 1} -- "{mermaid_text(nodes[-1]["shape"])}" --> out(["output"])')
    inside = [i for i, n in enumerate(nodes) if n["inside"]]
    if inside:  # pre-norm residuals: block input -> first add, first add -> second add, ...
        first = inside[0]
        src = first if "input" in nodes[first]["names"][0] or first == 0 else first - 1
        for i in inside:
            if "residual" in nodes[i]["note"].lower():
                lines.append(f"  n{src} -.-> n{i}")
                src = i
    return {"lines": lines, "reason": ""}


def _short_stage(stage: str) -> str:
    return stage[len("block: "):] if stage.startswith("block: ") else stage


_MERMAID_ESC = {'"': "#quot;", "#": "#35;", "|": "#124;", "<": "#lt;", ">": "#gt;", "`": "#96;"}


def mermaid_text(text: str) -> str:
    """Text safe inside a quoted Mermaid label: quotes, pipes, angle brackets, ``#`` as entity codes."""
    return "".join(_MERMAID_ESC.get(ch, ch) for ch in " ".join(str(text).split()))


def _heads_view(report: Report, ctx: RenderContext) -> dict[str, Any]:
    a = report.params.attention
    if a is None:
        reason = report.unavailable.get("heads") or (
            f"No single multi-head attention layout found in `{report.model}` ({report.card.family}): "
            "it has no global self-attention with one width and head count (a CNN, or attention whose "
            "width changes by stage), so there is no one set of W^Q, W^K, W^V, W^O to show.")
        return {"ok": False, "reason": reason}
    per_head = a.wq[0] * a.wq[1]
    qkv_w = 3 * a.num_heads * per_head
    qkv_b = 3 * a.embed_dim if a.qkv_bias else 0
    if getattr(a, "qkv_bias_params", None) is not None:  # EVA/BEiT learn q and v biases only (2·D)
        qkv_b = a.qkv_bias_params
    wo = a.wo[0] * a.wo[1]
    proj_b = a.params_per_block - qkv_w - qkv_b - wo
    depth = report.card.depth
    rows = [
        ("W^Q_i (query)", fmt_shape(a.wq), fmt_params(per_head), fmt_params(a.num_heads * per_head)),
        ("W^K_i (key)", fmt_shape(a.wk), fmt_params(a.wk[0] * a.wk[1]), fmt_params(a.num_heads * a.wk[0] * a.wk[1])),
        ("W^V_i (value)", fmt_shape(a.wv), fmt_params(a.wv[0] * a.wv[1]), fmt_params(a.num_heads * a.wv[0] * a.wv[1])),
        ("W^O (output, shared)", fmt_shape(a.wo), "— (shared)", fmt_params(wo)),
    ]
    if qkv_b == 3 * a.embed_dim:
        rows.append(("q, k, v biases", f"3×{a.head_dim}", fmt_int(3 * a.head_dim), fmt_params(qkv_b)))
    elif qkv_b == 2 * a.embed_dim:
        rows.append(("q, v biases (k bias fixed at 0)", f"2×{a.head_dim}", fmt_int(2 * a.head_dim), fmt_params(qkv_b)))
    elif qkv_b:
        rows.append(("q, k, v biases", "—", "—", fmt_params(qkv_b)))
    if proj_b > 0:
        rows.append(("W^O bias (shared)", fmt_int(proj_b), "—", fmt_params(proj_b)))
    rows.append(("**total per block**", "", "", fmt_params(a.params_per_block)))
    if not qkv_b:
        bias_text = "without biases"
    elif qkv_b == 2 * a.embed_dim:
        bias_text = "without a bias; the learned q and v biases are separate parameters (`attn.q_bias`, `attn.v_bias`)"
    else:
        bias_text = "with biases"
    return {"ok": True, "a": a, "rows": rows, "depth": depth, "qkv_out": 3 * a.num_heads * a.head_dim,
            "bias_text": bias_text,
            "all_blocks": fmt_params(a.params_per_block * depth) if depth else "",
            "share": fmt_pct(a.params_per_block * depth / report.params.total) if depth and report.params.total else "",
            "sqrt_dk": _sqrt_text(a.head_dim)}


def _shown_path(source: str, root: Optional[Path]) -> str:
    """`Attachments/samples` rather than /home/me/vault/Attachments/samples, when inside the vault."""
    if root is None or not Path(source).is_absolute():
        return source
    try:
        return Path(source).relative_to(root).as_posix() or "."
    except ValueError:
        return source


def _figure_view(section: str) -> Callable[[Report, RenderContext], dict[str, Any]]:
    def build(report: Report, ctx: RenderContext) -> dict[str, Any]:
        data = getattr(report, section, None)
        images = report.images
        view: dict[str, Any] = {
            "has_data": data is not None, "weights": weights_label(report),
            "random": bool(report.weights and report.weights.kind == "random"),
            "images": "", "reason": "",
        }
        if images is not None:
            skipped = f"; {len(images.skipped)} skipped ({'; '.join(images.skipped)})" if images.skipped else ""
            source = _shown_path(images.source, ctx.vault_root)
            view["images"] = f"{images.count} image{'s' if images.count != 1 else ''} from {source}{skipped}"
        if data is None:
            view["reason"] = _figure_missing_reason(report, section)
        view.update(_FIGURE_EXTRA[section](report, data) if data is not None else {})
        return view
    return build


def _figure_missing_reason(report: Report, section: str) -> str:
    c = report.card
    who = f"`{report.model}` ({c.family})"
    if report.unavailable.get(section):
        return f"Not computed for {who}: {report.unavailable[section]}"
    if section in ("attention_distance", "rollout") and not (c.num_heads and c.patch_size):
        return (f"{who} has no single global self-attention over one patch grid, so the ViT paper's "
                "attention maps are not defined for it.")
    if section == "pos_embed" and (not c.pos_embed_shape or (c.pos_embed or "").lower() == "none"):
        return f"{who} has no learned absolute position embedding ({c.pos_embed or 'none'}): nothing to compare."
    if section == "filters" and not c.patch_size:
        return f"{who} has no patch-embedding projection E: no embedding filters to show."
    return f"Not computed for {who} in this run."


def _mad_extra(report: Report, data: Any) -> dict[str, Any]:
    rows = []
    for layer, heads in enumerate(data.mad_px, start=1):
        if heads:
            rows.append((layer, f"{min(heads):.1f}", f"{sum(heads) / len(heads):.1f}", f"{max(heads):.1f}"))
    flat = [v for heads in data.mad_px for v in heads]
    return {"rows": rows, "uniform": f"{data.uniform_px:.1f}", "summary": data.summary,
            "grid": fmt_shape(data.grid), "patch": data.patch_size, "n": data.num_images,
            "spread": f"{min(flat):.1f}–{max(flat):.1f}" if flat else ""}


def _pos_extra(report: Report, data: Any) -> dict[str, Any]:
    return {"grid": fmt_shape(data.grid), "n": len(data.similarity)}


def _filters_extra(report: Report, data: Any) -> dict[str, Any]:
    ev = data.explained_variance
    return {"k": len(data.components), "patch": data.patch_size, "chans": data.in_chans,
            "explained": fmt_pct(sum(ev)) if ev else "",
            "first": ", ".join(fmt_pct(v) for v in ev[:5])}


def _rollout_extra(report: Report, data: Any) -> dict[str, Any]:
    return {"grid": fmt_shape(data.grid), "n": len(data.masks), "names": ", ".join(i.name for i in data.images)}


_FIGURE_EXTRA = {
    "attention_distance": _mad_extra, "pos_embed": _pos_extra, "filters": _filters_extra, "rollout": _rollout_extra,
}

VIEWS: dict[str, Callable[[Report, RenderContext], dict[str, Any]]] = {
    "card": _card_view, "shapes": _shapes_view, "params": _params_view, "flops": _macs_view,
    "patch": _patch_view, "downsampling": _downsampling_view, "block": _block_view, "cls": _cls_view,
    "equations": _equations_view, "diagram": _diagram_view, "heads": _heads_view,
    **{s: _figure_view(s) for s in _FIGURE_EXTRA},
}
