"""The model's own forward() code, from the installed library, annotated with what this model did.

Facts: ``Report.code`` (``analysis/code.py``: ``inspect`` at profile time, one traced meta forward).
Layout of each listing (comments, wrapping at 80 columns): ``render/listing.py``.
"""

from __future__ import annotations

from typing import Any

from vitnotes.analysis.report import CodeSnippet, Report
from vitnotes.render.context import RenderContext
from vitnotes.render.listing import annotate, permalink
from vitnotes.sections._section import Section

_KERNEL_NOTE = "Attention kernel that ran:"
_FIGURES_UNFUSED = (" The attention figures come from a second forward with `fused_attn = False`: "
                    "only the explicit path materialises the softmax maps.")
_KERNELS = (("scaled_dot_product_attention", "the fused `F.scaled_dot_product_attention` kernel"),
            ("softmax", "the explicit softmax(q·kᵀ)·v path"))


def view(report: Report, ctx: RenderContext | None = None) -> dict[str, Any]:
    """The listing's facts; with ``ctx.code_link`` (the code companion note is written) the region
    shows one line linking there plus the attention kernel that ran, and the listing is the companion's."""
    out = _listing(report)
    out["link"] = ctx.code_link if ctx is not None else ""
    if out["snippets"] and report.code is not None:
        out["intro_short"] = f"The `forward` code that ran ({out['where']}), with this model's shapes and branches:"
        out["kernel_notes"] = list(dict.fromkeys(k for s in report.code.snippets for k in _kernels_short(s)))
    return out


def link_label(report: Report) -> str:
    """The companion link's text: the classes whose ``forward`` it shows, e.g. "PatchEmbed, Block, Attention, Mlp"."""
    names = [s.qualname.rsplit(".", 1)[0] for s in (report.code.snippets if report.code else [])]
    return ", ".join(dict.fromkeys(names)) or "the code"


def _listing(report: Report) -> dict[str, Any]:
    facts = report.code
    who = f"`{report.model}` ({report.card.family})"
    if facts is None:
        why = report.unavailable.get("code") or "not computed in this run"
        return {"snippets": [], "reason": f"No code for {who}: {why}.", "intro": "", "missing": ""}
    missing = "; ".join(f"`{path}` (`{cls}`): {why}" for path, cls, why in facts.missing)
    if not facts.snippets:
        reason = (f"{who}: no Python source to show — {missing}." if missing else
                  f"{who} has no modules of its own in its stem and first block: only torch.nn layers, "
                  "whose code is PyTorch's, not the model's.")
        return {"snippets": [], "reason": reason, "intro": "", "missing": ""}
    first = facts.snippets[0]
    where = f"{first.package} {first.version}" if first.package else "the installed library"
    recorded = [f"`{facts.block}`" if facts.block else "the first block"]
    recorded += [f"`{s.module}`" for s in facts.snippets if s.role == "stem"][:1]
    intro = (f"The `forward` code that ran, from {where} (`inspect` at profile time). "
             f"`# B×…`: output of that line's `self.<layer>(…)` call, recorded for {' and '.join(recorded)}; "
             "`# ran` / `# not run`: which way each `if` went in this model.")
    shown_modules = {s.module for s in facts.snippets}
    snippets, shown = [], set()
    for s in facts.snippets:
        snippets.append(_snippet_view(s, s.cls not in shown, shown_modules))
        shown.add(s.cls)
        if report.attention_distance is not None or report.rollout is not None:
            snippets[-1]["notes"] = [n + _FIGURES_UNFUSED if n.startswith(_KERNEL_NOTE) else n
                                     for n in snippets[-1]["notes"]]
    return {"snippets": snippets, "reason": "", "intro": intro, "where": where,
            "missing": f"No Python source for {missing}." if missing else ""}


