"""The ASGI entry point: ``uvicorn azora.asgi:create_app --factory`` (what ``azora serve``
runs in each worker process)."""

from __future__ import annotations

from fastapi import FastAPI

from api.app import create_app as create_api
from azora.bootstrap import Container, build
from azora.logs import configure as configure_logging


def app_for(container: Container) -> FastAPI:
    """The HTTP app over ``container``; serving starts and stops the container's jobs."""
    return create_api(container.api_context(), lifecycle=container)


def create_app() -> FastAPI:
    container = build()
    configure_logging(container.settings.log_format)
    return app_for(container)
