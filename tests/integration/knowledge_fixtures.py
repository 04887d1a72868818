"""Helpers shared by the knowledge, known-issue, search and triage tests.

The sentence encoder is loaded once per process (`adapters.embeddings.shared_embedder`), so
every container these tests build reuses the same model; `CountingEmbedder` stands in for
it where a test counts how often texts are embedded.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from fastapi.testclient import TestClient

from caredesk.bootstrap import Container
from caredesk.domain.agents import SYSTEM, Role
from caredesk.services.access import auth
from caredesk.services.knowledge.ports import Vectors
from tests.integration.conftest import Headers

PROBLEM_KEYS = {"type", "title", "status", "code", "detail"}


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """Assert `response` is an RFC 9457 problem with this status and stable code."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert set(body) >= PROBLEM_KEYS, body
    assert body["code"] == code, body
    assert body["detail"]
    return body


def customer_token(container: Container, customer_id: str) -> Headers:
    """A token limited to one customer, as the portal and customer-facing bots hold."""
    issued = auth.create_token(
        container.uow(),
        SYSTEM,
        container.clock.now(),
        name=f"customer-{customer_id}",
        role=Role.VIEWER,
        customer_id=customer_id,
    )
    return {"Authorization": f"Bearer {issued.secret}"}


def audit_actions(container: Container, entity_type: str, entity_id: object) -> list[str]:
    with container.uow() as uow:
        return [e.action for e in uow.audit.for_entity(entity_type, str(entity_id))]


def create_article(client: TestClient, headers: Headers, **fields: Any) -> dict[str, Any]:
    payload = {"title": "Label printer stopped after the upgrade", "body": "Restart it.", **fields}
    response = client.post("/api/v1/articles", json=payload, headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def wait_until(check: Callable[[], bool], seconds: float = 60.0) -> bool:
    """Poll for a background thread's result; the deadline only bounds a hung test."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


class CountingEmbedder:
    """A deterministic stand-in for the sentence encoder that records every text it embeds.

    Texts sharing words get similar vectors (hashed bag of words), enough for ranking tests.
    """

    def __init__(self, dimensions: int = 64) -> None:
        self._dimensions = dimensions
        self.calls: list[list[str]] = []

    @property
    def model_name(self) -> str:
        return "counting-fake"

    @property
    def dimensions(self) -> int:
        return self._dimensions

    @property
    def texts(self) -> list[str]:
        return [t for call in self.calls for t in call]

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.calls.append(list(texts))
        out = np.zeros((len(texts), self._dimensions), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                digest = hashlib.sha256(word.strip(".,!?").encode()).digest()
                out[row, digest[0] % self._dimensions] += 1.0
            norm = float(np.linalg.norm(out[row]))
            out[row] = out[row] / norm if norm else out[row]
        return out
