"""The Report: plain data between the analyzer and the renderers, with a JSON round-trip.

Nothing here imports torch: the cache and the renderers read Reports without paying for it.
Fields are append-only (add new ones with defaults) so cached Reports stay readable;
bump ``SCHEMA`` when a change makes old cached Reports wrong.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal, Optional, Union

# 2: stems that patchify (Mixer, ConvNeXt, hybrids), position info from the modules, window steps;
# 3: checkpoint provenance, published accuracy, weights_error;
# 4: ShapeRow.residual / in_block (facts the diagram and the shape table read);
# 5: global pooling and fused LSTMs counted; deploy, memory, training, speed.
SCHEMA = 5

MacsBackend = Literal["dispatch", "fvcore"]
WeightsKind = Literal["random", "file", "hf-cache"]

MAC_CONVENTION = (
    "MACs: one multiply-add = 1 MAC (the convention of timm's tables, fvcore and most papers, "
    "which call them FLOPs); FLOPs = 2 × MACs"
)


@dataclass
class Card:
    """What a reader asks first: the model's family and its ViT hyper-parameters (None where n/a)."""

    model: str
    family: str  # the timm class name, e.g. "VisionTransformer", "SwinTransformer", "ResNet"
    img_size: Optional[list[int]] = None  # [H, W] actually fed to the model
    in_chans: int = 3
    patch_size: Optional[int] = None  # pixels per patch side (first side if non-square)
    grid: Optional[list[int]] = None  # [rows, cols] of patches
    num_patches: Optional[int] = None
    num_prefix_tokens: Optional[int] = None  # [CLS] + distillation + registers
    prefix_tokens: list[str] = field(default_factory=list)  # e.g. ["cls"], ["cls", "dist"], ["cls", "reg×4"]
    num_tokens: Optional[int] = None  # num_patches + num_prefix_tokens
    embed_dim: Optional[int] = None
    depth: Optional[int] = None
    num_heads: Optional[int] = None
    head_dim: Optional[int] = None
    mlp_hidden: Optional[int] = None
    pos_embed: Optional[str] = None  # e.g. "learned absolute", "relative bias (windowed)", "none"
    pos_embed_shape: Optional[list[int]] = None
    pooling: Optional[str] = None  # "token" ([CLS]), "avg", "map", ...
    num_classes: int = 0
    classifier: Optional[str] = None  # e.g. "Linear 768 → 1000"
    paper_row: Optional[dict[str, Any]] = None  # ViT paper Table 1: name, layers, hidden, mlp, heads, params
    stem: Optional[str] = None  # how the stem cuts the image, e.g. "patchify: conv 4×4, stride 4"; None = no patchify
    stem_module: str = ""  # e.g. "patch_embed.proj", "stem.0", "stem.proj"
    token_stride: Optional[int] = None  # image pixels per token side (hybrids: backbone reduction × patch)


@dataclass
class ParamRow:
    name: str  # module path or group name, e.g. "patch_embed", "blocks.0.attn.qkv"
    label: str  # readable, e.g. "attention qkv (W^Q, W^K, W^V)"
    count: int
    shapes: list[list[int]] = field(default_factory=list)


@dataclass
class HeadMatrices:
    """Multi-head attention's learnable matrices, per head (docs/DESIGN.md §5)."""

    embed_dim: int  # D = d_model
    num_heads: int  # h
    head_dim: int  # d_k = D / h
    wq: list[int]  # [D, d_k] per head
    wk: list[int]
    wv: list[int]
    wo: list[int]  # [D, D] (h·d_k × D), shared by all heads
    qkv_bias: bool
    params_per_block: int  # qkv + proj weights and biases of one block
    qkv_bias_params: Optional[int] = None  # learned q/k/v bias values (EVA, BEiT: q and v only, 2·D); None = 3·D if qkv_bias


@dataclass
class Params:
    total: int
    trainable: int
    groups: list[ParamRow] = field(default_factory=list)  # patch embed, [CLS], pos embed, blocks, norm, head
    block: list[ParamRow] = field(default_factory=list)  # one block split: norm1, qkv, proj, norm2, fc1, fc2
    attention: Optional[HeadMatrices] = None


@dataclass
class MacRow:
    name: str
    macs: int


