"""Every console page and form answers only to a signed-in agent, and every form needs CSRF.

The sweep walks the console's own routers, so a page added later is covered without a list to
keep.
"""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from caredesk.bootstrap import Container
from caredesk.domain.agents import SYSTEM, Role
from caredesk.services.access import auth
from caredesk.web.pages import console_routers
from caredesk.web.pages.common import PageRoute

PASSWORD = "guarded-pages-password"
# Pages anyone may open: signing in itself and its static companions.
OPEN = {("GET", "/login"), ("POST", "/login"), ("POST", "/logout"), ("GET", "/")}


def _page_routes() -> list[tuple[str, str]]:
    found = []
    for route in (r for router in console_routers() for r in router.routes):
        if isinstance(route, PageRoute):
            path = re.sub(r"\{[^}:]+(:[^}]+)?\}", "1", route.path)
            found.extend((method, path) for method in sorted(route.methods) if method != "HEAD")
    return found


def test_no_console_page_or_form_answers_without_a_session(container: Container) -> None:
    from caredesk.web.app import create_app

    app = create_app(container=container)
    routes = _page_routes()
    assert ("GET", "/settings") in routes and ("POST", "/settings/time-zone") in routes
    with TestClient(app, follow_redirects=False) as console:
        for method, path in routes:
            if (method, path) in OPEN:
                continue
            answer = console.request(method, path)
            assert answer.status_code == 303, (method, path, answer.status_code)
            assert answer.headers["location"].startswith("/login?next="), (method, path)


def test_no_console_form_acts_without_the_sessions_csrf_token(container: Container) -> None:
    from caredesk.web.app import create_app

    auth.create_agent(
        container.uow(),
        SYSTEM,
        container.hasher,
        container.clock.now(),
        email="root@desk.example",
        name="Root",
        role=Role.ADMIN,
        password=PASSWORD,
    )
    app = create_app(container=container)
    with TestClient(app, follow_redirects=False) as console:
        form = console.get("/login")
        token = re.search(r'name="login_csrf" value="([^"]+)"', form.text)
        assert token is not None
        signed = console.post(
            "/login",
            data={"email": "root@desk.example", "password": PASSWORD, "login_csrf": token.group(1)},
        )
        assert signed.status_code == 303
        writes = [(m, p) for m, p in _page_routes() if m != "GET" and (m, p) not in OPEN]
        assert writes
        for method, path in writes:
            answer = console.request(method, path, data={"csrf_token": "forged"})
            assert answer.status_code == 403, (method, path, answer.status_code)
            assert "out of date" in answer.text, (method, path)
