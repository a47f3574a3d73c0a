"""The Mermaid emitter: flowchart lines from a list of nodes, with labels Mermaid always parses."""

from __future__ import annotations

from typing import Any, Optional

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


def _lines(text: str) -> str:
    """Label lines joined by Mermaid's <br/> (short lines keep a node narrow)."""
    return "<br/>".join(mermaid_text(part) for part in text.split("\n"))


def compact_flowchart(chain: list[dict[str, Any]], group: Optional[dict[str, Any]]) -> list[str]:
    """A diagram that fits Obsidian's column: the outer steps top-down (``chain``: ``label`` and
    the ``shape`` leaving the node), and the repeated part drawn once as a left-to-right subgraph
    (``group``: ``title`` such as "12 × transformer block", ``steps``, ``after`` — the chain index
    it follows —, ``shape`` leaving it and ``residuals``: (from, to) step indexes, -1 = its input).

    Edges touch the subgraph itself, not its nodes, so Mermaid keeps its own direction and no
    edge runs across its title; tight spacing keeps it narrow and short."""
    # Mermaid's frontmatter config (Mermaid ≥ 10.5, as bundled by Obsidian); its older %%{init}%%
    # directive no longer sets the spacing. Wide labels keep the outer steps on one line each.
    lines = ["---", "config: {flowchart: {rankSpacing: 12, nodeSpacing: 12, padding: 8, wrappingWidth: 400, "
             "subGraphTitleMargin: {top: 0, bottom: 4}}}", "---", "flowchart TD"]
    if group is not None:
        lines.append(f'  subgraph blk["{mermaid_text(group["title"] + " · " + group["shape"])}"]')
        lines.append("    direction LR")
        nodes = ['b_in(("x"))'] if group.get("residuals") else []
        for j, step in enumerate(group["steps"]):
            nodes.append(f'b{j}(("+"))' if step == "+" else f'b{j}["{_lines(step)}"]')
        lines.append("    " + " --> ".join(nodes))
        chain_ids = [("b_in" if a < 0 else f"b{a}", f"b{b}") for a, b in group.get("residuals", ())]
        if chain_ids:  # consecutive residuals form one dashed chain: x -.-> + -.-> +
            lines.append("    " + " -.-> ".join([chain_ids[0][0]] + [b for _, b in chain_ids]))
        lines.append("  end")
    order = [f'n{i}["{_lines(n["label"])}<br/>{mermaid_text(n["shape"])}"]' for i, n in enumerate(chain)]
    if group is not None:
        order.insert(group["after"] + 1, "blk")
    if len(order) == 1:
        lines.append("  " + order[0])
    for i in range(1, len(order)):  # shapes sit in the nodes: an edge label would add a row to every step
        lines.append(f"  {order[i - 1]} --> {order[i]}")
        order[i] = order[i].split("[", 1)[0]  # declared once; later edges use the id
    return lines
