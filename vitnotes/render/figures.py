"""Report -> PNG figures (ViT paper Figs. 6 and 7), byte-for-byte reproducible.

Same Report, same bytes: no timestamps or Software tag in the PNG, fixed size and dpi, so an
unchanged figure is never rewritten. matplotlib's object API with the Agg canvas only — no pyplot,
no global backend — and matplotlib is imported when a figure is drawn, not when this module is.
"""

from __future__ import annotations

import io
import warnings
from typing import Iterable, Literal

import numpy as np

from vitnotes.analysis.report import Report
from vitnotes.render.figure_view import rollout_residual
from vitnotes.render.provenance import weights_phrases

DPI = 100
MAX_BYTES = 300_000
COLUMN_PX = 700  # Obsidian's default readable line width: wider images are scaled down to it
MIN_PT = 9  # smallest text at the size a figure is shown
# Tried in order per glyph (matplotlib ≥ 3.6 font fallback): Latin first, CJK when installed.
CJK_FONTS = (
    "Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
    "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Microsoft YaHei", "SimHei", "PingFang SC",
    "Hiragino Sans GB", "Heiti SC", "Arial Unicode MS",
)


def render_figures(report: Report, sections: Iterable[str]) -> dict[str, bytes]:
    """PNG bytes for each asked figure section (see the section registry) whose numbers are in ``report``."""
    from vitnotes.sections import figure_sections, get

    wanted = [get(s) for s in figure_sections(sections) if get(s).has_figure(report)]
    if not wanted:
        return {}
    import matplotlib

    out = {}
    with matplotlib.rc_context(_rc()), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from")  # no CJK font: boxes, not noise
        for section in wanted:
            assert section.draw is not None  # figure_sections() lists only sections with a drawer
            out[section.name] = _png(section.draw(report))
    return out


def warm_up() -> None:
    """Import matplotlib's figure machinery and load its font list now (the fill pipeline calls this
    while the analyzer's worker runs the forward), so drawing later starts at once."""
    _rc()
    from matplotlib import figure  # noqa: F401
    from matplotlib.backends import backend_agg  # noqa: F401


def _rc() -> dict:
    """Every label at least MIN_PT at 100 %: figures are at most COLUMN_PX wide, so Obsidian's
    reading column shows them unscaled."""
    from matplotlib import font_manager

    have = {f.name for f in font_manager.fontManager.ttflist}
    return {
        "font.family": "sans-serif",
        "font.sans-serif": ["DejaVu Sans"] + [f for f in CJK_FONTS if f in have],
        "font.size": 10,
        "axes.titlesize": 10,
        "axes.labelsize": 10,
        "xtick.labelsize": MIN_PT,
        "ytick.labelsize": MIN_PT,
        "legend.fontsize": MIN_PT,
        "figure.titlesize": 10,
        "path.simplify": True,
    }


def _figure(w: float, h: float, layout: Literal["constrained", "tight"] | None = "constrained"):
    """A figure at most COLUMN_PX wide; constrained layout keeps the title, outside legends and
    colour bars inside it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(min(w, COLUMN_PX / DPI), h), dpi=DPI, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> bytes:
    """Agg pixels -> PNG via Pillow with no text chunks at all (no Software, no timestamp).

    Equivalent to ``savefig(metadata={'Software': None})`` but RGB rather than RGBA and one encode:
    photographs made savefig's path ~5× slower. Over the size budget (photos), a 256-colour
    palette (Pillow's deterministic fast octree) keeps them readable and small.
    """
    from PIL import Image

    fig.canvas.draw()
    rgb = Image.fromarray(np.asarray(fig.canvas.buffer_rgba())[..., :3])
    data = _encode(rgb)
    if len(data) > MAX_BYTES:
        data = _encode(rgb.quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE))
    return data


def _encode(im) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="png", compress_level=6, dpi=(DPI, DPI))
    return buf.getvalue()


def _title(fig, report: Report, what: list[str], fontsize: float = 10) -> None:
    """The figure's title, left-aligned: what is shown, the model, then the weights, each a list of
    phrases joined by " · " and broken only between phrases, so no line ends mid-phrase (textwrap
    broke "14×14 patches | of 16 px")."""
    lines = _title_lines(report, what, fig.get_figwidth(), fontsize)
    fig.suptitle("\n".join(lines), x=0.015, ha="left", fontsize=fontsize)


def _title_lines(report: Report, what: list[str], width_in: float, fontsize: float = 10) -> list[str]:
    max_pt = width_in * 72 * 0.95
    return _wrap(what, fontsize, max_pt) + [report.model] + _wrap(weights_phrases(report), fontsize, max_pt)


def _wrap(phrases: list[str], fontsize: float, max_pt: float, sep: str = " · ") -> list[str]:
    """Greedy lines of whole phrases, measured in the figure's own font (matplotlib's TextToPath)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    measure = TextToPath()
    prop = FontProperties(size=fontsize)

    def width(text: str) -> float:
        return measure.get_text_width_height_descent(text, prop, ismath=False)[0]

    lines: list[str] = []
    for phrase in phrases:
        if lines and width(lines[-1] + sep + phrase) <= max_pt:
            lines[-1] += sep + phrase
        else:
            lines.append(phrase)
    return lines


