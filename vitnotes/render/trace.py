"""The op-trace companion note's Markdown: every aten op of one forward, as one table.

It lives outside the paper note (obsidian/companion.py writes it) so the student's note keeps only
the compact stage table; the columns fit Obsidian's 700 px reading column (inputs are listed only
where they differ from the previous op's output, which is most of what made the old table wide).
"""

from __future__ import annotations

from vitnotes.analysis.report import Report
from vitnotes.render.numbers import fmt_int, fmt_macs, md_table


def trace_rows(report: Report, limit: int) -> list[tuple]:
    rows, previous = [], None
    for i, t in enumerate(report.shapes.trace[:limit]):
        inputs = [x for x in t.inputs if x != previous]
        rows.append((i + 1, f"`{t.module}`" if t.module else "", f"`{t.op.removeprefix('aten.')}`",
                     ", ".join(inputs) if inputs else "↑", t.output, fmt_int(t.macs) if t.macs else ""))
        previous = t.output
    return rows


RULES_HEADING = "What the counter counts"  # the paper note's MACs region links to this heading


def render_trace_note(report: Report, back_link: str, model_line: str, limit: int) -> str:
    """The whole companion note, frontmatter included (its ``vitnotes-trace`` property marks it as vitnotes')."""
    trace = report.shapes.trace
    shown = f"first {fmt_int(limit)} of {fmt_int(len(trace))}" if len(trace) > limit else fmt_int(len(trace))
    total = sum(t.macs for t in trace)
    lines = [
        "---",
        f'vitnotes-trace: "{back_link}"',
        "---",
        f"Every aten op of one forward of `{report.model}` ({shown} ops, {fmt_int(total)} MACs), "
        f"for {back_link}. Written by vitnotes on every fill: edits here are replaced.",
        "",
        f"*{model_line}* · shapes with a symbolic batch `B`; ↑ = the previous op's output.",
        "",
        *_rules(report),
        "## Every op",
        "",
        md_table(("#", "Module", "Op", "Inputs", "Output", "MACs"), trace_rows(report, limit), "rllllr"),
    ]
    return "\n".join(lines) + "\n"


def counting_rules(report: Report) -> dict[str, str]:
    """What the MAC counter counts and does not (from the recorder's rule table, kept in the Report),
    as the sentences this note and the MACs region's fallback callout both show; {} when unknown."""
    m = report.macs
    if not (m.counted or m.not_counted):
        return {}
    dispatch = f" (the dispatch recorder gives {fmt_macs(m.dispatch_total)})" if getattr(m, "dispatch_total", None) else ""
    return {"counted": f"Counted: {'; '.join(m.counted)}." if m.counted else "",
            "not_counted": f"Not counted (0 MACs): {'; '.join(m.not_counted)}." if m.not_counted else "",
            "counter": f"Counter: `{m.backend}`{dispatch}."}


def _rules(report: Report) -> list[str]:
    rules = counting_rules(report)
    if not rules:
        return []
    return [f"## {RULES_HEADING}", ""] + [line for s in rules.values() if s for line in (s, "")]