@dataclass
class Macs:
    total: int
    convention: str = MAC_CONVENTION
    backend: MacsBackend = "dispatch"  # the TorchDispatchMode recorder, or fvcore on real CPU tensors
    counted: list[str] = field(default_factory=list)  # op kinds counted
    not_counted: list[str] = field(default_factory=list)  # op kinds seen but not counted
    by_group: list[MacRow] = field(default_factory=list)
    by_op: list[MacRow] = field(default_factory=list)  # convolution, linear, attention matmul, norm, ...
    attention_share: Optional[float] = None  # share of total MACs in attention blocks (qkv, QKᵀ, AV, proj)
    mlp_share: Optional[float] = None
    activations: Optional[int] = None  # elements produced by counted ops (fvcore's activation count)
    dispatch_total: Optional[int] = None  # with backend "fvcore": the dispatch recorder's total, for comparison


@dataclass
class ShapeRow:
    stage: str  # readable step, e.g. "patch projection", "attention matrix"
    shape: str  # symbolic batch, e.g. "B×197×768"
    module: str = ""  # module path it came from
    note: str = ""
    residual: bool = False  # a residual add ends this step: its output is the step's input to the block + this
    in_block: bool = False  # one step of the repeated block, listed among the stages (after the block-stack row)


@dataclass
class TraceRow:
    module: str
    op: str
    inputs: list[str]
    output: str
    macs: int = 0


@dataclass
class StageRow:
    """One stage of a hierarchical model: where down-sampling happens."""

    name: str
    resolution: str  # e.g. "56×56"
    channels: int
    depth: int
    downsample: str  # e.g. "patch merging 2×2", "stride-2 conv", "—"


@dataclass
class Shapes:
    stages: list[ShapeRow] = field(default_factory=list)  # image → … → logits
    block: list[ShapeRow] = field(default_factory=list)  # one basic block, op by op
    hierarchy: list[StageRow] = field(default_factory=list)  # hierarchical models only
    trace: list[TraceRow] = field(default_factory=list)  # every aten op


@dataclass
class ScalePoint:
    img_size: int
    num_tokens: Optional[int]
    macs: int
    attention_matmul_macs: int  # QKᵀ + AV only: the N² term


@dataclass
class WeightsInfo:
    kind: WeightsKind
    source: str  # file path or cache id; "" for random
    sha256: str = ""  # of the file, "" for random
    seed: Optional[int] = None
    label: str = ""  # what every figure says, e.g. "random init (seed 0) — not a trained model"
    # A timm checkpoint from the Hugging Face hub (kind "hf-cache"); "" / [] otherwise.
    checkpoint: str = ""  # timm name, architecture.tag
    hub_id: str = ""  # Hugging Face repo id, e.g. "timm/vit_base_patch16_224.augreg2_in21k_ft_in1k"
    revision: str = ""  # the commit sha the file came from
    filename: str = ""  # file in the repo, e.g. "model.safetensors"
    size: int = 0  # bytes
    downloaded: bool = False  # fetched in this run (False: found in the HF cache)
    pretrained_on: list[str] = field(default_factory=list)  # datasets the tag names, pre-training first
    fine_tuned_on: list[str] = field(default_factory=list)
    recipe: list[str] = field(default_factory=list)  # e.g. "AugReg recipe (…)"


@dataclass
class ImagesInfo:
    source: str  # folder, or "matplotlib sample data"
    count: int
    names: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # unreadable files, with why


@dataclass
class AttentionDistance:
    mad_px: list[list[float]]  # [layer][head], pixels
    uniform_px: float  # uniform attention over all patches of this grid
    patch_size: int
    grid: list[int]
    num_images: int
    summary: str = ""  # one-line reading, e.g. "layer 1: heads span 20–120 px; ..."


@dataclass
class PosEmbedSimilarity:
    grid: list[int]
    similarity: list[list[float]]  # [patch i][patch j] cosine similarity, row-major over the grid
    rows: list[int] = field(default_factory=list)  # patch index of each similarity row when not all (big grids)


@dataclass
class EmbedFilters:
    patch_size: int
    in_chans: int
    components: list[list[float]]  # top principal components, each in_chans·P·P (C, P, P order)
    explained_variance: list[float]


@dataclass
class EncodedImage:
    name: str
    height: int
    width: int
    rgb_hex: str  # uint8 RGB bytes, hex: plain JSON, no pickle


