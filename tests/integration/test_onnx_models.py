"""The encoder and the intent models exported to ONNX: the same vectors and intents as torch,
a file per model written once, and processes that read it without importing torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from caredesk.adapters.embeddings import MODEL_NAME, packaged_model_path, shared_embedder
from caredesk.adapters.intent import (
    METHOD_FINETUNE,
    EncoderIntentTrainer,
    OnnxIntentClassifier,
    OnnxIntents,
    TrainingPlan,
)
from caredesk.adapters.onnx_encoder import (
    OnnxSentenceEmbedder,
    export_onnx,
    model_digest,
    onnx_file,
)
from caredesk.bootstrap import bootstrap
from caredesk.bootstrap.models import intent_trainer, worker_settings
from caredesk.cli.main import app
from caredesk.settings import Settings

pytestmark = pytest.mark.semantic

TEXTS = [
    "",
    "refund",
    "My card was charged twice for the same order and I want my money back.",
    "Où est mon colis ? Il devait arriver hier.",
    "The label printer stopped printing after the firmware upgrade " * 30,  # past 256 tokens
    "I'm locked out of my account",
]
EXAMPLES = [
    ("Where is my parcel? It has not arrived yet", "where_is_my_order"),
    ("My order still hasn't been delivered", "where_is_my_order"),
    ("When will my delivery arrive?", "where_is_my_order"),
    ("I want my money back for this", "refund"),
    ("Please refund my payment", "refund"),
    ("Can I get a refund for the broken kettle?", "refund"),
    ("I forgot my password and cannot log in", "account_access"),
    ("The sign-in page says my password is wrong", "account_access"),
    ("How do I reset my login?", "account_access"),
]
# The top layer fine-tuned, so that the export carries trained layers, not only a head.
ONE_LAYER = TrainingPlan(method=METHOD_FINETUNE, top_layers=1, target_steps=6, max_epochs=2)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model folder with the encoder exported once for this module."""
    folder = tmp_path_factory.mktemp("prepared")
    export_onnx(folder)
    return folder


def test_the_export_gives_the_torch_encoders_vectors(prepared: Path) -> None:
    onnx = OnnxSentenceEmbedder(onnx_file(prepared))
    exact = shared_embedder().embed(TEXTS)
    exported = onnx.embed(TEXTS)
    assert exported.shape == exact.shape == (len(TEXTS), 384)
    assert (exported * exact).sum(axis=1).min() >= 0.9999
    assert np.allclose(np.linalg.norm(exported, axis=1), 1.0, atol=1e-5)
    # Batches sorted by length give each text the vector it gets alone.
    assert (onnx.embed([TEXTS[2]]) * exported[2]).sum() >= 0.9999


def test_the_file_is_named_by_model_and_digest_and_written_once(prepared: Path) -> None:
    file = onnx_file(prepared)
    assert file.name == f"{MODEL_NAME}-{model_digest(packaged_model_path())}-v1.onnx"
    written = file.stat().st_mtime_ns
    assert export_onnx(prepared) == file
    assert file.stat().st_mtime_ns == written
    # Nothing half-written is left beside it.
    assert [p.name for p in prepared.iterdir()] == [file.name]


def test_a_changed_model_is_another_file(tmp_path: Path) -> None:
    copy = tmp_path / "model"
    copy.mkdir()
    source = packaged_model_path()
    for name in ("config.json", "tokenizer.json", "model.safetensors"):
        (copy / name).write_bytes((source / name).read_bytes())
    assert model_digest(copy) == model_digest(source)
    config = json.loads((copy / "config.json").read_text())
    (copy / "config.json").write_text(json.dumps({**config, "note": "retrained"}))
    assert model_digest(copy) != model_digest(source)


def test_a_process_with_the_file_builds_the_app_without_torch(
    prepared: Path, tmp_path: Path
) -> None:
    script = (
        "import sys\n"
        "from caredesk.settings import Settings\n"
        "from caredesk.web.app import create_app\n"
        "app = create_app(Settings())\n"
        "container = app.state.container\n"
        "vector = container.semantic.embedder.embed(['where is my parcel?'])\n"
        "print(type(container.semantic.embedder).__name__, vector.shape[1])\n"
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))\n"
    )
    env = {
        **os.environ,
        "CAREDESK_DATABASE_URL": f"sqlite:///{tmp_path}/desk.db",
        "CAREDESK_MODEL_DIR": str(prepared),
        "CAREDESK_EMBED_IN_BACKGROUND": "false",
        "CAREDESK_EMBEDDED_WORKER": "false",
        "CAREDESK_LOG_LEVEL": "error",
        "HF_HUB_OFFLINE": "1",
    }
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-2:] == ["OnnxSentenceEmbedder 384", "[]"]


def test_onnx_required_without_the_file_says_how_to_prepare_it(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/desk.db",
        model_dir=tmp_path / "empty",
        model_runtime="onnx",
        embedded_worker=False,
        embed_in_background=False,
    )
    container = bootstrap(settings)
    try:
        assert container.semantic is None
        assert container.semantic_error is not None
        assert "caredesk models prepare" in container.semantic_error
    finally:
        container.close()


