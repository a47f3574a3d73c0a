"""Trained checkpoints the way timm users get them: timm's pretrained config names the file,
huggingface_hub fetches it into the standard Hugging Face cache.

``resolve`` turns a model name (``vit_base_patch16_224`` or ``vit_base_patch16_224.augreg2_in21k_ft_in1k``)
into a :class:`Checkpoint` through ``timm.models.get_pretrained_cfg`` — the same config
``timm.create_model(..., pretrained=True)`` reads. ``fetch`` returns the file:

1. from the local HF cache when it is there (no network at all: a cached checkpoint works offline,
   and a download happens once);
2. else, unless ``HF_HUB_OFFLINE`` is set, one HEAD request (``get_hf_file_metadata``, bounded by
   ``HF_HUB_ETAG_TIMEOUT``, no retries) says which file, revision and size — announced before the
   transfer — then ``hf_hub_download`` fetches it (resuming within the call after a dropped connection,
   each read bounded by ``HF_HUB_DOWNLOAD_TIMEOUT``), with huggingface_hub's tqdm bar drawn into the
   pipeline's progress lines.

The HEAD is done here, not left to ``hf_hub_download``, because on a timeout with nothing cached
huggingface_hub retries with a 60 s timeout and backoff (``_ETAG_RETRY_TIMEOUT``): minutes before a
user without network learns anything. Every failure becomes one WeightsError line naming the fix.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vitnotes.errors import ModelError, WeightsError

Progress = Callable[[str], None] | None

FIX = "name a local checkpoint in `weights:`, or run once with network so it is cached"


@dataclass(frozen=True)
class Checkpoint:
    """One of timm's pretrained checkpoints: where the Hugging Face hub keeps it."""

    name: str  # architecture.tag
    architecture: str
    tag: str
    hub_id: str  # as timm writes it (may end in @revision)
    repo: str
    revision: str  # branch/tag/commit asked for ("main" unless the hub id pins one)
    filenames: tuple[str, ...]  # candidates, safetensors first (as timm's load_state_dict_from_hf)


@dataclass(frozen=True)
class Fetched:
    path: Path
    checkpoint: Checkpoint
    filename: str
    commit: str  # the revision's commit sha
    size: int
    downloaded: bool  # False: found in the local cache


def split_name(name: str) -> tuple[str, str]:
    arch, _, tag = name.partition(".")
    return arch, tag


def checkpoint_name(model: str) -> str:
    """``arch.tag`` of the checkpoint timm loads for ``model`` (its default tag when none is named)."""
    from timm.models import get_pretrained_cfg

    arch, tag = split_name(model)
    if tag:
        return model
    cfg = get_pretrained_cfg(arch)
    return f"{arch}.{cfg.tag}" if cfg is not None and cfg.tag else arch


def pretrained_tags(arch: str) -> list[str]:
    import timm

    return [n.partition(".")[2] for n in timm.list_pretrained(arch, exclude_filters=()) if n.partition(".")[0] == arch]


def has_pretrained(model: str) -> bool:
    """True when timm lists at least one checkpoint for ``model``'s architecture."""
    import timm

    arch, tag = split_name(model)
    if not timm.is_model(arch):
        return False
    tags = pretrained_tags(arch)
    return bool(tags) and (not tag or tag in tags)


def check_tag(model: str) -> None:
    """ModelError when ``model`` names a tag timm does not list for its architecture."""
    arch, tag = split_name(model)
    if not tag:
        return
    tags = pretrained_tags(arch)
    if tag not in tags:
        some = ", ".join(tags[:6]) + (f", … {len(tags) - 6} more" if len(tags) > 6 else "")
        raise ModelError(f"timm has no pretrained tag {tag!r} for {arch}",
                         f"choose one of: {some}" if tags else f"timm lists no trained weights for {arch}")


