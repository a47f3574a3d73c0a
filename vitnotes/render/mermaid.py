"""The Mermaid emitter: flowchart lines from a list of nodes, with labels Mermaid always parses."""

from __future__ import annotations

from typing import Any

_MERMAID_ESC = {'"': "#quot;", "#": "#35;", "|": "#124;", "<": "#lt;", ">": "#gt;", "`": "#96;"}


def mermaid_text(text: str) -> str:
    """Text safe inside a quoted Mermaid label: quotes, pipes, angle brackets, ``#`` as entity codes."""
    return "".join(_MERMAID_ESC.get(ch, ch) for ch in " ".join(str(text).split()))


def flowchart(nodes: list[dict[str, Any]], title: str) -> list[str]:
    """``flowchart TD`` lines: one node per entry (``names``, ``shape``, ``note``, ``inside``,
    ``residual``), the shape on each edge, the ``inside`` nodes in a subgraph titled ``title`` with
    their residual connections dashed (into each node that ends with a residual add)."""
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
            if nodes[i].get("residual"):
                lines.append(f"  n{src} -.-> n{i}")
                src = i
    return lines