def test_an_intent_model_runs_on_onnx_with_the_torch_models_intents(tmp_path: Path) -> None:
    trainer = EncoderIntentTrainer(shared_embedder(), ONE_LAYER)
    trained = trainer.train([t for t, _ in EXAMPLES], [label for _, label in EXAMPLES], seed=0)
    assert trained.metrics["top_layers"] == 1
    exact = trainer.load(trained.artifact)
    options = OnnxIntents(tmp_path, packaged_model_path().resolve())
    onnx_trainer = EncoderIntentTrainer(shared_embedder(), ONE_LAYER, onnx=options)

    exported = onnx_trainer.load(trained.artifact)

    assert isinstance(exported, OnnxIntentClassifier)
    assert exported.labels == exact.labels == ["account_access", "refund", "where_is_my_order"]
    sample = [*TEXTS, *(t for t, _ in EXAMPLES)]
    predicted, expected = exported.predict(sample), exact.predict(sample)
    assert [label for label, _ in predicted] == [label for label, _ in expected]
    assert np.allclose([p for _, p in predicted], [p for _, p in expected], atol=2e-4)
    # Read from its file the next time: the export is not done again.
    file = options.file_for(trained.artifact)
    written = file.stat().st_mtime_ns
    again = onnx_trainer.load(trained.artifact)
    assert isinstance(again, OnnxIntentClassifier)
    assert file.stat().st_mtime_ns == written
    assert again.predict(sample) == predicted


def test_models_prepare_writes_the_file_once(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"CAREDESK_MODEL_DIR": str(tmp_path)}
    first = runner.invoke(app, ["models", "prepare"], env=env)
    assert first.exit_code == 0, first.output
    file = onnx_file(tmp_path)
    assert file.is_file()
    assert "ready" in first.output
    written = file.stat().st_mtime_ns
    second = runner.invoke(app, ["models", "prepare"], env=env)
    assert second.exit_code == 0, second.output
    assert file.stat().st_mtime_ns == written


def test_models_prepare_without_a_model_says_so(tmp_path: Path) -> None:
    env = {"CAREDESK_MODEL_DIR": str(tmp_path), "CAREDESK_EMBEDDING_MODEL_PATH": str(tmp_path)}
    result = CliRunner().invoke(app, ["models", "prepare"], env=env)
    assert result.exit_code == 1
    assert "model_unavailable" in result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("configured", "asked", "threads"),
    [(None, None, 1), (None, 2, 2), (2, None, 2), (2, 1, 1), (0, None, os.cpu_count() or 1)],
)
def test_a_worker_gives_its_models_the_threads_asked_for(
    configured: int | None, asked: int | None, threads: int
) -> None:
    settings = Settings(model_threads=1, worker_model_threads=configured)
    assert worker_settings(settings, asked).model_threads == threads
    assert settings.model_threads == 1


def test_commands_train_intents_for_onnx_where_the_encoder_is_prepared(
    prepared: Path, tmp_path: Path
) -> None:
    on_onnx = intent_trainer(Settings(model_dir=prepared))
    assert isinstance(on_onnx, EncoderIntentTrainer)
    assert on_onnx.onnx is not None and on_onnx.onnx.model_dir == prepared
    assert not on_onnx.onnx.int8
    int8 = intent_trainer(Settings(model_dir=prepared, intent_int8=True))
    assert isinstance(int8, EncoderIntentTrainer) and int8.onnx is not None and int8.onnx.int8
    on_torch = intent_trainer(Settings(model_dir=prepared, model_runtime="torch"))
    unprepared = intent_trainer(Settings(model_dir=tmp_path))
    assert isinstance(on_torch, EncoderIntentTrainer) and on_torch.onnx is None
    assert isinstance(unprepared, EncoderIntentTrainer) and unprepared.onnx is None


def test_only_the_newest_intent_files_are_kept(tmp_path: Path) -> None:
    trainer = EncoderIntentTrainer(shared_embedder(), ONE_LAYER)
    trained = trainer.train([t for t, _ in EXAMPLES], [label for _, label in EXAMPLES], seed=0)
    older = [tmp_path / f"intent-{n:016x}-float-v1.onnx" for n in range(4)]
    for age, file in enumerate(older):
        file.write_bytes(b"an older model")
        os.utime(file, (1_000_000 + age, 1_000_000 + age))
    options = OnnxIntents(tmp_path, packaged_model_path().resolve())

    EncoderIntentTrainer(shared_embedder(), ONE_LAYER, onnx=options).load(trained.artifact)

    kept = sorted(p.name for p in tmp_path.iterdir())
    assert kept == sorted([options.file_for(trained.artifact).name, older[3].name, older[2].name])


def test_a_desk_with_the_file_runs_search_and_intents_on_onnx(
    prepared: Path, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/desk.db",
        model_dir=prepared,
        embedded_worker=False,
        embed_in_background=False,
    )
    container = bootstrap(settings)
    try:
        assert container.semantic is not None
        assert isinstance(container.semantic.embedder, OnnxSentenceEmbedder)
        assert container.triage is not None and container.triage.intents is not None
        trainer = container.triage.intents.trainer
        assert isinstance(trainer, EncoderIntentTrainer)
        assert trainer.onnx == OnnxIntents(prepared, packaged_model_path().resolve())
    finally:
        container.close()
    on_torch = bootstrap(settings.model_copy(update={"model_runtime": "torch"}))
    try:
        assert on_torch.semantic is not None
        assert not isinstance(on_torch.semantic.embedder, OnnxSentenceEmbedder)
        assert on_torch.triage is not None and on_torch.triage.intents is not None
        assert getattr(on_torch.triage.intents.trainer, "onnx", "missing") is None
    finally:
        on_torch.close()
