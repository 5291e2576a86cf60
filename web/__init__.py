"""The pages served under ``/app`` (DESIGN §16): static HTML, CSS and ES modules.

Nothing here runs on the server: :mod:`api.routers.app_pages` serves the files of
:data:`PAGES_DIR` and :data:`ASSETS_DIR` as they are. ``assets/vendor/`` holds the built
files of npm packages (``make vendor`` copies them from ``node_modules``), so the pages
load nothing from any other host and need no build step at run time.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent
PAGES_DIR = ROOT / "pages"
ASSETS_DIR = ROOT / "assets"
