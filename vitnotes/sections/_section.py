"""The one type every section module declares: :class:`Section` (see the package docstring)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Literal, Optional

if TYPE_CHECKING:
    from vitnotes.analysis.report import Report
    from vitnotes.render.context import RenderContext

# What a section needs the analyzer to have computed. Each fact is one analysis pass:
#   structure  the meta-device pass: card, params, MACs, shapes (always run; no weights)
#   scaling    MACs again at `AnalysisRequest.scaling_sizes` input sizes (meta device)
#   weights    the real model with its weights loaded (CPU tensors, no forward)
#   forward    one real forward over the note's images (implies weights)
#   code       the model's own forward() source (inspect) and the lines each module ran (one
#              traced meta-device forward beside the structural pass)
#   deploy     params and MACs of the re-parameterised (deployed) form, when timm can fuse the model (meta)
#   training   one training step on meta: forward + backward MACs, activations saved for backward
#   memory     weights per dtype, forward peak, training footprint at batch B (meta; implies training)
#   speed      measured latency and throughput on this machine (real tensors; takes time)
# A new analysis pass adds its fact here, then `AnalysisRequest.facts` tells the analyzer to run it.
Fact = Literal["structure", "scaling", "weights", "forward", "code", "deploy", "training", "memory", "speed"]
FACTS: tuple[Fact, ...] = ("structure", "scaling", "weights", "forward", "code", "deploy", "training", "memory", "speed")

ViewBuilder = Callable[["Report", "RenderContext"], dict[str, Any]]
FigureDrawer = Callable[["Report"], Any]  # Report -> matplotlib Figure (imports matplotlib itself)


def always(report: "Report") -> bool:
    return True


def no_view(report: "Report", ctx: "RenderContext") -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Section:
    """One note section: everything vitnotes knows about it, in one place.

    ``name``     the region marker, the template ``templates/sections/<name>.md.j2``, the
                 ``sections:`` entry, the PNG suffix ``<note>.<name>.png`` and the Report's
                 ``unavailable`` key.
    ``order``    where it sits in the default ``sections:`` list (ascending; unique).
    ``needs``    the facts (analysis passes) it reads from the Report.
    ``view``     Report + RenderContext -> the template's ``view`` variable (numbers already
                 formatted; every sentence a reader sees is made here or in the template).
    ``anchors``  the default anchor lines it is placed under on a first fill (a vault adds or
                 replaces them in ``<vault>/.vitnotes/anchors.yaml``); () = under ``## vitnotes``.
    ``draw``     its figure: Report -> matplotlib Figure, or None for a text-only section.
    ``report_field``  the Report attribute holding the figure's numbers; the figure is drawn only
                 when it is set (None: drawn whenever ``draw`` is set).
    ``applies``  whether the section belongs in a default note for this model (default: always).
    ``title``    what it shows in a few words, e.g. "attention rollout" (default: its name).
    ``default``  whether it is in the default ``sections:`` list at all (False: opt-in only,
                 e.g. ``speed``, which takes time).
    """

    name: str
    order: int
    needs: tuple[Fact, ...]
    view: ViewBuilder = no_view
    anchors: tuple[str, ...] = ()
    draw: Optional[FigureDrawer] = None
    report_field: Optional[str] = None
    applies: Callable[["Report"], bool] = always
    title: str = ""  # what it shows, in a few words (the heading of the sections with no question names them)
    default: bool = True

    def __post_init__(self) -> None:
        unknown = set(self.needs) - set(FACTS)
        if unknown:
            raise ValueError(f"section {self.name!r} needs unknown facts {sorted(unknown)}; known: {FACTS}")

    def has_figure(self, report: "Report") -> bool:
        """Whether this Report holds what ``draw`` needs."""
        if self.draw is None:
            return False
        return self.report_field is None or getattr(report, self.report_field, None) is not None
