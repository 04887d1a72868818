"""The intent classifier: the sentence encoder's top layers fine-tuned with a softmax head.

Chosen by measurement (docs/benchmarks.md): on Banking77, a head on frozen embeddings is
good, fine-tuning the top of the encoder is better, for both ten labels per intent and the
full set. Only the top layers train, on cached outputs of the frozen lower layers, which
keeps training within minutes on two CPU cores and the stored model small (the lower layers
are the packaged model's own).
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from caredesk.adapters.embeddings import MODEL_NAME, SentenceEmbedder, mean_pool
from caredesk.services.knowledge.ports import IntentClassifier, TrainedModel

log = logging.getLogger("caredesk.triage")

FORMAT = 1
METHOD_FINETUNE = "finetune-top-layers"
METHOD_HEAD = "frozen-head"
MAX_TOKENS = 64
BATCH = 32
# Bumped when the exported intent graph changes, so that older files are not read.
ONNX_FORMAT = 1
# An exported model must give the torch model's probabilities to this much.
ONNX_TOLERANCE = 1e-4
_CHECK_TEXTS = (
    "I still have not received my new card",
    "why was I charged a fee for my card payment?",
    "",
)


class IntentModelInvalid(ValueError):
    """A stored intent model that this code cannot read."""


@dataclass(frozen=True, slots=True)
class TrainingPlan:
    method: str = METHOD_FINETUNE
    top_layers: int = 3
    target_steps: int = 1000
    min_epochs: int = 3
    max_epochs: int = 30
    layer_lr: float = 1e-4
    head_lr: float = 1e-3
    label_smoothing: float = 0.1


class _Encoder:
    """Runs the encoder in two halves so the frozen lower half can be computed once."""

    def __init__(self, embedder: SentenceEmbedder, model: Any, split: int) -> None:
        self.tokenizer = embedder.tokenizer
        self.model = model
        self.split = split

    def tokens(self, texts: Sequence[str]) -> Any:
        return self.tokenizer(
            [t or " " for t in texts],
            padding=True,
            truncation=True,
            max_length=MAX_TOKENS,
            return_tensors="pt",
        )

    def _mask(self, hidden: Any, attention: Any) -> Any:
        # The public mask builder every encoder model uses: it returns the form the model's
        # attention implementation (eager or SDPA) expects, or None when nothing is padded.
        from transformers.masking_utils import create_bidirectional_mask

        return create_bidirectional_mask(
            config=self.model.config, inputs_embeds=hidden, attention_mask=attention
        )

    def _layers(self, hidden: Any, attention: Any, start: int, stop: int) -> Any:
        mask = self._mask(hidden, attention)
        for layer in self.model.encoder.layer[start:stop]:
            hidden = layer(hidden, attention_mask=mask)
            hidden = hidden[0] if isinstance(hidden, tuple) else hidden
        return hidden

    def lower(self, texts: Sequence[str]) -> tuple[Any, Any]:
        import torch

        batch = self.tokens(texts)
        with torch.inference_mode():
            hidden = self.model.embeddings(
                input_ids=batch["input_ids"], token_type_ids=batch.get("token_type_ids")
            )
            hidden = self._layers(hidden, batch["attention_mask"], 0, self.split)
        return hidden.clone(), batch["attention_mask"].clone()

    def upper(self, hidden: Any, attention: Any) -> Any:
        hidden = self._layers(hidden, attention, self.split, len(self.model.encoder.layer))
        return mean_pool(hidden, attention)


def _order(texts: Sequence[str]) -> Any:
    return np.argsort([len(t) for t in texts], kind="stable")


class FineTunedIntentClassifier:
    def __init__(self, encoder: _Encoder, head: Any, labels: list[str]) -> None:
        self._encoder = encoder
        self._head = head
        self._labels = labels
        self._lock = threading.Lock()

    @property
    def labels(self) -> list[str]:
        return list(self._labels)

    def predict(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        import torch

        if not texts:
            return []
        out: list[tuple[str, float]] = [("", 0.0)] * len(texts)
        order = _order(texts)
        with self._lock, torch.inference_mode():
            for start in range(0, len(texts), 64):
                index = order[start : start + 64]
                hidden, attention = self._encoder.lower([texts[i] for i in index])
                probabilities = torch.softmax(
                    self._head(self._encoder.upper(hidden, attention)), dim=-1
                )
                best, which = probabilities.max(dim=-1)
                for i, p, k in zip(index, best.tolist(), which.tolist(), strict=True):
                    out[int(i)] = (self._labels[k], round(float(p), 4))
        return out

    def export_onnx(self, file: Path, *, int8: bool = False) -> None:
        """Write this classifier (encoder, pooling, head and softmax) to `file` as ONNX, with
        its labels in the file's metadata; `int8` quantises its weights. Needs torch."""
        import onnx
        import torch

        from caredesk.adapters.onnx_encoder import export_graph

        class Probabilities(torch.nn.Module):
            def __init__(self, head: Any) -> None:
                super().__init__()
                self.head = head

            def forward(self, hidden: Any, attention_mask: Any) -> Any:
                return torch.softmax(self.head(mean_pool(hidden, attention_mask)), dim=-1)

        export_graph(
            self._encoder.model,
            Probabilities(self._head),
            self._encoder.tokenizer,
            file,
            "probabilities",
        )
        if int8:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            exact = file.with_name(file.name + ".float")
            file.replace(exact)
            try:
                quantize_dynamic(exact, file, weight_type=QuantType.QInt8)
            finally:
                exact.unlink(missing_ok=True)
        model = onnx.load(str(file))
        entry = model.metadata_props.add()
        entry.key, entry.value = "labels", json.dumps(self._labels)
        onnx.save(model, str(file))

    def probabilities(self, texts: Sequence[str]) -> Any:
        """Every label's probability for each text, in the order of `texts`."""
        import torch

        with self._lock, torch.inference_mode():
            hidden, attention = self._encoder.lower(texts)
            return torch.softmax(self._head(self._encoder.upper(hidden, attention)), -1).numpy()


