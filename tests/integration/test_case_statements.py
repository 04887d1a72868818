"""What the follow-on effects of a case's writes read, each once: triage reads the case's
triage record once, and saves it without reading it again."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from caredesk.bootstrap import Container
from tests.integration.conftest import Headers
from tests.integration.statements import statements_sent

API = "/api/v1"


def _selects_from(table: str, statements: list[str]) -> int:
    return sum(1 for s in statements if re.search(rf"^SELECT .*\bFROM {table}\b", s, re.S))


def test_triage_reads_the_triage_record_once(
    container: Container, client: TestClient, agent: Headers, customer: dict[str, Any]
) -> None:
    opening = {"customer_id": customer["id"], "subject": "Kettle", "body": "It leaks."}
    with statements_sent(container.engine) as opened:
        created = client.post(f"{API}/cases", json=opening, headers=agent)
    assert created.status_code == 201, created.text
    assert _selects_from("case_triage", opened) == 1, "that it has none is read once too"

    case_id = created.json()["id"]
    words = {"kind": "inbound", "body": "It still leaks, all over the table."}
    with statements_sent(container.engine) as written:
        added = client.post(f"{API}/cases/{case_id}/messages", json=words, headers=agent)
    assert added.status_code == 201, added.text
    assert _selects_from("case_triage", written) == 1
