"""The filled example note as Obsidian's reading view shows it (headless Chromium): it fits the 700 px
column, every formula and diagram renders, and the note stays mostly the student's (must-hold of issue 11).

Slow: fills the example vault (figures included) and renders it. Needs node, Chromium and
`(cd benchmarks/render && npm ci)`; skipped without them. The line ratio needs none of these.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("bench_note_size", REPO / "benchmarks" / "bench_note_size.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    work = tmp_path_factory.mktemp("notesize")
    return bench.fill_copy(REPO / "vault_example" / "Papers" / "ViT.md", work)


def test_generated_lines_at_most_one_and_a_half_times_the_users(filled):
    lines = bench.line_counts(*filled)
    assert lines["user_lines"] > 100  # the example note's own text
    assert lines["generated_lines"] > 0
    assert lines["generated_lines"] <= 1.5 * lines["user_lines"], lines


def test_reading_view_fits_the_column_and_renders(filled, tmp_path):
    why = bench.render_available()
    if why:
        pytest.skip(why)
    before, after = filled
    unfilled, note = bench.render_check([before, after], tmp_path)
    assert note["wide"] == [], "elements wider than Obsidian's 700 px column"
    assert note["katex_errors"] == [] and note["mermaid_errors"] == []
    assert note["diagrams"], "the example note has a Mermaid diagram"
    for d in note["diagrams"]:
        assert not d["error"] and d["height"] < 1000 and d["natural_width"] <= 700, d
        assert d["title_crossings"] == 0, d
    assert Path(note["screenshot"]).stat().st_size > 10_000


def test_filled_note_at_most_twice_as_tall_as_the_users(filled, tmp_path):
    why = bench.render_available()
    if why:
        pytest.skip(why)
    unfilled, note = bench.render_check(list(filled), tmp_path)
    assert note["height"] <= 2.0 * unfilled["height"], (note["height"], unfilled["height"])