@dataclass
class Rollout:
    grid: list[int]
    images: list[EncodedImage] = field(default_factory=list)
    masks: list[list[float]] = field(default_factory=list)  # per image, rows×cols, [CLS] → patches
    query: str = "[CLS]"  # the token whose rollout row is shown ("mean over patches" without [CLS])
    layers: int = 0  # attention layers multiplied through
    head_fusion: str = "mean"  # how a layer's heads are fused before the product
    residual_weight: float = 0.5  # each layer is (1 - w)·A + w·I: the residual path (Abnar & Zuidema)


@dataclass
class PublishedAccuracy:
    """timm's published ImageNet-1k validation accuracy (vitnotes/data/imagenet_results.csv)."""

    checkpoint: str  # architecture.tag looked up
    found: bool = False  # False: not in timm's published tables
    img_size: Optional[int] = None  # evaluation resolution, px
    top1: Optional[float] = None  # %
    top5: Optional[float] = None  # %
    source: str = ""  # the table it came from


@dataclass
class ShapeNote:
    """A shape the recorder saw, for one line of a snippet: the output of ``self.<child>(...)`` there."""

    offset: int  # line offset in the snippet (0 = its first line)
    module: str  # recorded module path, e.g. "blocks.0.attn.qkv"
    child: str  # the attribute called on that line, e.g. "qkv"
    shape: str  # symbolic, e.g. "B×197×2304"
    whole_value: bool = False  # the call is the statement's whole value (``x = self.proj(x)``)


@dataclass
class CodeBranch:
    """One ``if``/``elif`` of a snippet and which way it went in the profiled forward."""

    offset: int  # line offset of the ``if``/``elif`` line
    test: str  # its condition, as written, e.g. "self.fused_attn"
    else_offset: Optional[int] = None  # line offset of its ``else:`` line (None: no else, or an elif)
    ran: list[str] = field(default_factory=list)  # module paths where the body ran
    skipped: list[str] = field(default_factory=list)  # evaluated there, body did not run
    attrs: list[list[str]] = field(default_factory=list)  # [name, value] of self.<name> in the test
    body_calls: list[str] = field(default_factory=list)  # functions the body calls, e.g. "F.scaled_dot_product_attention"
    else_calls: list[str] = field(default_factory=list)


@dataclass
class CodeSnippet:
    """One function of the model's own code, as inspect found it in the installed package."""

    qualname: str  # e.g. "Attention.forward"
    cls: str  # the module's class, qualified: "timm.layers.attention.Attention"
    role: str  # "stem", "block", or the block's attribute ("attn", "mlp", ...)
    module: str  # path of the instance its shapes and branches come from, e.g. "blocks.0.attn"
    instances: int  # modules of the model that ran this function
    path: str  # file relative to the package's parent folder, e.g. "timm/layers/attention.py"
    start: int  # first line in that file (1-based)
    end: int
    source: str  # inspect.getsource, verbatim
    package: str = ""  # distribution name, e.g. "timm"
    version: str = ""
    repo: str = ""  # public repository, e.g. "https://github.com/huggingface/pytorch-image-models"
    ref: str = ""  # its tag for this version, e.g. "v1.0.31" ("" = no tag known: dev or editable install)
    bases: list[str] = field(default_factory=list)  # e.g. ["nn.Module"]
    attributes: list[list[str]] = field(default_factory=list)  # plain attributes: [name, repr]
    layers: list[list[str]] = field(default_factory=list)  # child modules: [name, class, extra_repr]
    shapes: list[ShapeNote] = field(default_factory=list)
    branches: list[CodeBranch] = field(default_factory=list)


@dataclass
class CodeFacts:
    snippets: list[CodeSnippet] = field(default_factory=list)
    missing: list[list[str]] = field(default_factory=list)  # [module path, class, why no source]
    block: str = ""  # path of the block whose modules are shown, e.g. "blocks.0"


@dataclass
class DeployForm:
    """The re-parameterised (deployed) form of a model timm can fuse (RepVGG, MobileOne, FastViT…)."""

    params: int
    macs: int  # batch 1, same convention as Macs.total
    device: str = "meta"  # where the fusion ran: "meta" (structure only) or "cpu" (random-init copy)
    fused: list[str] = field(default_factory=list)  # module classes fused, e.g. ["MobileOneBlock×13"]