def _snippet_view(s: CodeSnippet, first_of_class: bool, shown_modules: set[str]) -> dict[str, Any]:
    where = f"{s.path}#L{s.start}-L{s.end}"
    url = permalink(s)
    if not url:
        why = "editable or development install" if s.version else "package unknown"
        where = f"{s.path} lines {s.start}–{s.end} ({s.package or 'local'} {s.version}: {why}, no release tag)"
    where += f" @ {s.ref}" if url else ""
    out = {"head": f"`{s.qualname}` · " + (f"[{where}]({url})" if url else where),
            "code": annotate(s), "notes": _branch_notes(s), "summary": "", "layers_title": "", "layers": ""}
    if first_of_class:
        bases = ", ".join(s.bases)
        count = f" · {s.instances} in this model" if s.instances > 1 else ""
        out["summary"] = f"`class {s.cls.rsplit('.', 1)[-1]}({bases})` · `{s.module}`{count}"
        body = [f"- `self.{name} = {cls}({'…' if f'{s.module}.{name}' in shown_modules else args})`"
                + (" — its code below" if f"{s.module}.{name}" in shown_modules else "")
                for name, cls, args in s.layers]
        body += [f"- `self.{name} = {value}`" for name, value in s.attributes]
        if body:
            counts = [f"{len(s.layers)} layers"] + ([f"{len(s.attributes)} settings"] if s.attributes else [])
            out["layers_title"] = f"`__init__`: {', '.join(counts)}, with this model's values"
            out["layers"] = "\n".join(body)
    return out


def _branch_notes(s: CodeSnippet) -> list[str]:
    """Sentences under the block: the attention kernel that ran; branches that differ by instance."""
    notes = [f"{_KERNEL_NOTE} {kernel} ({flag} at profile time); {other} did not run."
             for kernel, other, flag in _kernel_choices(s)]
    for b in s.branches:
        if b.ran and b.skipped and not _kernel_choice(b):
            named = ", ".join(f"`{p}`" for p in b.ran[:3]) + (", …" if len(b.ran) > 3 else "")
            notes.append(f"`if {b.test}:` ran in {len(b.ran)} of {len(b.ran) + len(b.skipped)} "
                         f"modules ({named}), not in `{s.module}`, whose shapes are shown."
                         if s.module not in b.ran else
                         f"`if {b.test}:` ran in {len(b.ran)} of {len(b.ran) + len(b.skipped)} modules ({named}).")
    return list(dict.fromkeys(notes))


_SHORT_KERNEL = {text: short for (_, text), short in zip(_KERNELS, ("fused `scaled_dot_product_attention`",
                                                                  "the explicit softmax path"))}


def _kernels_short(s: CodeSnippet) -> list[str]:
    """The attention kernel that ran, in one short sentence for the paper note (the listing says more)."""
    return [f"Attention ran {_SHORT_KERNEL.get(kernel, kernel)} ({flag}), not {_SHORT_KERNEL.get(other, other)}."
            for kernel, other, flag in _kernel_choices(s)]


def _kernel_choices(s: CodeSnippet) -> list[tuple[str, str, str]]:
    """(kernel that ran, the one that did not, the flag that chose) for each attention-kernel `if`."""
    return [choice for b in s.branches if (choice := _kernel_choice(b))]


def _kernel_choice(b) -> tuple[str, str, str] | None:
    kernel = _kernel(b.body_calls) if b.ran else _kernel(b.else_calls) if b.skipped else None
    other = _kernel(b.else_calls) if b.ran else _kernel(b.body_calls)
    if kernel and other and kernel != other and (not b.ran or not b.skipped):
        return kernel, other, ", ".join(f"`{k} = {v}`" for k, v in b.attrs) or f"`{b.test}`"
    return None


def _kernel(calls: list[str]) -> str | None:
    for key, text in _KERNELS:
        if any(key in c for c in calls):
            return text
    return None


SECTION = Section(
    name="code", order=95, needs=("structure", "code"), view=view,
    anchors=("**代码核心逻辑 (GitHub Snippets)：**", "代码核心逻辑", "GitHub Snippets"),
)
