"""What triage needs beyond the database: the sentiment analyser and the intent model in force."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from caredesk.services.knowledge.ports import IntentClassifier, IntentTrainer, SentimentAnalyzer
from caredesk.services.knowledge.unit import KnowledgeUnit

log = logging.getLogger("caredesk.triage")


class ClassifierCache:
    """The active intent model, loaded once per version and shared by every request."""

    def __init__(self, trainer: IntentTrainer) -> None:
        self.trainer = trainer
        self._lock = threading.Lock()
        self._version: int | None = None
        self._classifier: IntentClassifier | None = None
        self._unreadable: int | None = None

    def active(self, uow: KnowledgeUnit) -> tuple[int, IntentClassifier] | None:
        """The model in force, or None when there is none or it cannot be read.

        An unreadable model (written by another release, or damaged) must not stop cases
        from being opened: triage carries on without an intent, says so once in the log,
        and does not try that version again until another is put in force.
        """
        version = uow.triage.active_model_version()
        if version is None or version == self._unreadable:
            return None
        with self._lock:
            if version != self._version or self._classifier is None:
                artifact = uow.triage.model_artifact(version)
                if artifact is None:
                    return None
                try:
                    self._classifier = self.trainer.load(artifact)
                except ValueError as exc:
                    self._unreadable = version
                    log.error(
                        "intent model %s cannot be read; triage runs without intents until "
                        "another model is trained or activated: %s",
                        version,
                        exc,
                    )
                    return None
                self._version = version
            return self._version, self._classifier


@dataclass
class TriageEngine:
    """What triage needs beyond the database; `intents` is None when the model is off.

    With `intent_in_worker`, a request triages without the model (sentiment, risk, moments,
    known issues, routing) and queues the intent for the worker, which predicts it right
    after the commit and routes again: the model's 15–20 ms of CPU stay out of the request.
    """

    sentiment: SentimentAnalyzer
    intents: ClassifierCache | None = None
    unavailable_reason: str | None = None
    intent_in_worker: bool = False
