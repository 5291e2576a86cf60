"""The pages served under ``/app`` (DESIGN §16): static HTML, CSS and ES modules.

Nothing here runs on the server: :mod:`api.routers.app_pages` serves the files of
:data:`ASSETS_DIR` as they are, and each page of :data:`PAGES_DIR` (its ``<main>`` only)
inside the one ``_shell.html`` that every page shares (head, header and navigation), put
together once at start-up. ``assets/vendor/`` holds the built
files of npm packages (``make vendor`` copies them from ``node_modules``), so the pages
load nothing from any other host and need no build step at run time.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent
PAGES_DIR = ROOT / "pages"
ASSETS_DIR = ROOT / "assets"
