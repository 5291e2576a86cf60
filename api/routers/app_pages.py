"""``/app/*``: the pages of DESIGN §16 (the problem pages are in :mod:`api.routers.pages`).

The pages are static files from :mod:`web` (each page's ``<main>`` in the shell they
share, put together once at start-up), served under a strict Content
Security Policy: scripts and styles only from this origin (no inline code), requests only
to this origin and the public JSON-RPC URL (the auditor page reads anchors from the chain
itself). Only files that exist under the package's folders are served, by a name fixed at
start-up: no path from a request ever reaches the file system.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response

from api.deps import Context
from api.errors import PROBLEM_BASE, ApiProblem
from web import ASSETS_DIR, PAGES_DIR

router = APIRouter(include_in_schema=False)

# The page name in the path → its file under web/pages (DESIGN §16, fixed paths), in the
# order of the navigation, with its title there.
PAGES: dict[str, str] = {
    "": "wallet.html",
    "leaderboards": "leaderboards.html",
    "marketplace": "marketplace.html",
    "plans": "plans.html",
    "enterprise": "enterprise.html",
    "audit": "audit.html",
}
TITLES = {
    "": "Wallet",
    "leaderboards": "Leaderboards",
    "marketplace": "Marketplace",
    "plans": "Plans",
    "enterprise": "Enterprise",
    "audit": "Audit",
}
SHELL = "_shell.html"
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


def render_page(name: str) -> str:
    """The whole HTML of page ``name`` (a key of :data:`PAGES`): its ``<main>`` from its file
    inside the shell every page shares, with its title, its script and its place in the
    navigation marked."""
    filename = PAGES[name]
    current = ' aria-current="page"'
    nav = "\n".join(
        f'      <a href="/app/{slug}"{current if slug == name else ""}>{title}</a>'
        for slug, title in TITLES.items()
    )
    parts = {
        "<!--title-->": TITLES[name],
        "<!--script-->": filename.removesuffix(".html") + ".js",
        "<!--nav-->": nav,
        "<!--main-->": (PAGES_DIR / filename).read_text(encoding="utf-8"),
    }
    html = (PAGES_DIR / SHELL).read_text(encoding="utf-8")
    for marker, text in parts.items():
        html = html.replace(marker, text, 1)
    return html


RENDERED = {name: render_page(name).encode("utf-8") for name in PAGES}  # once, at start-up


@router.get("/app/{page}")
def page(page: str, context: Context) -> Response:
    html = RENDERED.get(page.rstrip("/"))
    if html is None:
        raise ApiProblem("not-found", "no such page")
    return Response(
        html,
        media_type="text/html; charset=utf-8",
        headers=security_headers(context.config.public_rpc_url),
    )


@router.get("/app/")
def wallet(context: Context) -> Response:
    return page("", context)
