"""Intent training is deterministic: the plan and the seed decide the model, never the clock."""

from __future__ import annotations

import itertools

import pytest

from caredesk.adapters import intent
from caredesk.adapters.embeddings import shared_embedder
from caredesk.adapters.intent import EncoderIntentTrainer, TrainingPlan
from caredesk.services.knowledge.ports import TrainedModel

TEXTS = [
    "Where is my parcel? It has not arrived yet",
    "My order still hasn't been delivered",
    "When will my delivery arrive?",
    "Please refund my payment",
    "Can I get a refund for the broken kettle?",
    "I returned it, where is my refund?",
    "I forgot my password and cannot log in",
    "How do I reset my login?",
    "I'm locked out of my account",
]
LABELS = ["where_is_my_order"] * 3 + ["refund"] * 3 + ["account_access"] * 3
PROBES = ["the package never came", "money back please", "cannot sign in", "hello"]
# The default method (top layers tuned), kept small enough for a test.
PLAN = TrainingPlan(top_layers=1, target_steps=6, min_epochs=6, max_epochs=6)


def _train(seed: int) -> tuple[TrainedModel, list[tuple[str, float]]]:
    trainer = EncoderIntentTrainer(shared_embedder(), PLAN)
    model = trainer.train(TEXTS, LABELS, seed=seed)
    return model, trainer.load(model.artifact).predict(PROBES)


_REFERENCES: dict[int, tuple[TrainedModel, list[tuple[str, float]]]] = {}


def _reference(seed: int) -> tuple[TrainedModel, list[tuple[str, float]]]:
    """A training on an unhurried clock, done once per test process: each test trains its
    own second model against it, and a training takes seconds."""
    if seed not in _REFERENCES:
        _REFERENCES[seed] = _train(seed)
    return _REFERENCES[seed]


def test_the_same_seed_trains_the_same_model() -> None:
    first, first_predictions = _reference(seed=3)
    second, second_predictions = _train(seed=3)
    assert first.artifact == second.artifact
    assert first_predictions == second_predictions
    other, _ = _train(seed=4)
    assert other.artifact != first.artifact


def test_a_slow_machine_trains_the_same_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """However long each step takes, every planned epoch runs."""
    reference, predictions = _reference(seed=3)
    ticks = itertools.count()
    # Each reading of the clock is an hour after the last: a machine loaded beyond reason.
    monkeypatch.setattr(intent.time, "perf_counter", lambda: 3600.0 * next(ticks))
    slow, slow_predictions = _train(seed=3)
    monkeypatch.undo()
    assert slow.metrics["epochs"] == reference.metrics["epochs"] == PLAN.min_epochs
    assert slow.artifact == reference.artifact
    assert slow_predictions == predictions
