"""`vitnotes table` rows as aligned text, a Markdown table or CSV (Python's csv module, RFC 4180 quoting)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from vitnotes.render.numbers import md_table
from vitnotes.render.properties import KEYS, LABELS
from vitnotes.render.terminal import text_table

FORMATS = ("text", "markdown", "csv")


def _columns(rows: Sequence) -> list[str]:
    """The property keys at least one row has a value for, in PROPERTIES order."""
    return [k for k in KEYS if any(k in r.values for r in rows)]


def format_rows(rows: Sequence, fmt: str = "text") -> str:
    """The table in ``fmt``; CSV has every key as its header (stable for scripts), the others only filled columns."""
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["note", *KEYS])
        for r in rows:
            writer.writerow([r.note, *(r.values.get(k, "") for k in KEYS)])
        return out.getvalue().rstrip("\n")
    cols = _columns(rows)
    headers = ["Note", *(LABELS[k] for k in cols)]
    numeric = [all(isinstance(r.values.get(k, 0), (int, float)) for r in rows) for k in cols]
    body = [[r.note, *(r.values.get(k) for k in cols)] for r in rows]
    if fmt == "markdown":
        return md_table(headers, body, "l" + "".join("r" if n else "l" for n in numeric))
    return text_table(headers, body, right=[i + 1 for i, n in enumerate(numeric) if n])
