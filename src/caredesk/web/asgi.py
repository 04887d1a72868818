"""ASGI factory for uvicorn (`caredesk.web.asgi:build`, factory mode), from the environment."""

from __future__ import annotations

from fastapi import FastAPI

from caredesk.logging import configure_logging
from caredesk.settings import Settings
from caredesk.web.app import create_app


def build() -> FastAPI:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    return create_app(settings)