def resolve(model: str) -> Checkpoint:
    """The Hugging Face location of ``model``'s checkpoint, from timm's pretrained config."""
    from timm.models import get_pretrained_cfg
    from timm.models._hub import HF_WEIGHTS_NAME, _get_safe_alternatives, hf_split

    check_tag(model)
    name = checkpoint_name(model)
    arch, tag = split_name(name)
    cfg = get_pretrained_cfg(name)
    if cfg is None or not tag:
        raise WeightsError(f"timm lists no trained weights for {arch}",
                           hint="drop `pretrained`, or name a local checkpoint in `weights:`")
    if not cfg.hf_hub_id:
        where = cfg.url or cfg.file or "no download location"
        raise WeightsError(
            f"timm offers {name} only from {where}, not from the Hugging Face hub, so vitnotes does not fetch it",
            hint="download that file yourself and name it in `weights:`",
        )
    repo, revision = hf_split(cfg.hf_hub_id)
    filename = cfg.hf_hub_filename or HF_WEIGHTS_NAME
    return Checkpoint(name=name, architecture=arch, tag=tag, hub_id=cfg.hf_hub_id, repo=repo,
                      revision=revision or "main",
                      filenames=tuple(dict.fromkeys([*_get_safe_alternatives(filename), filename])))


def fetch(ck: Checkpoint, progress: Progress = None) -> Fetched:
    """The checkpoint file on disk: the HF cache when it has it, else one announced download."""
    from huggingface_hub import constants

    found = cached(ck)
    if found is not None:
        return found
    if constants.is_offline_mode():
        raise WeightsError(f"{ck.repo} is not in the Hugging Face cache ({constants.HF_HUB_CACHE}) and "
                           "HF_HUB_OFFLINE is set", hint=FIX)
    filename, meta = _remote_file(ck)
    size = int(meta.size or 0)
    if progress:
        progress(f"downloading {ck.repo}/{filename} ({human_bytes(size)}, revision {meta.commit_hash[:12]}) "
                 f"into {constants.HF_HUB_CACHE}")
    path = _download(ck, filename, progress)
    return Fetched(path=path, checkpoint=ck, filename=filename, commit=_commit_of(path, meta.commit_hash),
                   size=os.path.getsize(path), downloaded=True)


def cached(ck: Checkpoint) -> Fetched | None:
    """The checkpoint from the local HF cache (refs → snapshot), never touching the network."""
    from huggingface_hub import try_to_load_from_cache

    for filename in ck.filenames:
        found = try_to_load_from_cache(ck.repo, filename, revision=ck.revision)
        if isinstance(found, str) and os.path.isfile(found):
            path = Path(found)
            return Fetched(path=path, checkpoint=ck, filename=filename, commit=_commit_of(path, ""),
                           size=os.path.getsize(path), downloaded=False)
    return None


def _commit_of(path: Path, default: str) -> str:
    """The snapshot folder name: ``…/snapshots/<commit sha>/<file>``."""
    parts = path.parts
    if "snapshots" in parts:
        i = len(parts) - 1 - parts[::-1].index("snapshots")
        if i + 1 < len(parts):
            return parts[i + 1]
    return default


def _remote_file(ck: Checkpoint):
    """(filename, HfFileMetadata) of the first candidate the hub has; one bounded HEAD each."""
    from huggingface_hub import constants, get_hf_file_metadata, hf_hub_url
    from huggingface_hub.errors import EntryNotFoundError

    last: Exception | None = None
    for filename in ck.filenames:
        url = hf_hub_url(ck.repo, filename, revision=ck.revision)
        try:
            meta = get_hf_file_metadata(url, timeout=constants.HF_HUB_ETAG_TIMEOUT)
        except EntryNotFoundError as exc:
            last = exc
            continue
        except Exception as exc:  # noqa: BLE001 — network and HTTP errors, each explained below
            raise network_error(ck, filename, exc) from None
        if not meta.commit_hash or not meta.etag:
            raise WeightsError(f"{constants.ENDPOINT} answered for {ck.repo}/{filename} without the hub's "
                               "X-Repo-Commit/ETag headers: not a Hugging Face hub endpoint", hint=FIX)
        return filename, meta
    raise network_error(ck, ck.filenames[-1], last or FileNotFoundError(ck.repo))


