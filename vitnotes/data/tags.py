"""What a timm pretrained tag says about its training data and recipe (no torch).

timm names each checkpoint ``architecture.tag`` and spells the training history in the tag:
``augreg2_in21k_ft_in1k`` = AugReg recipe, pre-trained on ImageNet-21k, fine-tuned on ImageNet-1k.
Tokens before ``ft`` are pre-training data, tokens after it fine-tuning data, in order. The
vocabulary below covers the tags of the models vitnotes profiles; unknown tokens are left out
rather than guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DATASETS = {
    "in1k": "ImageNet-1k",
    "in21k": "ImageNet-21k",
    "in22k": "ImageNet-22k",
    "in12k": "ImageNet-12k (timm's 11.8k-class subset of ImageNet-22k)",
    "jft300m": "JFT-300M",
    "jft3b": "JFT-3B",
    "lvd142m": "LVD-142M",
    "laion2b": "LAION-2B",
    "laion400m": "LAION-400M",
    "openai": "OpenAI's CLIP image–text data (WIT-400M)",
    "webli": "WebLI",
    "dfn2b": "DFN-2B",
    "dfn5b": "DFN-5B",
    "datacompxl": "DataComp-XL",
    "metaclip2_5b": "MetaCLIP-2.5B",
    "m38m": "Merged-38M",
    "m30m": "Merged-30M",
    "sa1b": "SA-1B",
    "ig1b": "Instagram-1B",
    "ig3b": "Instagram-3.5B",
    "yfcc15m": "YFCC-15M",
    "cc12m": "CC12M",
    "apple_pt": "Apple's DFN pre-training data",
}

RECIPES = {
    "orig": "the paper's original weights",
    "augreg": "AugReg recipe (Steiner et al., How to train your ViT)",
    "augreg2": "AugReg, fine-tuned again by timm",
    "sam": "SAM optimizer (Chen et al., When Vision Transformers Outperform ResNets)",
    "dino": "DINO self-supervised",
    "mae": "MAE self-supervised (masked autoencoder)",
    "mim": "masked image modelling",
    "clip": "CLIP image–text contrastive",
    "siglip": "SigLIP image–text",
    "fb": "Meta's release",
    "ms": "Microsoft's release",
    "goog": "Google's release",
    "tv": "torchvision's weights",
    "tv2": "torchvision's second recipe",
    "a1": "ResNet strikes back A1 recipe",
    "a2": "ResNet strikes back A2 recipe",
    "a3": "ResNet strikes back A3 recipe",
    "a1h": "ResNet strikes back A1 recipe (hard)",
    "ra": "RandAugment recipe",
    "ra2": "RandAugment recipe 2",
    "ra4": "RandAugment recipe 4",
    "gluon": "Gluon's weights",
    "miil": "Alibaba MIIL's weights",
    "dist": "distilled",
    "sw": "Swin-style fine-tune",
}


@dataclass(frozen=True)
class TagFacts:
    pretrained_on: list[str] = field(default_factory=list)
    fine_tuned_on: list[str] = field(default_factory=list)
    recipe: list[str] = field(default_factory=list)


def read_tag(tag: str) -> TagFacts:
    """Datasets (pre-training, then fine-tuning) and recipe words named by a timm tag."""
    tokens = [t for t in tag.lower().split("_") if t]
    pre: list[str] = []
    ft: list[str] = []
    recipe: list[str] = []
    seen_ft = False
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        pair = f"{tok}_{tokens[i + 1]}" if i + 1 < len(tokens) else ""
        if pair in DATASETS or pair in RECIPES:
            tok, i = pair, i + 1
        if tok == "ft":
            seen_ft = True
        elif tok in DATASETS:
            (ft if seen_ft else pre).append(DATASETS[tok])
        elif tok in RECIPES:
            recipe.append(RECIPES[tok])
        i += 1
    return TagFacts(pretrained_on=pre, fine_tuned_on=ft, recipe=recipe)
