"""Every API operation, fed data its schema allows (and some it does not): never a 5xx.

A bounded run of schemathesis in the suite: a few generated requests per operation, as an
admin (who reaches every handler), on the real database of each test. Anything the server
answers with a 5xx fails.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from caredesk.bootstrap import Container
from caredesk.settings import Settings
from caredesk.web.app import create_app
from tests.integration.conftest import Headers

# The schema is read once, from an app on a throw-away in-memory database; each test then
# points that app at its own migrated database (the routes find it in `app.state`).
APP = create_app(
    Settings(
        database_url="sqlite://", semantic_search=False, embedded_worker=False, log_level="warning"
    )
)
# The tests run without the embedding model: a semantic search is then refused as the
# documented 503, the one server-side answer that is not a fault.
UNAVAILABLE = {"search_unavailable", "model_unavailable"}
schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", APP)
# Raw mail for the inbound webhook: well-formed messages and plain noise.
MAIL = (
    b"From: Maya <maya@example.net>\r\nTo: support@caredesk.example\r\nSubject: Hi\r\n"
    b"Message-ID: <fuzz@example.net>\r\n\r\nWhere is my parcel?\r\n"
)
schemathesis.openapi.media_type(
    "message/rfc822", st.one_of(st.just(MAIL), st.binary(max_size=2048))
)


@schema.parametrize()
@settings(max_examples=3, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_no_operation_answers_with_a_server_error(
    case: Any, container: Container, admin: Headers
) -> None:
    APP.state.container = container
    response = case.call(headers=admin)
    if response.status_code == 503:
        assert response.json()["code"] in UNAVAILABLE, response.text
        return
    if response.status_code == 501 and case.formatted_path.startswith("/api/v2/"):
        # A Zendesk request the desk does not answer (another method on a path it answers,
        # say) is the documented 501 naming the endpoint, not a fault (docs/zendesk.md).
        assert response.json()["code"] == "not_supported", response.text
        return
    assert response.status_code < 500, (case.method, case.formatted_path, response.text[:500])