def _download(ck: Checkpoint, filename: str, progress: Progress) -> Path:
    from huggingface_hub import hf_hub_download

    try:
        return Path(hf_hub_download(ck.repo, filename, revision=ck.revision,
                                    tqdm_class=progress_bar_class(progress, filename) if progress else None))
    except Exception as exc:  # noqa: BLE001 — network, HTTP, disk: one line each
        raise network_error(ck, filename, exc) from None


def _names(exc: BaseException) -> set[str]:
    """Class names in ``exc``'s MRO and its cause chain: httpx, httpx2 and requests name them alike."""
    names: set[str] = set()
    seen = 0
    while exc is not None and seen < 5:
        names |= {c.__name__ for c in type(exc).__mro__}
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return names


def network_error(ck: Checkpoint, filename: str, exc: BaseException) -> WeightsError:
    """One line for what went wrong talking to the hub, naming the endpoint and the fix."""
    from huggingface_hub import constants

    where = f"{ck.repo}/{filename}"
    host = constants.ENDPOINT
    names = _names(exc)
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if "GatedRepoError" in names:
        return WeightsError(f"{where} on {host} is gated: it needs an accepted licence and a login",
                            hint="accept it on the model page and run `hf auth login`, or " + FIX)
    if "TimeoutException" in names or "Timeout" in names or "ReadTimeout" in names:
        limit = max(constants.HF_HUB_ETAG_TIMEOUT, constants.HF_HUB_DOWNLOAD_TIMEOUT)
        return WeightsError(f"{host} did not answer within {limit} s while fetching {where}",
                            hint=FIX + " (HF_HUB_ETAG_TIMEOUT / HF_HUB_DOWNLOAD_TIMEOUT set the limits)")
    if {"ConnectError", "ConnectionError", "NetworkError"} & names and status is None:
        return WeightsError(f"cannot reach {host} to download {where} ({_reason(exc)})", hint=FIX)
    if status is not None or "EntryNotFoundError" in names or "RepositoryNotFoundError" in names:
        code = f"HTTP {status}" if status else "not found"
        return WeightsError(f"{host} has no {where} ({code})",
                            hint="check the model name and tag, or " + FIX)
    return WeightsError(f"downloading {where} from {host} failed: {_reason(exc)}", hint=FIX)


def _reason(exc: BaseException) -> str:
    from vitnotes.errors import first_line

    return first_line(exc)[:160]


def human_bytes(n: int) -> str:
    if n <= 0:
        return "size unknown"
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def progress_bar_class(progress: Callable[[str], None], name: str = ""):
    """huggingface_hub's tqdm, drawn into ``progress`` lines instead of a terminal: at most one line a
    second plus the last one, so the CLI's status line animates and the daemon log stays short."""
    from huggingface_hub.utils import tqdm as hf_tqdm

    class LineBar(hf_tqdm):
        def __init__(self, *args, **kwargs):
            kwargs.setdefault("mininterval", 1.0)
            if name:  # huggingface_hub labels the bar with the URL's last 40 characters
                kwargs["desc"] = name
            kwargs["file"] = io.StringIO()  # nothing is written there: display() below draws the line
            if kwargs.get("disable") is None:  # huggingface_hub's "only on a TTY": these lines are the TTY's
                kwargs["disable"] = False  # HF_HUB_DISABLE_PROGRESS_BARS still turns them off (hf_tqdm)
            super().__init__(*args, **kwargs)

        def display(self, msg=None, pos=None):  # tqdm calls this on every refresh
            progress(self.format_meter(**{**self.format_dict, "ncols": 72, "ascii": False}))
            return True

    return LineBar
