"""YAML from the vault, parsed with bounds: a note's frontmatter is data from anywhere (sync, downloads).

PyYAML's SafeLoader builds no objects but plain data; it does not bound what aliases expand to. A
681-byte "billion laughs" frontmatter is a few nodes to the composer but 10⁹ values to anything
that walks the result (validation, the cache key), and ``&a [*a]`` is a list that contains
itself. This loader checks the composed node graph before anything is built: at most MAX_NODES
values with every alias expanded, no value that contains itself, nesting that fits the parser's
recursion. Every refusal is a ``yaml.YAMLError`` with a one-line ``problem``, so callers report
it like any other broken YAML.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_BYTES = 64 * 1024  # Obsidian's properties are a few hundred bytes; anything bigger is not a frontmatter
MAX_NODES = 20_000  # values after expanding every alias


class YAMLBoundsError(yaml.YAMLError):
    def __init__(self, problem: str):
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = None


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def check_node(root: yaml.Node, limit: int = MAX_NODES) -> None:
    """YAMLBoundsError when the graph expands past ``limit`` values or a value contains itself."""
    sizes: dict[int, int] = {}
    active: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:  # iterative: a deep document must not hit Python's recursion limit here
        node, done = stack.pop()
        key = id(node)
        if done:
            active.discard(key)
            sizes[key] = 1 + sum(sizes[id(c)] for c in _children(node))
            if sizes[key] > limit:
                raise YAMLBoundsError(f"its aliases expand to more than {limit:,} values (an alias bomb?)")
            continue
        if key in sizes:
            continue
        active.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in active:
                raise YAMLBoundsError("an alias refers to a value that contains it (a self-referencing anchor)")
            if id(child) not in sizes:
                stack.append((child, False))


class BoundedSafeLoader(yaml.SafeLoader):
    def compose_document(self):  # type: ignore[override]
        node = super().compose_document()
        if node is not None:
            check_node(node)
        return node


def load(text: str, max_bytes: int = MAX_BYTES) -> Any:
    """``yaml.safe_load`` with the bounds above; YAMLError (with ``problem``) when refused or broken."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise YAMLBoundsError(f"it is {size:,} bytes; vitnotes reads at most {max_bytes:,}")
    try:
        return yaml.load(text, Loader=BoundedSafeLoader)  # noqa: S506 — a SafeLoader subclass
    except RecursionError:
        raise YAMLBoundsError("it is nested too deeply") from None
