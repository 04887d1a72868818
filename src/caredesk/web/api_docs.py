"""The interactive API docs at /api/docs, served whole by the desk.

Swagger UI's script, style sheet and icon come from the `fastapi-offline` package and are
served under /api/docs/static, so the page works on a desk with no way out to the internet
and sends nothing about the desk's API to a third party.
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_PATH = "/api/docs"
STATIC_PATH = f"{DOCS_PATH}/static"

SWAGGER_UI_PARAMETERS = {
    # Swagger UI would otherwise send the document's address to validator.swagger.io and
    # show its badge: an outside request, and one that tells a third party where the desk is.
    "validatorUrl": None,
}

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def assets_dir() -> Path:
    """The folder of Swagger UI's distribution files that the package ships."""
    return Path(str(files("fastapi_offline") / "static"))


def script_hashes(html: str) -> list[str]:
    """CSP sources for the page's inline scripts, so no other inline script can run."""
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(html)
    ]


def docs_page(request: Request, title: str, openapi_url: str) -> HTMLResponse:
    root = request.scope.get("root_path", "").rstrip("/")
    page = get_swagger_ui_html(
        openapi_url=f"{root}{openapi_url}",
        title=f"{title} API",
        swagger_js_url=f"{root}{STATIC_PATH}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{STATIC_PATH}/swagger-ui.css",
        swagger_favicon_url=f"{root}{STATIC_PATH}/favicon.png",
        swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
    )
    html = bytes(page.body).decode()
    # The page's one inline script starts Swagger UI; everything else comes from the desk.
    page.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src 'self' {' '.join(script_hashes(html))}; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    )
    page.headers["X-Content-Type-Options"] = "nosniff"
    page.headers["Referrer-Policy"] = "no-referrer"
    return page


def install_api_docs(app: FastAPI) -> None:
    """Serve Swagger UI for the app's OpenAPI document (the app has `docs_url=None`)."""
    openapi_url = app.openapi_url
    if openapi_url is None:
        return
    app.mount(STATIC_PATH, StaticFiles(directory=assets_dir()), name="api-docs-static")

    @app.get(DOCS_PATH, include_in_schema=False)
    def api_docs(request: Request) -> HTMLResponse:
        return docs_page(request, app.title, openapi_url)
