"""Measured speed on this machine: latency at batch 1 and throughput at batch N (opt-in).

The model runs for real (random-init weights: speed does not depend on their values) in eval
mode under ``torch.inference_mode``, in its deployed form when timm can re-parameterise it.
Each measurement does ``warmup`` untimed runs first (kernel selection, allocator, caches),
then ``runs`` timed ones, and reports the median (plus min and
max, for the spread). On CUDA every timed run ends with ``torch.cuda.synchronize`` so the clock
sees the kernels finish, not just their launch. Wall time comes from ``time.perf_counter``.
"""

from __future__ import annotations

import statistics
import time
from typing import Callable, Optional

import torch

from vitnotes.analysis.build import build_model, input_size
from vitnotes.analysis.deploy import fusable_modules
from vitnotes.analysis.report import Speed, SpeedRun
from vitnotes.errors import ModelError

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
Tick = Optional[Callable[[], None]]


def _device(name: str) -> torch.device:
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ModelError("--device cuda asked for, but torch sees no CUDA device", "use --device cpu")
    if not (name == "cpu" or name.startswith("cuda")):
        raise ModelError(f"device {name!r} is not supported for speed runs", "use cpu or cuda")
    return torch.device(name)


def _device_label(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return "cpu"


def time_batch(model: torch.nn.Module, x: torch.Tensor, runs: int, warmup: int, tick: Tick = None) -> SpeedRun:
    """Median wall time of ``model(x)`` over ``runs`` timed runs after ``warmup`` untimed ones."""
    cuda = x.device.type == "cuda"
    times = []
    with torch.inference_mode():
        for i in range(warmup + runs):
            if cuda:
                torch.cuda.synchronize(x.device)
            t0 = time.perf_counter()
            model(x)
            if cuda:
                torch.cuda.synchronize(x.device)
            if i >= warmup:
                times.append((time.perf_counter() - t0) * 1000)
            if tick:
                tick()
    return SpeedRun(batch=x.shape[0], median_ms=statistics.median(times), runs=runs,
                    min_ms=min(times), max_ms=max(times))


def measure_speed(model_name: str, img_size: Optional[int] = None, model_kwargs: Optional[dict] = None, *,
                  device: str = "cpu", dtype: str = "float32", batch: int = 32, runs: int = 10,
                  warmup: int = 3, progress: bool = False) -> Speed:
    """Latency (batch 1) and throughput (batch ``batch``) of ``model_name`` on ``device``."""
    if dtype not in DTYPES:
        raise ModelError(f"dtype {dtype!r} is not supported", f"choose from {', '.join(DTYPES)}")
    dev = _device(device)
    model = build_model(model_name, img_size, model_kwargs or {}, device="cpu")
    deployed = bool(fusable_modules(model))
    if deployed:  # time what ships: RepVGG-style branches fused, BatchNorms folded
        from timm.models import reparameterize_model

        model = reparameterize_model(model, inplace=True)
    model = model.to(device=dev, dtype=DTYPES[dtype]).eval()
    chw = input_size(model)
    steps = 2 * (warmup + runs)
    bar = _bar(steps, f"timing {model_name} on {dev.type}") if progress else None
    tick = bar.update if bar is not None else None
    try:
        latency = time_batch(model, torch.randn(1, *chw, device=dev, dtype=DTYPES[dtype]), runs, warmup, tick)
        throughput = time_batch(model, torch.randn(batch, *chw, device=dev, dtype=DTYPES[dtype]), runs, warmup, tick)
    finally:
        if bar is not None:
            bar.close()
    return Speed(device=_device_label(dev), dtype=dtype, threads=torch.get_num_threads(), warmup=warmup,
                 latency=latency, throughput=throughput, img_size=[chw[1], chw[2]], torch=torch.__version__,
                 deployed=deployed)


def _bar(total: int, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="run", leave=False, disable=None)  # None: only on a terminal
