"""Is this a paper note? `fill` writes only into a note that asked for it.

A note qualifies with any one of: a `vitnotes:` frontmatter key, a model given on the command line
(`fill --model X`), regions from an earlier fill, or one of the paper template's question lines
(the literal anchors the section modules declare and the vault's own, matched as `fill` places
regions: outside code, frontmatter and regions). Anything else — a shopping list, a meeting note —
is refused before any analysis, so not one byte or figure of the vault changes.
"""

from __future__ import annotations

from typing import Mapping, Optional, Sequence

from vitnotes.errors import NoteError
from vitnotes.obsidian.placement import find_anchor
from vitnotes.obsidian.regions import scan

OPT_IN_HINT = ("add `vitnotes: vit_base_patch16_224` (any timm name) to its frontmatter, or run "
               "`vitnotes fill --model NAME` on it")


def question_anchors(anchors: Mapping[str, Sequence[str]]) -> list[str]:
    """The literal anchor lines (the template's questions); regexes such as the card's `^# ` match any note."""
    return [a for patterns in anchors.values() for a in patterns if not a.startswith("re:")]


def why_not_a_paper_note(text: str, frontmatter: Optional[dict], anchors: Mapping[str, Sequence[str]],
                         cli_model: Optional[str]) -> str:
    """"" when ``fill`` may write this note, else the reason (one line)."""
    if cli_model or (isinstance(frontmatter, dict) and "vitnotes" in frontmatter):
        return ""
    sc = scan(text)
    if sc.regions or find_anchor(sc, question_anchors(anchors)) is not None:
        return ""
    return "not a paper note (no `vitnotes:` key, no --model and none of the paper template's questions)"


def check_paper_note(text: str, frontmatter: Optional[dict], anchors: Mapping[str, Sequence[str]],
                     cli_model: Optional[str]) -> None:
    why = why_not_a_paper_note(text, frontmatter, anchors, cli_model)
    if why:
        raise NoteError(why, OPT_IN_HINT)
