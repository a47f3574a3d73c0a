"""Batch-symbol inference: batch-1 shapes -> ``B×197×768``, using a batch-2 recording to find batch dims."""

from __future__ import annotations

import difflib
from typing import Optional

from vitnotes.analysis.recorder import Recording
from vitnotes.analysis.report import TraceRow


def sym(shape, shape2=None) -> str:
    """Batch-1 shape -> symbolic: ``(1, 197, 768)`` -> ``B×197×768``.

    ``shape2`` is the same tensor at batch 2: a dim that doubled carries the batch, so windowed
    or head-folded batches read ``B·64×49×288`` instead of a misleading ``64×49×288``.
    """
    if shape is None:
        return "—"
    if shape2 is not None and len(shape2) == len(shape):
        dims = [("B" if a == 1 else f"B·{a}") if b == 2 * a and a else str(a) for a, b in zip(shape, shape2)]
    else:
        dims = [str(d) for d in shape]
        if dims and dims[0] == "1" and len(dims) > 1:
            dims[0] = "B"
    return "×".join(dims) if dims else "scalar"


class Symbolic:
    """Symbolic-batch strings for module inputs/outputs and trace ops, from the batch-1 recording
    and a second, shape-only batch-2 meta forward (free on meta; used only to find batch dims)."""

    def __init__(self, rec: Recording, rec2: Optional[Recording]):
        self.rec, self.rec2 = rec, rec2
        self.pairs: dict[int, int] = {}  # op index at batch 1 -> same op at batch 2
        if rec2 is not None:
            # Batch 2 can add or drop copies (contiguity differs), so align the two op sequences.
            keys1 = [(o.module, o.op) for o in rec.ops]
            keys2 = [(o.module, o.op) for o in rec2.ops]
            for blk in difflib.SequenceMatcher(None, keys1, keys2, autojunk=False).get_matching_blocks():
                self.pairs.update({blk.a + k: blk.b + k for k in range(blk.size)})

    def pair(self, table: str, name: str) -> str:
        one = first(getattr(self.rec, table).get(name))
        two = first(getattr(self.rec2, table).get(name)) if self.rec2 is not None else None
        return sym(one, two) if one is not None else "—"

    def out(self, name: str) -> str:
        return self.pair("module_outputs", name)

    def inp(self, name: str) -> str:
        return self.pair("module_inputs", name)

    def trace(self) -> list[TraceRow]:
        rows = []
        for i, o in enumerate(self.rec.ops):
            o2 = self.rec2.ops[self.pairs[i]] if i in self.pairs else None
            ins = [sym(a, o2.inputs[j] if o2 and j < len(o2.inputs) else None) for j, a in enumerate(o.inputs)]
            rows.append(TraceRow(module=o.module, op=o.op.replace(".default", ""), inputs=ins,
                                 output=sym(o.output, o2.output if o2 else None), macs=o.macs))
        return rows


def first(shapes) -> Optional[tuple]:
    return shapes[0] if shapes else None
