"""The models' part of the wiring: the sentence encoder and the intent models, on ONNX Runtime
where the encoder is prepared and on torch otherwise (docs/knowledge.md)."""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from caredesk.domain.errors import DomainError, ErrorCode
from caredesk.services.knowledge.ports import IntentTrainer
from caredesk.services.knowledge.search import Semantic
from caredesk.services.knowledge.triage import TriageEngine
from caredesk.settings import Settings

if TYPE_CHECKING:
    from caredesk.adapters.embeddings import SentenceEmbedder
    from caredesk.adapters.intent import OnnxIntents
    from caredesk.bootstrap import Container


def wire_knowledge(container: Container) -> None:
    """Sentiment always; the embedding model for semantic search and intents when it loads.

    A missing or corrupt model is reported once, clearly, and the desk runs on: lexical
    search, sentiment, risk, moments, known issues and routing need no model.
    """
    import logging

    from caredesk.adapters.sentiment import VaderSentiment

    settings = container.settings
    container.triage = TriageEngine(
        sentiment=VaderSentiment(), intent_in_worker=settings.intent_triage == "worker"
    )
    if not settings.semantic_search:
        container.semantic_error = "semantic search is turned off (CAREDESK_SEMANTIC_SEARCH)"
        container.triage.unavailable_reason = container.semantic_error
        return
    from caredesk.adapters.embeddings import EmbeddingModelUnavailable
    from caredesk.adapters.intent import EncoderIntentTrainer
    from caredesk.adapters.onnx_encoder import OnnxSentenceEmbedder, shared_encoder
    from caredesk.adapters.vector_index import InMemoryVectorIndex, load_faiss
    from caredesk.services.knowledge.triage import ClassifierCache

    try:
        embedder = shared_encoder(
            settings.embedding_model_path,
            settings.model_dir,
            settings.model_runtime,
            settings.model_threads,
        )
    except EmbeddingModelUnavailable as exc:
        container.semantic_error = str(exc)
        container.triage.unavailable_reason = str(exc)
        logging.getLogger("caredesk").error(
            "semantic search and intent triage are off; lexical search works: %s", exc
        )
        return
    faiss = None
    if settings.vector_search != "exact":
        faiss = load_faiss(settings.vector_search_threads)
    container.semantic = Semantic(
        embedder,
        InMemoryVectorIndex(embedder.dimensions, faiss=faiss, search=settings.vector_search),
        lexical_weight=settings.search_lexical_weight,
    )
    # The intent model fine-tunes the encoder's top layers, which needs torch: it is loaded
    # when a model is first trained or read, which an API process whose worker reads the
    # intents never does. Where the encoder runs on ONNX, so do the intent models, each
    # exported once (with torch) and read from its file after.
    onnx = intents_on_onnx(settings) if isinstance(embedder, OnnxSentenceEmbedder) else None
    container.triage.intents = ClassifierCache(
        EncoderIntentTrainer(partial(torch_encoder, settings), onnx=onnx)
    )


def intents_on_onnx(settings: Settings) -> OnnxIntents:
    """Where and how intent models run on ONNX Runtime, by the settings."""
    from caredesk.adapters.embeddings import packaged_model_path
    from caredesk.adapters.intent import OnnxIntents

    model_path = (settings.embedding_model_path or packaged_model_path()).resolve()
    return OnnxIntents(settings.model_dir, model_path, settings.model_threads, settings.intent_int8)


def torch_encoder(settings: Settings) -> SentenceEmbedder:
    """The sentence encoder on torch, with the process's threads: for training and intents."""
    from caredesk.adapters.embeddings import set_model_threads, shared_embedder

    set_model_threads(settings.model_threads)
    return shared_embedder(settings.embedding_model_path)


def intent_trainer(settings: Settings) -> IntentTrainer:
    """The intent trainer on the configured embedding model, for commands that train without
    a desk; `model_unavailable` when the model does not load."""
    from caredesk.adapters.embeddings import EmbeddingModelUnavailable
    from caredesk.adapters.intent import EncoderIntentTrainer
    from caredesk.adapters.onnx_encoder import onnx_file

    try:
        embedder = torch_encoder(settings)
        # As the desk runs them: on ONNX where the encoder is prepared (or ONNX is required).
        prepared = onnx_file(settings.model_dir, embedder.path).is_file()
        on_onnx = settings.model_runtime == "onnx" or (
            settings.model_runtime == "auto" and prepared
        )
        onnx = intents_on_onnx(settings) if on_onnx else None
        return EncoderIntentTrainer(embedder, onnx=onnx)
    except EmbeddingModelUnavailable as exc:
        raise DomainError(str(exc), code=ErrorCode.MODEL_UNAVAILABLE) from exc


def worker_settings(settings: Settings, model_threads: int | None = None) -> Settings:
    """The settings of a `caredesk worker` process: its models get `model_threads` (else
    CAREDESK_WORKER_MODEL_THREADS, else CAREDESK_MODEL_THREADS) threads, 0 meaning every core.

    A worker reads batches of intents and embeds texts in one call each, which uses the
    cores well; an API process answers one query at a time and keeps one."""
    threads = model_threads if model_threads is not None else settings.worker_model_threads
    if threads is None:
        return settings
    return settings.model_copy(update={"model_threads": threads or os.cpu_count() or 1})


def prepare_models(settings: Settings) -> Path:
    """Export the configured encoder to ONNX in the model folder (once; needs torch), so that
    processes encode without torch; `model_unavailable` when it cannot be done."""
    from caredesk.adapters.embeddings import EmbeddingModelUnavailable
    from caredesk.adapters.onnx_encoder import export_onnx

    try:
        return export_onnx(settings.model_dir, settings.embedding_model_path)
    except (EmbeddingModelUnavailable, OSError) as exc:
        raise DomainError(str(exc), code=ErrorCode.MODEL_UNAVAILABLE) from exc