def _distance(report: Report):
    ad = report.attention_distance
    mad = np.asarray(ad.mad_px, dtype=float)  # [layer, head]
    layers, heads = mad.shape
    fig = _figure(6.9, 4.6)
    ax = fig.add_subplot(1, 1, 1)
    cmap = _cmap("tab20" if heads > 10 else "tab10")
    x = np.arange(1, layers + 1)
    # The reference line is a legend entry, outside the axes: no point can hide its label.
    ax.axhline(ad.uniform_px, color="0.35", ls="--", lw=1.2, zorder=2,
               label=f"uniform attention\n({ad.uniform_px:.0f} px)")
    for h in range(heads):
        ax.scatter(x, mad[:, h], s=16, color=cmap(h % cmap.N), label=f"head {h + 1}" if heads <= 16 else None,
                   zorder=3)
    top = max(float(mad.max()), ad.uniform_px)
    ax.set_ylim(0, top * 1.08 + 1)
    ax.set_xlim(0.5, layers + 0.5)
    ax.set_xticks(x if layers <= 24 else x[::2])
    ax.set_xlabel("network depth (layer)")
    ax.set_ylabel("mean attention distance (px)")
    grid = "×".join(str(g) for g in ad.grid)
    n = ad.num_images
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, borderaxespad=0,
              title=None if heads <= 16 else f"{heads} heads, one colour each")
    _title(fig, report, ["Mean attention distance (ViT Fig. 7 right)", f"{grid} patches of {ad.patch_size} px",
                         f"mean over {n} image{'s' if n != 1 else ''}"])
    ax.grid(True, alpha=0.3, zorder=0)
    return fig


def _cmap(name: str):
    import matplotlib

    return matplotlib.colormaps[name]


