"""Public pages of the API itself: ``/docs`` (Swagger UI from local assets, no CDN) and
``/problems/{code}``, the page each problem ``type`` names (DESIGN §16).

Every problem's ``type`` is ``https://azora.dev/problems/<code>``; the service serves the same
page at ``/problems/<code>``, offline, so an air-gapped operator reads what a problem means
and which routes answer it (taken from the OpenAPI document the routes declare).
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from api.errors import PROBLEM_BASE, PROBLEM_MEDIA_TYPE, STATUS_BY_CODE, TITLES
from api.problem_help import advice
from api.routers.app_pages import security_headers

SWAGGER_DIR = Path(__file__).resolve().parent.parent / "static" / "swagger-ui"
ASSETS_PATH = "/docs/assets"
CODE_PATTERN = r"^[a-z][a-z0-9-]{0,63}$"

router = APIRouter(include_in_schema=False)


def docs_assets() -> StaticFiles:
    """The vendored swagger-ui-dist files, mounted at :data:`ASSETS_PATH`."""
    return StaticFiles(directory=SWAGGER_DIR)


@router.get("/docs")
def swagger_ui() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="Azora Ledger API",
        swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS_PATH}/favicon-32x32.png",
        # No badge fetched from validator.swagger.io: the page asks no other host.
        swagger_ui_parameters={"validatorUrl": None},
    )


def _page(title: str, body: str) -> HTMLResponse:
    """A page in the style of the pages under ``/app`` (their stylesheet, their header and
    their Content Security Policy: nothing inline, nothing from another host)."""
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · Azora Ledger</title>"
        '<link rel="icon" href="data:,"><link rel="stylesheet" href="/app/assets/style.css">'
        '</head><body><header class="top"><a class="brand" href="/app/">Azora Ledger</a>'
        '<nav aria-label="Pages"><a href="/problems">Problem types</a> '
        '<a href="/docs">API docs</a></nav></header>'
        f'<main id="main">{body}</main></body></html>'
    )
    return HTMLResponse(html, headers=security_headers(""))


@router.get("/problems")
def problem_index() -> HTMLResponse:
    rows = "".join(
        f'<tr><td><a href="/problems/{c}"><code>{c}</code></a></td><td>{s}</td>'
        f"<td>{escape(TITLES[c])}</td></tr>"
        for c, s in sorted(STATUS_BY_CODE.items(), key=lambda cs: (cs[1], cs[0]))
    )
    body = (
        "<h1>Problem types</h1><p>Every error of the API is an RFC 9457 "
        f"<code>{PROBLEM_MEDIA_TYPE}</code> document whose <code>type</code> is "
        f"<code>{PROBLEM_BASE}&lt;code&gt;</code>.</p>"
        f"<table><tr><th>code</th><th>status</th><th>title</th></tr>{rows}</table>"
    )
    return _page("Problem types", body)


@router.get("/problems/{code}")
def problem_page(code: str, request: Request) -> HTMLResponse:
    if code not in STATUS_BY_CODE:
        page = _page("Unknown problem type", '<p>No such problem type. <a href="/problems">All'
                     " types</a>.</p>")  # fmt: skip
        page.status_code = 404
        return page
    status = STATUS_BY_CODE[code]
    routes = _routes_answering(request).get(code, [])
    listed = "".join(f"<li><code>{escape(r)}</code></li>" for r in routes)
    body = (
        f"<h1>{escape(TITLES[code])}</h1>"
        f"<p><code>type</code>: <code>{PROBLEM_BASE}{code}</code><br>"
        f"<code>status</code>: {status}</p><p>{escape(advice(code, status))}</p>"
        "<p>Each problem carries <code>detail</code> (for people) and <code>request_id</code> "
        "(the request's <code>X-Request-Id</code>, also on every log line it wrote).</p>"
        + (f"<h2>Answered by</h2><ul>{listed}</ul>" if routes else "")
        + '<p><a href="/problems">All problem types</a> · <a href="/docs">API docs</a></p>'
    )
    return _page(TITLES[code], body)


def _routes_answering(request: Request) -> dict[str, list[str]]:
    """Which operations declare each problem type (from the OpenAPI document, once)."""
    known: dict[str, list[str]] | None = getattr(request.app.state, "problem_routes", None)
    if known is None:
        known = {}
        for path, item in request.app.openapi().get("paths", {}).items():
            for method, operation in item.items():
                for code in dict.fromkeys(_codes(operation)):
                    known.setdefault(code, []).append(f"{method.upper()} {path}")
        request.app.state.problem_routes = known
    return known


def _codes(operation: dict[str, Any]) -> list[str]:
    codes: list[str] = []
    for response in operation.get("responses", {}).values():
        content = response.get("content", {}).get(PROBLEM_MEDIA_TYPE, {})
        codes.extend(content.get("examples", {}))
    return codes
