"""Settings of the HTTP layer: they are fields of the one settings object.

``ApiSettings`` names :class:`azora.settings.Settings` where the HTTP layer reads its limits
(rate limit, body size, token lifetime, key cache), so a test can pass its own.
"""

from __future__ import annotations

from azora.settings import MIB, Settings

ApiSettings = Settings

__all__ = ["MIB", "ApiSettings"]
