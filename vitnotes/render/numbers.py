"""Number and Markdown formatting helpers: every figure in a note carries its unit and convention.

Plain functions, no Jinja2 and no torch, so the terminal renderer and the tests can use them too.
Units are decimal (K = 10³, M = 10⁶, G = 10⁹, T = 10¹²), as in timm's and the papers' tables.
"""

from __future__ import annotations

from typing import Iterable, Optional, Sequence

_UNITS = ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K"))
_BYTE_UNITS = ((2 ** 40, "TiB"), (2 ** 30, "GiB"), (2 ** 20, "MiB"), (2 ** 10, "KiB"))


def fmt_int(n: int) -> str:
    """``86567656`` -> ``86,567,656``."""
    return f"{int(n):,}"


def si(n: float, digits: int = 1) -> str:
    """Decimal-unit short form: ``86567656`` -> ``86.6 M``; below 1000 the plain number."""
    value = float(n)
    for scale, unit in _UNITS:
        # Round first so 999,950,000 prints as "1.0 G", not "1000.0 M".
        if round(abs(value) / scale, digits) >= 1:
            return f"{value / scale:.{digits}f} {unit}"
    return f"{int(value)}" if value == int(value) else f"{value:.{digits}f}"


def fmt_params(n: int) -> str:
    """``86567656`` -> ``86,567,656 (86.6 M)``; small counts have no short form."""
    return fmt_int(n) if abs(n) < 1000 else f"{fmt_int(n)} ({si(n, 1)})"


def fmt_macs(macs: int, digits: int = 2) -> str:
    """``17_581_000_000`` -> ``17.58 G MACs (35.16 G FLOPs)``: FLOPs = 2 × MACs, each rounded once."""
    return f"{si(macs, digits)} MACs ({si(2 * macs, digits)} FLOPs)"


def fmt_bytes(n: int) -> str:
    """Memory in binary units, as GPU tools show it: ``343932928`` -> ``328.0 MiB``."""
    for scale, unit in _BYTE_UNITS:
        if round(n / scale, 1) >= 1:
            return f"{n / scale:.1f} {unit}"
    return f"{int(n)} B"


def fmt_ms(ms: float) -> str:
    """``12.345`` -> ``12.3 ms``; under 1 ms with two decimals."""
    return f"{ms:.2f} ms" if ms < 1 else f"{ms:.1f} ms"


def fmt_pct(x: Optional[float], digits: int = 1) -> str:
    """A share in [0, 1] as ``62.3 %``; ``—`` when unknown."""
    return "—" if x is None else f"{100 * x:.{digits}f} %"


def fmt_shape(dims: Optional[Iterable[object]], batch: bool = False) -> str:
    """``[768, 64]`` -> ``768×64``; ``batch=True`` prefixes the symbolic batch ``B×``."""
    if dims is None:
        return "—"
    text = "×".join(str(d) for d in dims)
    return f"B×{text}" if batch else text


def md_cell(value: object) -> str:
    """One GitHub-flavoured table cell: every ``|`` escaped (also inside code spans and wiki-link
    embeds such as ``![[x.png\\|300]]``), line breaks folded to spaces, ``—`` for empty."""
    text = "" if value is None else str(value)
    text = " ".join(text.split("\n")).replace("\r", " ").strip()
    if not text:
        return "—"
    return text.replace("|", "\\|")


def md_table(headers: Sequence[object], rows: Iterable[Sequence[object]],
             align: Optional[Sequence[str]] = None) -> str:
    """A GFM table (header, separator, rows; no blank lines). ``align`` per column: l, r or c.

    Rows shorter than the header are padded, longer ones are an error (a silently dropped
    cell would be a wrong number in a note).
    """
    width = len(headers)
    marks = {"l": "---", "r": "---:", "c": ":---:"}
    seps = [marks[a] for a in (align or "l" * width)]
    if len(seps) != width:
        raise ValueError(f"align has {len(seps)} columns, header has {width}")
    lines = [_row(headers), "| " + " | ".join(seps) + " |"]
    for row in rows:
        cells = list(row)
        if len(cells) > width:
            raise ValueError(f"table row has {len(cells)} cells, header has {width}: {cells!r}")
        lines.append(_row(cells + [""] * (width - len(cells))))
    return "\n".join(lines)


def _row(cells: Sequence[object]) -> str:
    return "| " + " | ".join(md_cell(c) for c in cells) + " |"


def quote(text: str) -> str:
    """Prefix every line with ``> `` (bare ``>`` for blank lines) so it sits inside a callout."""
    return "\n".join(("> " + line) if line.strip() else ">" for line in text.split("\n"))


def callout(kind: str, title: str, body: str, folded: bool = False) -> str:
    """An Obsidian callout; ``folded`` gives ``[!kind]-`` (starts closed). Blank line after the title
    so a table in the body is a table in every renderer, not a continuation of the title."""
    head = f"> [!{kind}]{'-' if folded else ''} {title}".rstrip()
    if not body:
        return head
    gap = "\n>\n" if "|" in body.split("\n", 1)[0] else "\n"  # a table needs the blank line; text does not
    return head + gap + quote(body)
