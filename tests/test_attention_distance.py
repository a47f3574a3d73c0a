"""Mean attention distance and rollout math against analytic cases (docs/DESIGN.md §5) and brute force."""

import math

import numpy as np
import pytest
import torch

from vitnotes.analysis.attention import (
    Geometry, attention_rollout, mean_attention_distance, patch_distances, rollout_mask, summarize,
    uniform_distance,
)

GRID = (14, 14)
P = 16


def neighbour_attention(rows: int, cols: int) -> torch.Tensor:
    """Uniform over the 8 neighbours of each patch, renormalised where the border cuts some off."""
    n = rows * cols
    a = torch.zeros(n, n, dtype=torch.float64)
    for r in range(rows):
        for c in range(cols):
            nb = [(r + dr) * cols + (c + dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1)
                  if (dr or dc) and 0 <= r + dr < rows and 0 <= c + dc < cols]
            a[r * cols + c, nb] = 1.0 / len(nb)
    return a


def brute_force_mad(a: np.ndarray, grid, patch, prefix: int) -> float:
    """The definition with explicit loops: (1/N) Σ_i Σ_j A_ij · dist(i, j), prefix dropped."""
    rows, cols = grid
    ph, pw = patch
    n = rows * cols
    total = 0.0
    for i in range(n):
        for j in range(n):
            dr = (i // cols - j // cols) * ph
            dc = (i % cols - j % cols) * pw
            total += a[prefix + i, prefix + j] * math.hypot(dr, dc)
    return total / n


def test_identity_attention_is_zero_px():
    a = torch.eye(196, dtype=torch.float64)
    assert float(mean_attention_distance(a, GRID, P)) == pytest.approx(0.0, abs=1e-9)


def test_uniform_attention_over_196_patches():
    a = torch.full((196, 196), 1 / 196, dtype=torch.float64)
    assert float(mean_attention_distance(a, GRID, P)) == pytest.approx(116.4922, abs=1e-3)
    assert uniform_distance(GRID, P) == pytest.approx(116.4922, abs=1e-3)


def test_uniform_over_eight_neighbours_renormalised_at_borders():
    a = neighbour_attention(*GRID)
    assert torch.allclose(a.sum(-1), torch.ones(196, dtype=torch.float64))
    assert float(mean_attention_distance(a, GRID, P)) == pytest.approx(19.1289, abs=1e-3)


def test_prefix_tokens_dropped_without_renormalising():
    # uniform over [CLS] + 196 patches: patch rows keep only 196/197 of their mass on patches
    a = torch.full((197, 197), 1 / 197, dtype=torch.float64)
    got = float(mean_attention_distance(a, GRID, P, num_prefix_tokens=1))
    assert got == pytest.approx(116.4922 * 196 / 197, abs=1e-3)
    # attention entirely on [CLS] (and registers) contributes no distance at all
    b = torch.zeros(201, 201, dtype=torch.float64)
    b[:, 0] = 1.0
    assert float(mean_attention_distance(b, GRID, P, num_prefix_tokens=5)) == 0.0


def test_non_square_grid_and_patches_match_brute_force():
    grid, patch, prefix = (3, 5), (16, 8), 2
    n = prefix + 15
    g = torch.Generator().manual_seed(0)
    a = torch.rand(2, 3, n, n, generator=g, dtype=torch.float64).softmax(-1)  # [B, H, N, N]
    got = mean_attention_distance(a, grid, patch, num_prefix_tokens=prefix)
    assert got.shape == (2, 3)
    for b in range(2):
        for h in range(3):
            assert float(got[b, h]) == pytest.approx(brute_force_mad(a[b, h].numpy(), grid, patch, prefix), rel=1e-9)


def test_patch_distances_are_pixels_between_centres():
    d = patch_distances((2, 3), (10, 4))
    assert float(d[0, 5]) == pytest.approx(math.hypot(10, 8))  # (0,0) -> (1,2)
    assert torch.allclose(d, d.T)


def test_map_that_does_not_fit_the_grid_is_refused():
    with pytest.raises(ValueError, match="does not fit"):
        mean_attention_distance(torch.eye(196), GRID, P, num_prefix_tokens=1)


def test_rollout_matches_matrix_product_reference():
    g = torch.Generator().manual_seed(1)
    n, layers = 5, 3
    maps = [torch.rand(n, n, generator=g, dtype=torch.float64).softmax(-1) for _ in range(layers)]
    ref = np.eye(n)
    for a in maps:  # Abnar & Zuidema: 0.5·A + 0.5·I (A's rows sum to 1), product from the first layer
        ref = (0.5 * a.numpy() + 0.5 * np.eye(n)) @ ref
    got = attention_rollout(maps)
    assert np.allclose(got.numpy(), ref)
    assert torch.allclose(got.sum(-1), torch.ones(n, dtype=torch.float64))


def test_rollout_of_identity_attention_keeps_cls_on_itself():
    geo = Geometry(grid=(2, 2), patch_size=(16, 16), num_prefix_tokens=1)
    joint = attention_rollout([torch.eye(5, dtype=torch.float64)] * 4)
    mask = rollout_mask(joint, geo)
    assert mask.shape == (2, 2) and float(mask.abs().sum()) == 0.0


def test_summary_is_read_from_the_numbers():
    mad = [[20.4, 64.0, 119.6], [80.0, 90.0, 100.0], [101.0, 110.0, 118.0]]
    text = summarize(mad, 116.49)
    assert text.startswith("layer 1: heads span 20–120 px")
    assert "layer 3: all heads > 101 px" in text
    assert "untrained" not in text
    flat = summarize([[116.0, 116.5], [115.9, 116.2]], 116.49)
    assert "untrained" in flat
