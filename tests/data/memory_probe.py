"""Real CPU memory of a timm model, measured from the process's resident set (RSS), for
tests/test_memory.py. Run with MALLOC_MMAP_THRESHOLD_ small so glibc maps every big block
on its own and returns it when freed: RSS then follows torch's live tensors.

    python memory_probe.py NAME BATCH SIZE KWARGS_JSON -> JSON of bytes
"""
import gc
import json
import os
import sys

import timm
import torch

torch.set_num_threads(1)


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss():
    """VmHWM: the resident-set peak since the last reset_peak()."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM"))


def reset_peak():
    with open("/proc/self/clear_refs", "w") as f:  # "5": reset the peak RSS to the current RSS
        f.write("5")


name, batch, size, kwargs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4])
# Warm the kernels and thread pools on a throw-away copy at batch 1: one-time set-up is not measured.
warm = timm.create_model(name, img_size=size, **kwargs).eval()
with torch.no_grad():
    warm(torch.randn(1, 3, size, size))
del warm
gc.collect()
out = {}
r0 = rss()
model = timm.create_model(name, img_size=size, **kwargs).eval()
x = torch.randn(batch, 3, size, size)
r1 = rss()
reset_peak()
with torch.no_grad():
    y = model(x)
out["forward_peak"] = peak_rss() - r1  # the input x is already in r1
del y
gc.collect()
model.train()
opt = torch.optim.AdamW(model.parameters())
model(x).sum().backward()
opt.step()
opt.zero_grad(set_to_none=False)
gc.collect()
r2 = rss()
y = model(x)  # the graph (saved activations) stays alive while y does
r3 = rss()
out.update(saved=r3 - r2, training=r3 - r0, weights=r1 - r0)
print(json.dumps(out))