@dataclass
class Memory:
    """Memory at ``batch`` images of the note's resolution, from the meta-device tensors (bytes)."""

    batch: int
    params: int  # parameter count the weight bytes are for
    weights: dict[str, int] = field(default_factory=dict)  # dtype -> bytes of the parameters: fp32, bf16, int8
    buffers: int = 0  # BatchNorm running stats, relative-position indices… (fp32 bytes)
    forward_peak: int = 0  # most op outputs alive at once in a no-grad fp32 forward (input included)
    inference_peak: int = 0  # fp32 weights + buffers + forward_peak
    saved_activations: int = 0  # tensors autograd saves for backward in a training-mode fp32 forward
    training: int = 0  # fp32 weights + grads + AdamW's two moments + buffers + saved_activations


@dataclass
class TrainingCost:
    """MACs of one training step, counted on meta through a real backward pass (per image)."""

    forward_macs: int  # training-mode forward (batch norm uses batch statistics)
    backward_macs: int  # the backward ops autograd actually ran (no input gradient for the image)
    images_per_epoch: int = 1_281_167  # ImageNet-1k train split
    batch: int = 2  # batch the pass ran at; MACs are divided back to one image


@dataclass
class SpeedRun:
    batch: int
    median_ms: float  # per batch
    runs: int
    min_ms: float = 0.0
    max_ms: float = 0.0

    @property
    def images_per_s(self) -> float:
        return 1000.0 * self.batch / self.median_ms if self.median_ms else 0.0


@dataclass
class Speed:
    """Measured latency and throughput on the user's machine (opt-in: it takes time)."""

    device: str  # "cpu" or e.g. "cuda (NVIDIA H200)"
    dtype: str  # "float32", "bfloat16"
    threads: int  # torch.get_num_threads() during the runs
    warmup: int
    latency: Optional[SpeedRun] = None  # batch 1
    throughput: Optional[SpeedRun] = None  # batch N
    img_size: Optional[list[int]] = None
    torch: str = ""
    deployed: bool = False  # timed after timm.models.reparameterize_model (the form that ships)


@dataclass
class Report:
    model: str
    card: Card
    params: Params
    macs: Macs
    shapes: Shapes
    img_size: Optional[int] = None  # as requested (None = model default)
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)  # torch, timm, vitnotes
    scaling: list[ScalePoint] = field(default_factory=list)
    weights: Optional[WeightsInfo] = None
    images: Optional[ImagesInfo] = None
    attention_distance: Optional[AttentionDistance] = None
    pos_embed: Optional[PosEmbedSimilarity] = None
    filters: Optional[EmbedFilters] = None
    rollout: Optional[Rollout] = None
    schema: int = SCHEMA
    unavailable: dict[str, str] = field(default_factory=dict)  # section -> why it could not be computed
    weights_error: str = ""  # the weights could not be loaded: one line (problem — fix); structure still filled
    accuracy: Optional[PublishedAccuracy] = None  # timm's published ImageNet results for the checkpoint
    code: Optional[CodeFacts] = None  # the model's own forward() code (section `code`)
    deploy: Optional[DeployForm] = None  # models timm can re-parameterise only
    memory: Optional[Memory] = None
    training: Optional[TrainingCost] = None
    speed: Optional[Speed] = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Report":
        return _build(cls, data)

    @classmethod
    def from_json(cls, text: str) -> "Report":
        return cls.from_dict(json.loads(text))


@functools.lru_cache(maxsize=None)
def _has_dataclass(tp: Any) -> bool:
    return dataclasses.is_dataclass(tp) or any(_has_dataclass(a) for a in typing.get_args(tp))


@functools.lru_cache(maxsize=None)
def _fields_of(tp: type) -> dict[str, Any]:
    hints = typing.get_type_hints(tp)
    return {f.name: hints[f.name] for f in dataclasses.fields(tp)}


def _build(tp: Any, value: Any) -> Any:
    """Rebuild nested dataclasses from ``asdict`` output, guided by the type hints.

    Plain JSON subtrees (e.g. a 196×196 similarity matrix) are returned as parsed: walking them
    element by element would make a cached re-fill pay for every number.
    """
    if value is None or not _has_dataclass(tp):
        return value
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _build(args[0], value) if len(args) == 1 else value
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = _fields_of(tp)
        cls: Any = tp
        return cls(**{k: _build(hints[k], v) for k, v in value.items() if k in hints})
    if origin is list:
        (arg,) = typing.get_args(tp) or (Any,)
        return [_build(arg, v) for v in value]
    return value
