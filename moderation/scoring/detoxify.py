"""Detoxify models as a scorer: named releases from the local cache, or a local checkpoint with its HF config."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from moderation.scoring import LABELS, ScorerUnavailable, register

if TYPE_CHECKING:
    from moderation.config import Config
    from moderation.rules import RuleSet

NAMED = ("original", "unbiased", "multilingual")
BATCH = 32  # texts per forward pass; sorted by length first so a batch pads little
MAX_TOKENS = 512  # long texts are truncated to their first 512 tokens (the models' position limit)
HOW_TO = ("On a machine with internet: pip install 'moderation-desk[detoxify]' and run "
          "python -c \"from detoxify import Detoxify; Detoxify('{model}')\"; then copy the checkpoint file from "
          "~/.cache/torch/hub/checkpoints/ and the folder ~/.cache/huggingface/ to this machine (same paths), "
          "or set MODERATION_DETOXIFY_CHECKPOINT=<file.ckpt> and MODERATION_DETOXIFY_CONFIG=<folder with the "
          "Hugging Face config.json and tokenizer files of the checkpoint's model type>.")


def _fingerprint(path: Path) -> str:
    """sha256 of size and the first 16 MB: tells checkpoints apart without reading gigabytes."""
    digest = hashlib.sha256(str(path.stat().st_size).encode())
    with open(path, "rb") as fh:
        digest.update(fh.read(16 << 20))
    return digest.hexdigest()[:10]


class DetoxifyScorer:
    """Wraps a loaded detoxify.Detoxify; batches by length, truncates long texts, keeps the shared labels."""

    name = "detoxify"
    labels = LABELS

    def __init__(self, model: Any, version: str, batch_size: int = BATCH) -> None:
        self.model = model
        self.version = version
        self.batch_size = batch_size
        tokenizer = model.tokenizer
        # Some tokenizer configs carry no length limit; then truncation=True would not cut and the model fails.
        if not tokenizer.model_max_length or tokenizer.model_max_length > MAX_TOKENS:
            tokenizer.model_max_length = MAX_TOKENS

    def score(self, texts: Sequence[str], languages: Sequence[str | None] | None = None) -> list[dict[str, float]]:
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out: list[dict[str, float] | None] = [None] * len(texts)
        for start in range(0, len(order), self.batch_size):
            chunk = order[start:start + self.batch_size]
            result = self.model.predict([texts[i] for i in chunk])
            for pos, i in enumerate(chunk):
                out[i] = {label: round(float(_nth(values, pos)), 4) for label, values in result.items()
                          if label in LABELS}
        return out  # type: ignore[return-value]


def _nth(values: Any, pos: int) -> float:
    return values[pos] if isinstance(values, list) else values  # a batch of one comes back squeezed


def load(model: str, checkpoint: str, config_path: str, device: str, threads: int) -> DetoxifyScorer:
    """Load a Detoxify model without touching the network; ScorerUnavailable says how to provide weights."""
    try:
        import torch  # noqa: PLC0415
        from detoxify import Detoxify  # noqa: PLC0415
        from detoxify.detoxify import MODEL_URLS  # noqa: PLC0415
    except ImportError as exc:
        raise ScorerUnavailable(f"detoxify is not installed ({exc}); pip install 'moderation-desk[detoxify]'") from exc
    torch.set_num_threads(max(1, threads))
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ScorerUnavailable(f"MODERATION_DEVICE={device} but no CUDA device is available; use cpu")
    hf_config = None
    if checkpoint:
        ckpt = Path(checkpoint)
        if not ckpt.is_file():
            raise ScorerUnavailable(f"no checkpoint at {ckpt}. " + HOW_TO.format(model=model or "multilingual"))
        if config_path and not (Path(config_path) / "config.json").is_file():
            raise ScorerUnavailable(f"no config.json in {config_path}. " + HOW_TO.format(model=model))
        hf_config = config_path or None
        version = f"detoxify-{ckpt.stem}-{_fingerprint(ckpt)}"
    else:
        if model not in NAMED:
            raise ScorerUnavailable(f"unknown Detoxify model {model!r} (use one of {', '.join(NAMED)})")
        cached = Path(torch.hub.get_dir()) / "checkpoints" / MODEL_URLS[model].rsplit("/", 1)[-1]
        if not cached.is_file():
            raise ScorerUnavailable(f"Detoxify '{model}' weights not found at {cached}. " + HOW_TO.format(model=model))
        ckpt = cached
        version = f"detoxify-{model}-{cached.stem.rsplit('-', 1)[-1]}"
    # Never download during triage: transformers reads only local files from here on.
    previous = os.environ.get("HF_HUB_OFFLINE")
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        detox = _load_safely(Detoxify, ckpt, device, hf_config)
    except Exception as exc:  # noqa: BLE001 - a corrupt or hostile checkpoint raises UnpicklingError, RuntimeError, ...
        raise ScorerUnavailable(f"cannot load Detoxify from {ckpt}: {type(exc).__name__}: {exc}") from exc
    finally:
        if previous is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = previous
    return DetoxifyScorer(detox, version)


def _load_safely(detoxify_class: type, ckpt: Path, device: str, hf_config: str | None) -> Any:
    """Detoxify's own load_checkpoint, but reading the checkpoint with torch's weights-only unpickler.

    Detoxify reads checkpoints with full pickle (weights_only=False), so a crafted file could run code when
    loaded; here anything but tensors and plain data is refused before a single object is built.
    """
    import torch  # noqa: PLC0415
    from detoxify.detoxify import get_model_and_tokenizer  # noqa: PLC0415

    loaded = torch.load(ckpt, map_location=device, weights_only=True)
    if not isinstance(loaded, dict) or "config" not in loaded or "state_dict" not in loaded:
        raise ValueError("not a Detoxify checkpoint: it needs the config it was trained with and a state dict")
    names = {"toxic": "toxicity", "identity_hate": "identity_attack", "severe_toxic": "severe_toxicity"}
    detox = detoxify_class.__new__(detoxify_class)
    detox.model, detox.tokenizer = get_model_and_tokenizer(**loaded["config"]["arch"]["args"],
                                                           state_dict=loaded["state_dict"],
                                                           huggingface_config_path=hf_config)
    detox.class_names = [names.get(c, c) for c in loaded["config"]["dataset"]["args"]["classes"]]
    detox.device = device
    detox.model.to(device)
    return detox


_LOADED: dict[tuple, DetoxifyScorer] = {}  # one model per process: loading takes seconds and hundreds of MB


@register("detoxify")
def _factory(config: "Config", ruleset: "RuleSet") -> DetoxifyScorer:
    key = (config.detoxify_model, config.detoxify_checkpoint, config.detoxify_config, config.device, config.threads)
    if key not in _LOADED:
        _LOADED[key] = load(*key)
    return _LOADED[key]