def _mosaic(tiles: np.ndarray, nrows: int, ncols: int, gap: int = 1) -> np.ndarray:
    """[n, h, w(, c)] tiles -> one image with NaN (transparent) gaps; one imshow beats n² axes."""
    n, h, w = tiles.shape[:3]
    extra = tiles.shape[3:]
    out = np.full((nrows * (h + gap) - gap, ncols * (w + gap) - gap, *extra), np.nan)
    for i in range(n):
        r, c = divmod(i, ncols)
        out[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = tiles[i]
    return out


def _pos_embed(report: Report):
    pe = report.pos_embed
    rows, cols = pe.grid
    sim = np.asarray(pe.similarity, dtype=float).reshape(-1, rows, cols)
    q = pe.rows or list(range(rows * cols))
    qr = sorted({i // cols for i in q})
    qc = sorted({i % cols for i in q})
    fig = _figure(6.0, 6.0)
    ax = fig.add_subplot(1, 1, 1)
    mosaic = _mosaic(sim, len(qr), len(qc))
    im = ax.imshow(mosaic, cmap="viridis", vmin=-1, vmax=1, interpolation="nearest")
    step_r = (mosaic.shape[0] + 1) / len(qr)
    step_c = (mosaic.shape[1] + 1) / len(qc)
    tick_r = _ticks(len(qr))
    tick_c = _ticks(len(qc))
    ax.set_yticks([(i + 0.5) * step_r - 1 for i in tick_r], [str(qr[i] + 1) for i in tick_r])
    ax.set_xticks([(i + 0.5) * step_c - 1 for i in tick_c], [str(qc[i] + 1) for i in tick_c])
    ax.set_xlabel("input patch column")
    ax.set_ylabel("input patch row")
    ax.tick_params(length=0)
    for s in ax.spines.values():
        s.set_visible(False)
    cb = fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02)
    cb.set_label("cosine similarity")
    _title(fig, report, ["Position-embedding similarity (ViT Fig. 7 centre)", f"{rows}×{cols} patches"])
    return fig


def _ticks(n: int) -> list[int]:
    step = max(1, int(np.ceil(n / 14)))
    return list(range(0, n, step))


def _filters(report: Report):
    f = report.filters
    comps = np.asarray(f.components, dtype=float)
    k = comps.shape[0]
    p = f.patch_size
    c = f.in_chans
    tiles = comps.reshape(k, c, p, -1).transpose(0, 2, 3, 1)  # [k, P, P, C]
    lo = tiles.reshape(k, -1).min(axis=1)[:, None, None, None]
    hi = tiles.reshape(k, -1).max(axis=1)[:, None, None, None]
    tiles = (tiles - lo) / np.where(hi - lo > 0, hi - lo, 1)  # each filter stretched to [0, 1]
    tiles = tiles if c == 3 else tiles.mean(axis=-1)
    ncols = 7 if k >= 7 else k
    nrows = int(np.ceil(k / ncols))
    fig = _figure(6.4, 0.9 * nrows + 1.3)
    ax = fig.add_subplot(1, 1, 1)
    mosaic = _mosaic(tiles, nrows, ncols, gap=max(1, p // 8))
    if c == 3:
        mosaic = np.where(np.isnan(mosaic), 1.0, mosaic)  # white gaps between RGB filters
        ax.imshow(mosaic, interpolation="nearest")
    else:
        ax.imshow(mosaic, cmap="gray", interpolation="nearest")
    ax.set_axis_off()
    share = sum(f.explained_variance)
    _title(fig, report, ["Embedding filters (ViT Fig. 7 left)", f"first {k} principal components",
                         f"{share:.0%} of variance"])
    return fig


def _rollout(report: Report):
    """Paper Fig. 6 as a heat map: each input above, the rollout of [CLS] → patches over it below,
    one colour scale for all images (so they compare), with its colour bar."""
    ro = report.rollout
    k = len(ro.images)
    rows, cols = ro.grid
    masks = [np.asarray(m, dtype=float).reshape(rows, cols) for m in ro.masks]
    vmax = max((float(m.max()) for m in masks), default=0.0) or 1.0
    width = min(max(5.2, 1.55 * k + 1.6), COLUMN_PX / DPI)
    cell = min(1.9, (width * 0.885) / (k + 0.08))  # image side, in
    total = report.images.count if report.images else k
    what = ["Attention rollout (ViT Fig. 6)", f"{ro.query} → {rows}×{cols} patches",
            f"{k} of {total} image{'s' if total != 1 else ''} shown"]
    title_in = 0.25 + 0.19 * len(_title_lines(report, what, width))  # 10 pt lines and the image names
    fig = _figure(width, 2 * cell + 0.75 + title_in, layout=None)
    gs = fig.add_gridspec(2, k + 1, width_ratios=[1] * k + [0.08], wspace=0.08, hspace=0.12)
    heat = None
    for i, (img, m) in enumerate(zip(ro.images, masks, strict=True)):
        pix = decode_image(img)
        top = fig.add_subplot(gs[0, i])
        top.imshow(pix, interpolation="antialiased")
        top.set_title(_short(img.name, 16), fontsize=MIN_PT)
        top.set_axis_off()
        low = fig.add_subplot(gs[1, i])
        low.imshow(pix.mean(axis=2), cmap="gray", vmin=0, vmax=255 * 1.6, interpolation="antialiased")  # faded
        heat = low.imshow(m, cmap="inferno", vmin=0, vmax=vmax, alpha=0.72, interpolation="bilinear",
                          extent=(-0.5, img.width - 0.5, img.height - 0.5, -0.5))
        low.set_axis_off()
    if heat is not None:
        cb = fig.colorbar(heat, cax=fig.add_subplot(gs[1, k]))
        cb.set_label(f"rollout weight {ro.query} → patch", fontsize=MIN_PT)
        cb.ax.tick_params(labelsize=MIN_PT)
    _title(fig, report, what)
    layers = f"all {ro.layers} layers" if ro.layers else "all layers"
    residual = rollout_residual(ro.residual_weight)
    foot = _wrap([f"heads fused by {ro.head_fusion}", f"residual as {residual}, rows renormalised",
                  f"multiplied over {layers}", "top: model input, bottom: rollout over it"], MIN_PT,
                 fig.get_figwidth() * 72 * 0.95)
    fig.text(0.015, 0.01, "\n".join(foot), ha="left", va="bottom", fontsize=MIN_PT, color="0.25")
    h = fig.get_figheight()
    fig.subplots_adjust(left=0.015, right=0.9, bottom=(0.1 + 0.17 * len(foot)) / h, top=1 - title_in / h)
    return fig


def decode_image(img) -> np.ndarray:
    """EncodedImage -> uint8 [H, W, 3] (hex in the Report; no torch needed to draw it); inverse of
    ``analysis.images.encode_image``."""
    return np.frombuffer(bytes.fromhex(img.rgb_hex), dtype=np.uint8).reshape(img.height, img.width, 3)


def _short(name: str, n: int = 24) -> str:
    return name if len(name) <= n else name[: n - 1] + "…"
