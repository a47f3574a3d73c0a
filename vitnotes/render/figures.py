"""Report -> PNG figures (ViT paper Figs. 6 and 7), byte-for-byte reproducible.

Same Report, same bytes: no timestamps or Software tag in the PNG, fixed size and dpi, so an
unchanged figure is never rewritten. matplotlib's object API with the Agg canvas only — no pyplot,
no global backend — and matplotlib is imported when a figure is drawn, not when this module is.
"""

from __future__ import annotations

import io
import warnings
from typing import Iterable

import numpy as np

from vitnotes.analysis.report import Report

DPI = 100
MAX_BYTES = 300_000
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
    from matplotlib import font_manager

    have = {f.name for f in font_manager.fontManager.ttflist}
    return {
        "font.family": "sans-serif",
        "font.sans-serif": ["DejaVu Sans"] + [f for f in CJK_FONTS if f in have],
        "font.size": 9,
        "axes.titlesize": 9,
        "path.simplify": True,
    }


def _figure(w: float, h: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), dpi=DPI)
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


def _title(report: Report, what: str, width: int = 80) -> str:
    """Model and what is shown, then the weights. The first line is wrapped (a long model name
    plus grid and image count ran off a 6.4-inch figure); the weights line is kept whole."""
    import textwrap

    label = report.weights.label if report.weights else "weights unknown"
    head = textwrap.fill(f"{report.model} — {what}", width=width, break_on_hyphens=False)
    return f"{head}\nweights: {label}"


def _distance(report: Report):
    ad = report.attention_distance
    mad = np.asarray(ad.mad_px, dtype=float)  # [layer, head]
    layers, heads = mad.shape
    fig = _figure(6.4, 4.2)
    ax = fig.add_subplot(1, 1, 1)
    cmap = _cmap("tab20" if heads > 10 else "tab10")
    x = np.arange(1, layers + 1)
    for h in range(heads):
        ax.scatter(x, mad[:, h], s=14, color=cmap(h % cmap.N), label=f"head {h + 1}", zorder=3)
    ax.axhline(ad.uniform_px, color="0.35", ls="--", lw=1, zorder=2)
    ax.annotate(f"uniform attention ({ad.uniform_px:.1f} px)", (1, ad.uniform_px), xytext=(0, 4),
                textcoords="offset points", fontsize=8, color="0.3")
    top = max(float(mad.max()), ad.uniform_px)
    ax.set_ylim(0, top * 1.12 + 1)
    ax.set_xlim(0.5, layers + 0.5)
    ax.set_xticks(x if layers <= 24 else x[::2])
    ax.set_xlabel("network depth (layer)")
    ax.set_ylabel("mean attention distance (pixels)")
    grid = "×".join(str(g) for g in ad.grid)
    ax.set_title(_title(report, f"mean attention distance, {grid} patches of {ad.patch_size} px, "
                                f"{ad.num_images} image{'s' if ad.num_images != 1 else ''}"))
    ax.grid(True, alpha=0.3, zorder=0)
    if heads <= 16:
        ax.legend(fontsize=6, ncol=2 if heads > 8 else 1, loc="lower right", frameon=False)
    fig.tight_layout()
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
    ax.set_title(_title(report, "position embedding similarity"))
    fig.tight_layout()
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
    fig = _figure(6.4, 0.9 * nrows + 1.0)
    ax = fig.add_subplot(1, 1, 1)
    mosaic = _mosaic(tiles, nrows, ncols, gap=max(1, p // 8))
    if c == 3:
        mosaic = np.where(np.isnan(mosaic), 1.0, mosaic)  # white gaps between RGB filters
        ax.imshow(mosaic, interpolation="nearest")
    else:
        ax.imshow(mosaic, cmap="gray", interpolation="nearest")
    ax.set_axis_off()
    share = sum(f.explained_variance)
    ax.set_title(_title(report, f"RGB embedding filters: first {k} principal components "
                                f"({share:.0%} of variance)"))
    fig.tight_layout()
    return fig


def _rollout(report: Report):
    ro = report.rollout
    n = len(ro.images)
    rows, cols = ro.grid
    fig = _figure(max(5.6, 2.0 * n + 0.4), 4.8)
    for i, (img, mask) in enumerate(zip(ro.images, ro.masks)):
        pix = decode_image(img).astype(float) / 255.0
        m = np.asarray(mask, dtype=float).reshape(rows, cols)
        m = m / m.max() if m.max() > 0 else m
        up = _upsample(m, img.height, img.width)
        ax = fig.add_subplot(2, n, i + 1)
        ax.imshow(pix, interpolation="antialiased")
        ax.set_title(_short(img.name), fontsize=8)
        ax.set_axis_off()
        ax = fig.add_subplot(2, n, n + i + 1)
        ax.imshow(pix * up[..., None], interpolation="antialiased")
        ax.set_axis_off()
    fig.suptitle(_title(report, f"attention rollout ({ro.query} → patches)"), fontsize=8)
    fig.text(0.5, 0.01, "top: model input · bottom: input weighted by rollout attention (max = 1)",
             ha="center", va="bottom", fontsize=7, color="0.3")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def decode_image(img) -> np.ndarray:
    """EncodedImage -> uint8 [H, W, 3] (hex in the Report; no torch needed to draw it); inverse of
    ``analysis.images.encode_image``."""
    return np.frombuffer(bytes.fromhex(img.rgb_hex), dtype=np.uint8).reshape(img.height, img.width, 3)


def _upsample(m: np.ndarray, h: int, w: int) -> np.ndarray:
    from PIL import Image

    im = Image.fromarray(m.astype(np.float32), mode="F").resize((w, h), Image.Resampling.BILINEAR)
    return np.clip(np.asarray(im, dtype=float), 0, 1)


def _short(name: str, n: int = 24) -> str:
    return name if len(name) <= n else name[: n - 1] + "…"
