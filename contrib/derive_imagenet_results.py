"""Derive vitnotes/data/imagenet_results.csv from timm's published results table.

Usage: python contrib/derive_imagenet_results.py results-imagenet.csv > body.csv
(results-imagenet.csv from huggingface/pytorch-image-models, results/; then put the header comment
naming the source commit and date — see the shipped file — above body.csv). Needs timm installed for
the timm_default column (the tag timm loads for a bare architecture name).
"""
import csv
import re
import sys

from timm.models import get_pretrained_cfg

SRC = sys.argv[1]
KEEP = re.compile(r"^(vit_|deit|swin|eva|beit|cait|flexivit|hiera|mixer_|tiny_vit|levit_|pit_|"
                  r"convnext_(atto|femto|pico|nano|tiny|small|base|large)$|resnet(18|34|50|101|152)$|resnet50d$|"
                  r"efficientnet_b[0-3]$|mobilenetv3_(large|small)_100$|mobilenetv2_100$|regnety_(016|032|040|080|160|320)$|"
                  r"vgg16$|densenet121$|maxvit_(tiny|small|base)_tf_224$|crossvit_(tiny|small|base)_240$)")
rows = list(csv.DictReader(open(SRC, newline="")))
out = []
for r in rows:
    arch, _, tag = r["model"].partition(".")
    if not KEEP.match(arch):
        continue
    default = ""
    try:
        cfg = get_pretrained_cfg(arch)
        default = "1" if cfg is not None and cfg.tag == tag else ""
    except Exception:
        pass
    out.append((r["model"], r["img_size"], r["top1"], r["top5"], default))
print(len(out), file=sys.stderr)
w = csv.writer(sys.stdout, lineterminator="\n")
w.writerow(["model", "img_size", "top1", "top5", "timm_default"])
w.writerows(sorted(out))
