"""Report -> plain-text tables for `vitnotes profile` (no note, no Markdown, no torch)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Optional, Sequence

from vitnotes.analysis.report import Report, Speed
from vitnotes.render.numbers import fmt_int, fmt_macs, fmt_params, fmt_pct, si
from vitnotes.render.stages import stage_label


def text_table(headers: Sequence[str], rows: Sequence[Sequence[object]], right: str | Collection[int] = "") -> str:
    """Aligned columns; columns whose index is in ``right`` (digits, or ints) are right-aligned (numbers)."""
    right_cols = {int(c) for c in right} if isinstance(right, str) else set(right)
    cells = [[str(h) for h in headers]] + [["—" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(r):
        return "  ".join(c.rjust(w) if i in right_cols else c.ljust(w)
                         for i, (c, w) in enumerate(zip(r, widths))).rstrip()

    head = [line(cells[0]), "  ".join("-" * w for w in widths)] if any(headers) else []
    return "\n".join(head + [line(r) for r in cells[1:]])


def _section(title: str, body: str) -> str:
    return f"{title}\n{'=' * len(title)}\n{body}"


def _card(report: Report) -> str:
    c = report.card
    card: list[tuple[str, object]] = [("model", c.model), ("family", c.family),
            ("input", f"{c.in_chans}×{c.img_size[0]}×{c.img_size[1]}" if c.img_size else None)]
    if c.patch_size:
        card += [("patch size", f"{c.patch_size}×{c.patch_size} px"),
                 ("grid", "×".join(map(str, c.grid)) if c.grid else None), ("patches", c.num_patches)]
    if c.stem:
        card.append(("stem", c.stem))
    if c.num_tokens is not None:
        card += [("prefix tokens", ", ".join(c.prefix_tokens) or "none"), ("tokens N", c.num_tokens)]
    depth_label = "depth L" if c.num_heads is not None else "blocks"
    for label, value in (("embed dim D", c.embed_dim), (depth_label, c.depth), ("heads h", c.num_heads),
                         ("head dim d_k", c.head_dim), ("MLP hidden", c.mlp_hidden)):
        if value is not None:
            card.append((label, value))
    pos = c.pos_embed + (f" {'×'.join(map(str, c.pos_embed_shape))}" if c.pos_embed_shape else "") if c.pos_embed else None
    card += [("position embedding", pos), ("pooling", c.pooling), ("classifier", c.classifier)]
    if c.paper_row:
        r = c.paper_row
        card.append(("ViT paper Table 1", f"{r['name']}: {r['layers']} layers, D={r['hidden']}, "
                                          f"MLP {r['mlp']}, {r['heads']} heads, {r['params']} params"))
    return _section("Model card", text_table(["", ""], card))


def _params(report: Report) -> str:
    p = report.params
    prow = [(g.name, g.label, fmt_int(g.count), si(g.count)) for g in p.groups]
    prow.append(("total", "all parameters", fmt_int(p.total), si(p.total)))
    prow.append(("", "trainable", fmt_int(p.trainable), si(p.trainable)))
    body = text_table(["group", "what", "params", ""], prow, right="23")
    if p.block:
        brow = [(b.name, b.label, fmt_int(b.count), " + ".join("×".join(map(str, sh)) for sh in b.shapes))
                for b in p.block]
        body += "\n\nOne block:\n" + text_table(["module", "what", "params", "shapes"], brow, right="2")
    if p.attention:
        a = p.attention
        body += (f"\n\nMulti-head attention, per head (D={a.embed_dim}, h={a.num_heads}, d_k={a.head_dim}): "
                 f"W^Q, W^K, W^V ∈ R^({a.wq[0]}×{a.wq[1]}), W^O ∈ R^({a.wo[0]}×{a.wo[1]}); "
                 f"qkv bias {'yes' if a.qkv_bias else 'no'}; {fmt_int(a.params_per_block)} params per block")
    return _section(f"Parameters: {fmt_params(p.total)}", body)


def _macs(report: Report) -> str:
    m = report.macs
    mrow = [(g.name, si(g.macs, 2), fmt_pct(g.macs / m.total if m.total else None)) for g in m.by_group]
    body = text_table(["group", "MACs", "share"], mrow, right="12")
    orow = [(g.name, si(g.macs, 2), fmt_pct(g.macs / m.total if m.total else None)) for g in m.by_op]
    body += "\n\nBy op kind:\n" + text_table(["op", "MACs", "share"], orow, right="12")
    extras = [f"attention {fmt_pct(m.attention_share)}" if m.attention_share is not None else "",
              f"MLP {fmt_pct(m.mlp_share)}" if m.mlp_share is not None else "",
              f"activations {si(m.activations)}" if m.activations else ""]
    extras = [e for e in extras if e]
    if extras:
        body += "\n\n" + "; ".join(extras)
    if m.backend == "fvcore" and m.dispatch_total:
        body += (f"\nbackend fvcore (fused attention off); dispatch recorder: {si(m.dispatch_total, 2)} MACs "
                 f"({100 * (m.total / m.dispatch_total - 1):+.3f} %)")
    body += f"\n\n{m.convention}.\nCounted: " + "; ".join(m.counted) + ".\nNot counted: " + "; ".join(m.not_counted) + "."
    out = [_section(f"MACs: {fmt_macs(m.total)}", body)]
    if report.scaling:
        rows = [(pt.img_size, pt.num_tokens, si(pt.macs, 2), si(pt.attention_matmul_macs, 2),
                 fmt_pct(pt.attention_matmul_macs / pt.macs if pt.macs else None)) for pt in report.scaling]
        out.append(_section("Scaling with input size",
                            text_table(["img", "tokens", "MACs", "QKᵀ+AV MACs", "QKᵀ+AV share"], rows, right="01234")))
    return "\n\n".join(out)


def _shapes(report: Report) -> str:
    s = report.shapes
    rows = [(stage_label(r), r.shape, r.note) for r in s.stages]
    out = [_section("Shapes (B = batch)", text_table(["stage", "shape", "note"], rows))]
    out.append(f"(full op trace: {len(s.trace)} aten ops — see --json)")
    return "\n\n".join(out)


def _downsampling(report: Report) -> str:
    s, c = report.shapes, report.card
    if s.hierarchy:
        rows = [(h.name, h.resolution, h.channels, h.depth, h.downsample) for h in s.hierarchy]
        return _section("Stages (down-sampling)",
                        text_table(["stage", "resolution", "channels", "blocks", "down-sampling"], rows, right="23"))
    if c.stem and c.grid:
        return _section("Down-sampling", f"one step: {c.stem} → {'×'.join(map(str, c.grid))} grid, constant after")
    return ""


def _block(report: Report) -> str:
    c = report.card
    if c.num_heads is not None and c.num_tokens is not None:
        return ""  # a ViT's block steps are rows of the shape table already
    rows = [(r.stage, r.shape, r.note) for r in report.shapes.block]
    return _section("Basic block", text_table(["step", "shape", "note"], rows)) if rows else ""


def _attention_distance(report: Report) -> str:
    d = report.attention_distance
    if d is None:
        return _section("Mean attention distance", report.unavailable.get("attention_distance", "not computed"))
    rows = [(i, f"{min(h):.1f}", f"{sum(h) / len(h):.1f}", f"{max(h):.1f}") for i, h in enumerate(d.mad_px, 1) if h]
    body = text_table(["layer", "min head px", "mean px", "max head px"], rows, right="0123")
    body += f"\n\nuniform attention over the {'×'.join(map(str, d.grid))} grid: {d.uniform_px:.1f} px; {d.num_images} images"
    return _section("Mean attention distance", body)


def _figure_summary(title: str, field: str):
    def show(report: Report) -> str:
        data = getattr(report, field)
        text = "computed (drawn by `vitnotes fill`)" if data is not None else report.unavailable.get(field, "not computed")
        return _section(title, text)
    return show


def _deploy(report: Report) -> str:
    d = report.deploy
    if d is None:
        return ""
    return _section("Deployed form (re-parameterised; what the paper and timm's tables quote)",
                    f"params {fmt_params(d.params)}\nMACs   {fmt_macs(d.macs)}\nfused  {', '.join(d.fused)}")


def _training(report: Report) -> str:
    from vitnotes.sections import training

    v = training.view(report, None)
    if v["why"]:
        return _section("Training cost", v["why"])
    return _section(f"Training cost ({v['ratio']}× the forward)",
                    text_table(["pass", "per image", f"per epoch ({v['images']} images)"],
                               [[c.strip("*") for c in r] for r in v["rows"]], right="12"))


def _memory(report: Report) -> str:
    from vitnotes.sections import memory

    v = memory.view(report, None)
    if v["why"]:
        return _section("Memory", v["why"])
    rows = [("weights", v["weights"]), ("forward activations (peak)", v["forward_peak"]),
            ("inference peak", v["inference_peak"]), ("saved for backward", v["saved"]),
            ("training (AdamW, fp32)", v["training"])]
    return _section(f"Memory at batch {v['batch']} (fp32 activations)", text_table(["", ""], rows))


def _speed(report: Report) -> str:
    return format_speed(report.speed) if report.speed is not None else ""


def format_speed(measured: Speed) -> str:
    """The `vitnotes bench` output: the speed section's numbers as a plain table."""
    from vitnotes.sections.speed import speed_view

    v = speed_view(measured)
    title = f"Speed on {v['device']} ({v['dtype']}, {v['threads']} threads, {v['size']}" + \
        (f", {v['form']} form)" if v["form"] else ")")
    table = text_table(["", "batch", "median", "images/s", "min – max", "runs"], v["rows"], right="12345")
    return _section(title, table + f"\n({v['warmup']} warm-up runs, then the median of the timed runs)")


