"""The code companion note's Markdown: the model's annotated ``forward`` listings, from the code section's view.

The paper note's code region keeps one line that links here and names the attention kernel that
ran (``sections/code.py``); the listings themselves, a few hundred lines for a ViT, live in this
note, which vitnotes owns and rewrites on every fill (obsidian/companion.py writes it). The listing
template is the code region's own (``code_listing.md.j2``), so a vault override restyles both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from vitnotes.analysis.report import Report
from vitnotes.render.templating import make_environment, render_template, tidy


def render_code_note(report: Report, back_link: str, model_line: str,
                     template_dirs: Sequence[Path] = (), bytecode_cache: bool = False) -> str:
    """The whole companion note, frontmatter included (its ``vitnotes-code`` property marks it as vitnotes')."""
    from vitnotes.sections.code import view

    env = make_environment(template_dirs, bytecode_cache)
    body = render_template(env, "code_listing.md.j2", {"view": view(report), "section": "code",
                                                             "companion": True})
    head = [
        "---",
        f'vitnotes-code: "{back_link}"',
        "---",
        f"For {back_link}; written by vitnotes on every fill: edits here are replaced.",
        "",
        f"*{model_line}*",
        "",
        "",
    ]
    return "\n".join(head) + tidy(body)
