"""What the renderer needs besides the Report (figure embeds, template folders, provenance)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

MAX_TRACE_ROWS = 5000  # a note is not a log file; the cut is said in the callout title

OnError = Literal["raise", "callout"]


@dataclass
class RenderContext:
    """What the renderer needs besides the Report; all optional."""

    figures: dict[str, str] = field(default_factory=dict)  # section -> ready embed, e.g. ![[ViT.pos_embed.png]]
    template_dirs: list[Path] = field(default_factory=list)  # overrides first; shipped dir appended if absent
    model_source: str = ""  # where the model and settings came from, for the provenance line
    model_line: str = ""  # a provenance line of the caller's own; "" = build_model_line(report, model_source)
    on_error: OnError = "raise"  # "raise" a SectionTemplateError, or "callout": that section becomes a warning
    max_trace_rows: int = MAX_TRACE_ROWS
    vault_root: Optional[Path] = None  # paths inside it are shown relative: a note must not depend on where the vault lives
    sections: tuple[str, ...] = ()  # every section being rendered for this note (a fact goes in one of them)
    trace_link: str = ""  # the link to the op-trace companion note ("" = none written)
    rules_link: str = ""  # the link to the trace companion's MAC-counting rules ("" = they stay in the MACs region)
    code_link: str = ""  # the link to the code companion note ("" = the listing stays in the code region)
    # Keep compiled templates in Jinja's own per-user cache (the temp folder, owner-only; never the
    # vault: bytecode there would be code a synced vault could plant), so a re-fill skips compiling.
    bytecode_cache: bool = False
