"""/metrics: the Prometheus text format, for a token that may manage jobs; requests by route
template, the database pool, and the job queue, grants, approvals and mail."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from caredesk.bootstrap import Container
from caredesk.domain.agents import Role
from caredesk.web.app import create_app
from tests.integration.conftest import Headers


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_need_a_token_that_may_manage_jobs(
    client: TestClient, token_for: Callable[[Role], Headers]
) -> None:
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=token_for(Role.AGENT)).status_code == 403
    assert client.get("/metrics", headers=token_for(Role.ADMIN)).status_code == 200


def test_requests_are_counted_by_route_template(
    client: TestClient, admin: Headers, new_case: Callable[..., dict[str, object]]
) -> None:
    case = new_case(body="Help")
    for _ in range(3):
        assert client.get(f"/api/v1/cases/{case['id']}", headers=admin).status_code == 200
    response = client.get("/metrics", headers=admin)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = _samples(response.text)
    key = (
        "caredesk_http_requests_total",
        (("method", "GET"), ("route", "/api/v1/cases/{case_id}"), ("status", "200")),
    )
    # Counters are process-wide (other tests' requests count too): at least these three.
    assert samples[key] >= 3
    assert not any(f"/cases/{case['id']}" in str(labels) for _, labels in samples)
    assert (
        "caredesk_http_request_duration_seconds_count",
        (("method", "GET"), ("route", "/api/v1/cases/{case_id}")),
    ) in samples
    assert ("caredesk_db_connections_in_use", ()) in samples


def test_the_desk_figures_come_from_the_database(
    client: TestClient, admin: Headers, new_case: Callable[..., dict[str, object]]
) -> None:
    samples = _samples(client.get("/metrics", headers=admin).text)
    for state in ("queued", "running", "done", "dead"):
        assert ("caredesk_jobs", (("state", state),)) in samples
    assert samples[("caredesk_mail_messages", (("direction", "in"),))] == 0
    assert samples[("caredesk_job_oldest_due_seconds", ())] >= 0


def test_a_connection_in_use_counts_once_however_many_apps_share_the_pool(
    container: Container,
) -> None:
    create_app(container=container)
    create_app(container=container)
    before = REGISTRY.get_sample_value("caredesk_db_connections_in_use") or 0.0
    with container.engine.connect():
        held = REGISTRY.get_sample_value("caredesk_db_connections_in_use") or 0.0
    assert held - before == 1
    assert REGISTRY.get_sample_value("caredesk_db_connections_in_use") == before