def _code(report: Report) -> str:
    """The model's annotated forward() listings, as the code companion note has them, in plain text."""
    from vitnotes.render.listing import annotate, permalink
    from vitnotes.sections.code import view

    v = view(report)
    if not v["snippets"]:
        return _section("Code", v["reason"])
    parts = [v["intro"].replace("`", "")]
    for s, shown in zip(report.code.snippets if report.code else [], v["snippets"]):
        url = permalink(s)
        parts += ["", f"{s.qualname} · {s.path} lines {s.start}–{s.end}" + (f" · {url}" if url else ""), annotate(s)]
        parts += [n.replace("`", "") for n in shown["notes"]]
    return _section("Code", "\n".join(parts))


SECTIONS = {
    "card": _card, "params": _params, "flops": _macs, "deploy": _deploy, "memory": _memory,
    "training": _training, "speed": _speed, "shapes": _shapes, "downsampling": _downsampling,
    "block": _block, "code": _code, "attention_distance": _attention_distance,
    "pos_embed": _figure_summary("Position-embedding similarity", "pos_embed"),
    "filters": _figure_summary("Patch-embedding filters", "filters"),
    "rollout": _figure_summary("Attention rollout", "rollout"),
}


def format_report(report: Report, sections: Optional[Sequence[str]] = None) -> str:
    """The sections asked for (all of the structural ones by default), in the registry's order."""
    wanted = list(sections) if sections else ["card", "params", "flops", "shapes", "downsampling", "block"]
    if "heads" in wanted and "params" not in wanted:
        wanted.append("params")  # the per-head matrices are printed with the parameters
    if {"params", "flops"} & set(wanted):
        wanted.append("deploy")  # the deployed form's numbers go with the training form's
    out = [SECTIONS[name](report) for name in SECTIONS if name in wanted]
    return "\n\n".join(o for o in out if o) + "\n"
