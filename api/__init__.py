"""The HTTP API: thin FastAPI routers over ``ledger`` and ``monetization``."""
