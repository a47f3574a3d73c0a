"""Measured speed: warm-up, median, the batch sizes and the machine named; opt-in only."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import torch

from vitnotes import sections
from vitnotes.analysis.speed import measure_speed, time_batch
from vitnotes.spec import NoteSpec


class Sleeper(torch.nn.Module):
    """Takes the given seconds per call, in order: a known timing to check the statistics."""

    def __init__(self, seconds):
        super().__init__()
        self.seconds = list(seconds)
        self.calls = 0

    def forward(self, x):
        time.sleep(self.seconds[self.calls])
        self.calls += 1
        return x


def test_warmup_runs_are_not_timed_and_the_median_is_reported():
    model = Sleeper([0.30, 0.30, 0.01, 0.05, 0.02])  # two slow warm-ups, then 10, 50, 20 ms
    run = time_batch(model, torch.zeros(3, 1), runs=3, warmup=2)
    assert model.calls == 5
    assert run.batch == 3 and run.runs == 3
    assert 19 <= run.median_ms < 30  # the 20 ms run, not the mean (27 ms) nor a warm-up
    assert run.min_ms < run.median_ms < run.max_ms < 100
    assert run.images_per_s == pytest.approx(3000 / run.median_ms)


def test_measure_speed_names_device_dtype_threads_and_batches():
    s = measure_speed("vit_tiny_patch16_224", 32, {"depth": 1}, batch=2, runs=2, warmup=1)
    assert s.device == "cpu" and s.dtype == "float32" and s.threads == torch.get_num_threads()
    assert (s.latency.batch, s.throughput.batch) == (1, 2)
    assert s.latency.runs == s.throughput.runs == 2 and s.warmup == 1
    assert s.img_size == [32, 32] and not s.deployed


def test_speed_is_never_in_the_default_sections():
    assert "speed" in sections.names()
    assert "speed" not in sections.default_names()
    assert "speed" not in NoteSpec(model="vit_tiny_patch16_224", source="default").sections
    assert "speed" not in sections.structural_names()


def test_bench_cli_json_and_a_clear_error_without_cuda(tmp_path):
    args = [sys.executable, "-m", "vitnotes", "bench", "vit_tiny_patch16_224", "--img-size", "32",
            "--kwargs", '{"depth": 1}', "--batch", "2", "--runs", "2", "--warmup", "1"]
    done = subprocess.run(args + ["--json"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["latency"]["batch"] == 1 and out["throughput"]["batch"] == 2
    if not torch.cuda.is_available():
        bad = subprocess.run(args + ["--device", "cuda"], capture_output=True, text=True, timeout=300)
        assert bad.returncode == 2
        assert bad.stderr.strip().splitlines()[-1].startswith("vitnotes: error: --device cuda")
        assert "Traceback" not in bad.stderr