class OnnxIntentClassifier:
    """An intent classifier exported to ONNX, run by ONNX Runtime: no torch needed."""

    def __init__(self, file: Path, model_path: Path, threads: int = 1) -> None:
        from caredesk.adapters.onnx_encoder import load_tokenizer, open_session

        self.file = file
        self._session = open_session(file, threads)
        self._labels = [str(x) for x in json.loads(_metadata(self._session)["labels"])]
        self._tokenizer = load_tokenizer(model_path, MAX_TOKENS)
        self._lock = threading.Lock()

    @property
    def labels(self) -> list[str]:
        return list(self._labels)

    def probabilities(self, texts: Sequence[str]) -> Any:
        from caredesk.adapters.onnx_encoder import token_feed

        with self._lock:
            return self._session.run(None, token_feed(self._tokenizer, texts))[0]

    def predict(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        if not texts:
            return []
        out: list[tuple[str, float]] = [("", 0.0)] * len(texts)
        order = _order(texts)
        for start in range(0, len(texts), 64):
            index = order[start : start + 64]
            probabilities = self.probabilities([texts[i] for i in index])
            for i, row in zip(index, probabilities, strict=True):
                k = int(row.argmax())
                out[int(i)] = (self._labels[k], round(float(row[k]), 4))
        return out


def _metadata(session: Any) -> dict[str, str]:
    return dict(session.get_modelmeta().custom_metadata_map)


@dataclass(frozen=True, slots=True)
class OnnxIntents:
    """Where intent models are exported to ONNX (once per model), and how they run."""

    model_dir: Path
    # The base encoder's files: their digest keys the export, and the tokenizer is theirs.
    model_path: Path
    threads: int = 1
    int8: bool = False

    def file_for(self, artifact: bytes) -> Path:
        from caredesk.adapters.onnx_encoder import model_digest

        digest = hashlib.sha256(model_digest(self.model_path).encode() + artifact).hexdigest()
        kind = "int8" if self.int8 else "float"
        return self.model_dir / f"intent-{digest[:16]}-{kind}-v{ONNX_FORMAT}.onnx"


class EncoderIntentTrainer:
    """Trains and loads intent classifiers on top of the shared sentence encoder.

    Given a function for the encoder, it loads torch and the encoder on first use: a
    process that never trains nor predicts (an API process whose worker reads the intents)
    never pays for them."""

    def __init__(
        self,
        embedder: SentenceEmbedder | Callable[[], SentenceEmbedder],
        plan: TrainingPlan | None = None,
        *,
        onnx: OnnxIntents | None = None,
    ) -> None:
        self._embedder = embedder
        self._embedder_lock = threading.Lock()
        self.plan = plan or TrainingPlan()
        self.onnx = onnx

    @property
    def embedder(self) -> SentenceEmbedder:
        with self._embedder_lock:
            if not isinstance(self._embedder, SentenceEmbedder):
                self._embedder = self._embedder()
            return self._embedder

    def _split(self, top_layers: int) -> int:
        layers = len(self.embedder.model.encoder.layer)
        return max(0, layers - max(0, top_layers))

    def train(self, texts: Sequence[str], labels: Sequence[str], seed: int) -> TrainedModel:
        import torch

        if len(texts) != len(labels) or not texts:
            raise ValueError("training needs as many labels as texts, and at least one")
        plan = self.plan
        started = time.perf_counter()
        torch.manual_seed(seed)
        names = sorted(set(labels))
        target = torch.tensor([names.index(label) for label in labels])
        top = plan.top_layers if plan.method == METHOD_FINETUNE else 0
        model = copy.deepcopy(self.embedder.model)
        encoder = _Encoder(self.embedder, model, self._split(top))
        for parameter in model.parameters():
            parameter.requires_grad_(False)
        batches = _lower_batches(encoder, texts)
        head = _centroid_head(encoder, batches, target, len(names))
        trainable = [
            p for layer in model.encoder.layer[encoder.split :] for p in layer.parameters()
        ]
        for parameter in trainable:
            parameter.requires_grad_(True)
        epochs = max(
            plan.min_epochs, min(plan.max_epochs, math.ceil(plan.target_steps / len(batches)))
        )
        if not trainable:
            epochs = max(epochs, 30)
        _fit(encoder, head, batches, target, trainable, plan, epochs=epochs, seed=seed)
        model.eval()
        method = plan.method if trainable else METHOD_HEAD
        return TrainedModel(
            method=method,
            labels=names,
            artifact=_artifact(encoder, head, names, method),
            metrics={
                "epochs": epochs,
                "train_seconds": round(time.perf_counter() - started, 2),
                "top_layers": len(model.encoder.layer) - encoder.split,
            },
        )

    def load(self, artifact: bytes) -> IntentClassifier:
        """The classifier in `artifact`: on ONNX Runtime when `onnx` says where, exported on
        first load (which needs torch) and read from its file after (which does not)."""
        if self.onnx is None:
            return self.load_torch(artifact)
        file = self.onnx.file_for(artifact)
        if not file.is_file():
            classifier = self.load_torch(artifact)
            try:
                _export_checked(classifier, file, self.onnx)
            except Exception:
                # The model still works on torch; only its speed-up is lost.
                log.exception("exporting the intent model to %s failed; it runs on torch", file)
                return classifier
        try:
            return OnnxIntentClassifier(file, self.onnx.model_path, self.onnx.threads)
        except Exception as exc:
            raise IntentModelInvalid(f"the intent model file {file} cannot be read: {exc}") from exc

    def load_torch(self, artifact: bytes) -> FineTunedIntentClassifier:
        import torch

        try:
            state = torch.load(io.BytesIO(artifact), weights_only=True)
            if not isinstance(state, dict) or state.get("format") != FORMAT:
                raise IntentModelInvalid("unknown intent model format")
            model = copy.deepcopy(self.embedder.model)
            split = int(state["split"])
            for key, value in state["layers"].items():
                index, _, name = key.partition(".")
                layer_state = model.encoder.layer[int(index)].state_dict()
                layer_state[name].copy_(value.to(layer_state[name].dtype))
            labels = [str(label) for label in state["labels"]]
            head = torch.nn.Linear(model.config.hidden_size, len(labels))
            head.load_state_dict({"weight": state["head.weight"], "bias": state["head.bias"]})
        except IntentModelInvalid:
            raise
        except Exception as exc:
            raise IntentModelInvalid(f"the stored intent model cannot be read: {exc}") from exc
        model.eval()
        head.eval()
        return FineTunedIntentClassifier(_Encoder(self.embedder, model, split), head, labels)


def _export_checked(classifier: FineTunedIntentClassifier, file: Path, onnx: OnnxIntents) -> None:
    from caredesk.adapters.onnx_encoder import write_atomically

    def write(scratch: Path) -> None:
        classifier.export_onnx(scratch, int8=onnx.int8)
        if onnx.int8:
            return  # quantised weights round: its accuracy is measured, not matched
        exported = OnnxIntentClassifier(scratch, onnx.model_path)
        texts = list(_CHECK_TEXTS)
        gap = float(np.abs(exported.probabilities(texts) - classifier.probabilities(texts)).max())
        if gap > ONNX_TOLERANCE:
            raise IntentModelInvalid(f"the ONNX export disagrees with the model by {gap:.2e}")

    write_atomically(file, write)
    _prune(file.parent)


# Intent model files kept in the model folder: the one in force and the few before it, which
# processes not yet at the new version may still read.
KEEP_INTENT_FILES = 3


def _prune(folder: Path) -> None:
    """Remove all but the newest intent model files: each retrain writes one."""
    files = sorted(folder.glob("intent-*.onnx"), key=lambda f: f.stat().st_mtime, reverse=True)
    for old in files[KEEP_INTENT_FILES:]:
        old.unlink(missing_ok=True)


# A batch of the training set: the texts' indices, the lower layers' output, the attention mask.
_Batch = tuple[Any, Any, Any]


def _lower_batches(encoder: _Encoder, texts: Sequence[str]) -> list[_Batch]:
    """The frozen lower layers run once over the texts, in batches of similar lengths."""
    order = _order(texts)
    batches = []
    for start in range(0, len(texts), BATCH):
        index = order[start : start + BATCH]
        batches.append((index, *encoder.lower([texts[i] for i in index])))
    return batches


def _centroid_head(encoder: _Encoder, batches: list[_Batch], target: Any, classes: int) -> Any:
    """A softmax head that starts from the class centroids: a sensible classifier before the
    first step."""
    import torch

    hidden_size = encoder.model.config.hidden_size
    head = torch.nn.Linear(hidden_size, classes)
    with torch.inference_mode():
        pooled = torch.cat([encoder.upper(h, a) for _, h, a in batches])
        owners = torch.tensor(np.concatenate([b[0] for b in batches]))
        centroids = torch.zeros(classes, hidden_size)
        centroids.index_add_(0, target[owners], pooled)
    with torch.no_grad():
        head.weight.copy_(torch.nn.functional.normalize(centroids, dim=-1) * 20)
        head.bias.zero_()
    return head


def _fit(
    encoder: _Encoder,
    head: Any,
    batches: list[_Batch],
    target: Any,
    trainable: list[Any],
    plan: TrainingPlan,
    *,
    epochs: int,
    seed: int,
) -> None:
    """Train the head and the top layers, with a warm-up and a linear decay of the rates."""
    import torch

    groups: list[dict[str, Any]] = [{"params": head.parameters(), "lr": plan.head_lr}]
    if trainable:
        groups.append({"params": trainable, "lr": plan.layer_lr})
    optimizer = torch.optim.AdamW(groups, weight_decay=0.01)
    steps = epochs * len(batches)
    warmup = max(1, int(0.06 * steps))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, (steps - s) / steps)
    )
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        for layer in encoder.model.encoder.layer[encoder.split :]:
            layer.train()
        for k in rng.permutation(len(batches)):
            index, hidden, attention = batches[k]
            logits = head(encoder.upper(hidden, attention))
            loss = torch.nn.functional.cross_entropy(
                logits, target[index], label_smoothing=plan.label_smoothing
            )
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
            scheduler.step()


def _artifact(encoder: _Encoder, head: Any, labels: list[str], method: str) -> bytes:
    """The stored model: only the trained top layers (half precision) and the head."""
    import torch

    layers = encoder.model.encoder.layer
    state = {
        "format": FORMAT,
        "base": MODEL_NAME,
        "method": method,
        "labels": labels,
        "split": encoder.split,
        "layers": {
            f"{i}.{name}": value.detach().to(torch.float16)
            for i in range(encoder.split, len(layers))
            for name, value in layers[i].state_dict().items()
        },
        "head.weight": head.weight.detach().clone(),
        "head.bias": head.bias.detach().clone(),
    }
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()
