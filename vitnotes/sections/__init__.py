"""The section registry: one module per note section, and every section list derived from it.

A *section* is one region of a note (``<!-- vitnotes:begin NAME … -->``). Each lives in one
module here, ``vitnotes/sections/<name>.py``, that defines ``SECTION = Section(...)``
(see :class:`vitnotes.sections._section.Section` for the fields). The registry finds the modules
itself; everything else asks it:

- spec validation and the CLI: which names exist (:func:`names`), in which default order;
- the analyzer: which facts (analysis passes) a request needs (:func:`facts`), which sections
  need the real weights or a forward (:func:`needing`), which Report fields the worker returns
  (:func:`figure_fields`);
- the renderers: each section's view builder and figure drawer (:func:`get`);
- placement: the default anchors (:func:`default_anchors`), which a vault's
  ``.vitnotes/anchors.yaml`` extends or replaces;
- the cache and the vault: which PNG names are vitnotes' own figures.

Nothing in this package imports torch, numpy or matplotlib at import time: a cached re-fill
loads the registry.

How to add a section (say ``memory``)
------------------------------------
1. If it needs a number the Report does not hold yet, add it to the analyzer first: a new
   field with a default on the Report (``analysis/report.py``; append-only; bump ``SCHEMA``
   when old cached Reports become wrong) filled by an analysis module (``analysis/memory.py``)
   called from the pass that computes it (``analysis/structure.py`` for meta-device facts,
   ``analysis/figures_data.py`` for weights/forward). A brand-new pass adds a :data:`Fact`
   in ``_section.py`` and checks ``"<fact>" in req.facts`` where it runs.
2. Add ``vitnotes/sections/memory.py``::

       from vitnotes.sections._section import Section

       def view(report, ctx):  # Report + RenderContext -> template variables
           return {"rows": [...], "total": fmt_bytes(report.memory.total)}

       SECTION = Section(name="memory", order=45, needs=("structure",), view=view,
                         anchors=("**性能指标:**", "性能指标"))

   ``order`` places it in the default ``sections:`` list (existing sections use multiples of 10:
   card 10 … rollout 150; pick a free number). A figure section also sets ``draw`` (Report ->
   matplotlib Figure; import matplotlib/numpy inside the function, helpers in
   ``render/figures.py``) and ``report_field`` (the Report attribute it draws from);
   ``render.figure_view.figure_section`` builds all of that for the usual case (see ``filters.py``).
   ``applies(report)`` says whether it belongs in a default note for that model.
3. Add its template ``templates/sections/memory.md.j2``. It gets ``view``, ``report``,
   ``model_line``, ``figure`` (the embed of its PNG, or "") and ``section``.

That is all: spec validation, the CLI's ``--sections``, the cache, the worker, anchors, figure
names and the renderers pick it up. ``tests/test_sections.py`` checks every registered section
has a template and a unique order.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from typing import Iterable, Optional

from vitnotes.sections._section import FACTS, Fact, Section

__all__ = [
    "FACTS", "Fact", "Section", "registry", "get", "names", "default_names", "facts", "needing", "figure_sections",
    "figure_fields", "default_anchors", "is_section", "applicable",
]


@functools.lru_cache(maxsize=None)
def registry() -> dict[str, Section]:
    """Every section, by name, in default order (each module's ``SECTION``)."""
    found: list[Section] = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        section = getattr(importlib.import_module(f"{__name__}.{info.name}"), "SECTION", None)
        if isinstance(section, Section):
            found.append(section)
    found.sort(key=lambda s: s.order)
    by_name: dict[str, Section] = {}
    for s in found:
        if s.name in by_name:
            raise ValueError(f"two section modules declare the name {s.name!r}")
        by_name[s.name] = s
    orders = [s.order for s in found]
    if len(set(orders)) != len(orders):
        raise ValueError(f"section orders must be unique: {[(s.name, s.order) for s in found]}")
    return by_name


def get(name: str) -> Section:
    return registry()[name]


def is_section(name: str) -> bool:
    return name in registry()


def names(fact: Optional[Fact] = None) -> tuple[str, ...]:
    """All section names in default order; with ``fact``, only those that need it."""
    return tuple(s.name for s in registry().values() if fact is None or fact in s.needs)


def default_names() -> tuple[str, ...]:
    """The default ``sections:`` list: every section except the opt-in ones (``default=False``)."""
    return tuple(s.name for s in registry().values() if s.default)


def structural_names() -> tuple[str, ...]:
    """Sections that need neither weights nor a forward (what `vitnotes profile` shows by default)."""
    return tuple(n for n in default_names() if not {"weights", "forward"} & set(get(n).needs))


def facts(sections: Iterable[str]) -> frozenset[Fact]:
    """The facts the analyzer must compute for these sections (unknown names ignored)."""
    reg = registry()
    out: set[Fact] = set()
    for name in sections:
        if name in reg:
            out.update(reg[name].needs)
    if "forward" in out:
        out.add("weights")  # a forward runs the real, loaded model
    if "memory" in out:
        out.add("training")  # the training footprint needs the activations a training step saves
    return frozenset(out)


def needing(fact: Fact, sections: Iterable[str]) -> tuple[str, ...]:
    """Those of ``sections`` that need ``fact``, in default order (``weights`` includes the forward sections)."""
    asked = set(sections)
    return tuple(n for n in registry() if n in asked and fact in facts((n,)))


def figure_sections(sections: Optional[Iterable[str]] = None) -> tuple[str, ...]:
    """Sections with a figure drawer, in default order (all, or those among ``sections``)."""
    wanted = None if sections is None else set(sections)
    return tuple(s.name for s in registry().values() if s.draw is not None and (wanted is None or s.name in wanted))


def figure_fields() -> tuple[str, ...]:
    """The Report fields the weight/image pass sets (the worker process sends back exactly these)."""
    drawn = tuple(s.report_field for s in registry().values()
                  if s.report_field and {"weights", "forward"} & set(s.needs))
    return ("weights", "images", *drawn, "unavailable", "weights_error")


def applicable(report, sections: Iterable[str]) -> tuple[str, ...]:
    """Those of ``sections`` that apply to this model (each section's ``applies``): the sections a
    note gets when it lists none — a ResNet note has no patch, [CLS] or attention sections."""
    reg = registry()
    return tuple(n for n in sections if n in reg and reg[n].applies(report))


def default_anchors() -> dict[str, list[str]]:
    """Section -> its default anchors, as declared by the section modules."""
    return {s.name: list(s.anchors) for s in registry().values()}
