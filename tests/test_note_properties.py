"""Property tests: over arbitrary notes and region edits, text outside regions survives exactly and
merging is idempotent."""

from __future__ import annotations

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from vitnotes.errors import NoteError
from vitnotes.obsidian.placement import is_vitnotes_heading
from vitnotes.obsidian.regions import HEADING, Line, body_hash, find_regions, join_lines, merge, scan, split_lines

ANCHORS = {"shapes": ["Tensor Shapes"], "patch": ["Patch Size"], "eq": ["核心公式"], "fig": []}
NAMES = list(ANCHORS)

_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\n")
free_text = st.text(_chars, max_size=30).filter(lambda s: "vitnotes" not in s)
indent = st.sampled_from(["", " ", "  ", "    ", "\t", "\t\t", "\t    ", "  \t"])
line = st.one_of(
    free_text,
    st.builds(lambda i, m, t: f"{i}{m} {t}", indent, st.sampled_from(["-", "*", "1.", "- [ ]"]), free_text),
    st.builds(lambda i, t: i + t, indent, free_text),
    st.sampled_from([
        "", " ", "\t", "```", "```python", "~~~", "    ```", "---", "## Heading", "# Title", "> quote",
        "- [ ] **Patch Size 是多少？**", "\tDepends on the model", "- **核心公式：**", "### 张量变化 (Tensor Shapes",
        "| a | b |", "| - | - |", HEADING, "trailing  ", "中文\t混合 text",
    ]),
)


@st.composite
def notes(draw):
    rows = draw(st.lists(line, max_size=25))
    nl = draw(st.sampled_from(["\n", "\r\n"]))
    text = nl.join(rows)
    if rows and draw(st.booleans()):
        text += nl
    if draw(st.booleans()):  # a few mixed endings too
        text = text.replace("\r\n", "\n", 1)
    return text


body = st.lists(
    st.one_of(free_text, st.sampled_from(["| x | y |", "| --- | --- |", "```mermaid", "```", "---", "", "  indented"])),
    min_size=1, max_size=6,
).map("\n".join)
sections = st.dictionaries(st.sampled_from(NAMES), body, min_size=1, max_size=4)


def _merge(text, secs, force=False):
    try:
        return merge(text, secs, ANCHORS, force=force)
    except NoteError as exc:
        # The only refusal a marker-free note can get: a code fence left open where a region must go.
        assert "never closed" in str(exc)
        sc = scan(text)
        assert sc.open_after and sc.open_after[-1]
        assume(False)


def _items(text: str) -> list[tuple[str, str, bool]]:
    """(content, ending, is_region) per line outside regions; each region is one item."""
    lines = split_lines(text)
    regions = {r.begin: r for r in find_regions(text)}
    out, i = [], 0
    while i < len(lines):
        if i in regions:
            out.append((regions[i].name, lines[regions[i].end].eol, True))
            i = regions[i].end + 1
        else:
            out.append((lines[i].content, lines[i].eol, False))
            i += 1
    return out


def _only_insertions(old: str, new: str) -> None:
    """``new`` is ``old`` with regions, blank lines and the heading inserted; nothing else differs."""
    a, b = _items(old), _items(new)
    j = 0
    for k, (content, eol, region) in enumerate(a):
        last = k == len(a) - 1
        while j < len(b) and not (
            b[j][0] == content and b[j][2] == region and (b[j][1] == eol or (last and eol == ""))
        ):
            assert b[j][2] or b[j][0] == "" or is_vitnotes_heading(b[j][0]), f"changed or inserted: {b[j][0]!r}"
            j += 1
        assert j < len(b), f"original line {k + 1} lost: {content!r}"
        j += 1
    assert all(item[2] or item[0] == "" or is_vitnotes_heading(item[0]) for item in b[j:])
    if old:
        assert new.endswith("\n") == old.endswith("\n")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(notes(), sections, sections)
@example(text=" \r", first={"shapes": ""}, more={"shapes": ""})  # a last line ending in a lone CR
@example(text="- [ ] **Patch Size 是多少？**\n```", first={"patch": ""}, more={"shapes": ""})  # open fence
def test_fresh_note_only_gains_lines_and_merge_is_idempotent(text, first, more):
    r1 = _merge(text, first)
    _only_insertions(text, r1.text)
    assert sorted(r.name for r in find_regions(r1.text)) == sorted(first)
    assert r1.changed and r1.inserted == list(first)
    again = merge(r1.text, first, ANCHORS)
    assert not again.changed and again.text == r1.text
    # A later fill with more (and different) sections adds regions and touches nothing else.
    both = {**first, **more}
    r2 = _merge(r1.text, both)  # a later section may need the end of a note whose last fence is open
    _only_insertions(r1.text, r2.text)
    assert sorted(r.name for r in find_regions(r2.text)) == sorted(both)
    assert merge(r2.text, both, ANCHORS).text == r2.text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(notes(), sections, st.data())
def test_edits_inside_regions_are_kept_and_outside_text_survives(text, secs, data):
    filled = _merge(text, secs).text
    regions = find_regions(filled)
    victim = data.draw(st.sampled_from(regions))
    lines = split_lines(filled)
    # The user rewrites the body of one region and re-indents nothing else.
    new_body = data.draw(st.lists(free_text.filter(lambda s: s.strip()), min_size=1, max_size=3))
    eol = lines[victim.begin].eol
    lines[victim.begin + 1 : victim.end] = [Line(victim.indent + b.replace("\r", ""), eol) for b in new_body]
    edited = join_lines(lines)
    edited_body = next(r.body for r in find_regions(edited) if r.name == victim.name)
    fresh = {name: f"new {name}\n| a | b |\n| - | - |" for name in secs}

    r = merge(edited, fresh, ANCHORS)
    assert _items(r.text) == _items(edited)
    got = {reg.name: reg for reg in find_regions(r.text)}
    keep = body_hash(edited_body) not in (victim.sha, body_hash(fresh[victim.name]))
    assert (victim.name in r.kept_edited) == keep
    if keep:
        assert got[victim.name].body == edited_body and got[victim.name].sha == victim.sha
    for name in secs:
        if name != victim.name or not keep:
            assert got[name].body.strip().startswith("new " + name)
    assert merge(r.text, fresh, ANCHORS).text == r.text

    forced = merge(edited, fresh, ANCHORS, force=True)
    assert _items(forced.text) == _items(edited)
    assert all(reg.body.strip().startswith("new " + reg.name) for reg in find_regions(forced.text))
    assert merge(forced.text, fresh, ANCHORS).text == forced.text
