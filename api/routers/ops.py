"""Operations: liveness and readiness, public without credentials."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.deps import LedgerDep

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "The database does not answer"}})
def readyz(book: LedgerDep) -> JSONResponse:
    """Readiness: the database answers."""
    try:
        with book.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as error:
        return JSONResponse(
            {"status": "unavailable", "database": type(error).__name__}, status_code=503
        )
    return JSONResponse({"status": "ok", "database": "ok"})
