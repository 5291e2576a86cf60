"""``/app/*`` (the pages of DESIGN §16) and ``/problems/{type}`` (the problem catalogue).

The pages are static files from :mod:`web`, served as they are, under a strict Content
Security Policy: scripts and styles only from this origin (no inline code), requests only
to this origin and the public JSON-RPC URL (the auditor page reads anchors from the chain
itself). Only files that exist under the package's folders are served, by a name fixed at
start-up: no path from a request ever reaches the file system.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse

from api.deps import Context
from api.errors import PROBLEM_BASE, STATUS_BY_CODE, TITLES, ApiProblem
from web import ASSETS_DIR, PAGES_DIR

router = APIRouter(include_in_schema=False)

# The page name in the path → its file under web/pages (DESIGN §16, fixed paths).
PAGES: dict[str, str] = {
    "": "wallet.html",
    "leaderboards": "leaderboards.html",
    "marketplace": "marketplace.html",
    "plans": "plans.html",
    "enterprise": "enterprise.html",
    "audit": "audit.html",
}
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".txt": "text/plain; charset=utf-8",
}
MAX_ASSETS = 500


def _asset_index(folder: Path) -> dict[str, Path]:
    """Every servable file under ``folder`` by its relative posix name, read once."""
    found = {
        p.relative_to(folder).as_posix(): p
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.suffix in MEDIA_TYPES
    }
    assert len(found) <= MAX_ASSETS, f"{len(found)} assets, want at most {MAX_ASSETS}"
    return found


ASSETS = _asset_index(ASSETS_DIR)


def rpc_origin(url: str) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL, or None for anything else (never
    written into the policy: a space or ``;`` there would change its meaning)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number
    except ValueError:
        return None
    ok = parts.scheme in ("http", "https") and parts.hostname and parts.netloc.isascii()
    if not ok or any(c in parts.netloc for c in " ;,'\"\\"):
        return None
    return f"{parts.scheme}://{parts.netloc}"


def security_headers(public_rpc_url: str) -> dict[str, str]:
    connect = " ".join(filter(None, ["'self'", rpc_origin(public_rpc_url)]))
    policy = (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src {connect}; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }


@router.get("/app")
def app_root() -> RedirectResponse:
    return RedirectResponse("/app/", status_code=308)


@router.get("/app/config.json")
def page_config(context: Context) -> JSONResponse:
    """What the pages need to know that is not in the API: the public RPC URL, and whether
    to offer the development sign-in (a user token asked for with the admin key)."""
    config = {
        "rpc_url": context.config.public_rpc_url,
        "problem_base": PROBLEM_BASE,
        "development": context.config.development,
    }
    return JSONResponse(config, headers=security_headers(context.config.public_rpc_url))


@router.get("/app/assets/{name:path}")
def asset(name: str, context: Context) -> FileResponse:
    path = ASSETS.get(name)
    if path is None:
        raise ApiProblem("not-found", "no such asset")
    return FileResponse(
        path,
        media_type=MEDIA_TYPES[path.suffix],
        headers=security_headers(context.config.public_rpc_url),
    )


@router.get("/app/{page}")
def page(page: str, context: Context) -> FileResponse:
    filename = PAGES.get(page.rstrip("/"))
    if filename is None:
        raise ApiProblem("not-found", "no such page")
    return FileResponse(
        PAGES_DIR / filename,
        media_type="text/html; charset=utf-8",
        headers=security_headers(context.config.public_rpc_url),
    )


@router.get("/app/")
def wallet(context: Context) -> FileResponse:
    return page("", context)


# --- /problems -----------------------------------------------------------------------------

_PROBLEM_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Azora Ledger</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/app/assets/style.css"></head>
<body><header class="top"><a class="brand" href="/app/">Azora Ledger</a>
<nav aria-label="Pages"><a href="/problems/">Problem types</a></nav></header>
<main id="main">{body}</main></body></html>
"""


def _problem_html(title: str, body: str, context: Any) -> HTMLResponse:
    text = _PROBLEM_PAGE.format(title=html.escape(title), body=body)
    return HTMLResponse(text, headers=security_headers(context.config.public_rpc_url))


@router.get("/problems/")
def problem_index(context: Context) -> HTMLResponse:
    rows = "".join(
        f'<tr><td><a href="/problems/{code}"><code>{code}</code></a></td>'
        f"<td>{STATUS_BY_CODE[code]}</td><td>{html.escape(TITLES[code])}</td></tr>"
        for code in sorted(STATUS_BY_CODE)
    )
    body = (
        "<h1>Problem types</h1><p>Every error of the API is an RFC 9457 "
        "<code>application/problem+json</code> body whose <code>type</code> is "
        f"<code>{html.escape(PROBLEM_BASE)}&lt;code&gt;</code>.</p>"
        '<table><thead><tr><th scope="col">code</th><th scope="col">status</th>'
        f'<th scope="col">title</th></tr></thead><tbody>{rows}</tbody></table>'
    )
    return _problem_html("Problem types", body, context)


@router.get("/problems/{code}")
def problem_type(code: str, context: Context) -> HTMLResponse:
    if code not in STATUS_BY_CODE:
        raise ApiProblem("not-found", "no such problem type")
    title = TITLES[code]
    body = (
        f"<h1>{html.escape(title)}</h1><dl class='facts'>"
        f"<dt>type</dt><dd><code>{html.escape(PROBLEM_BASE + code)}</code></dd>"
        f"<dt>HTTP status</dt><dd>{STATUS_BY_CODE[code]}</dd></dl>"
        "<p>The response body is <code>application/problem+json</code> with "
        "<code>type</code>, <code>title</code>, <code>status</code> and a "
        "<code>detail</code> that says what exactly was refused. Nothing was written "
        "when a request is refused with this problem"
        + (" (retry later: it may succeed)." if STATUS_BY_CODE[code] >= 500 else ".")
        + '</p><p><a href="/problems/">All problem types</a></p>'
    )
    return _problem_html(title, body, context)
