"""What each problem type means for a caller and what to do about it: the text of the
``/problems/{code}`` pages (titles and statuses come from :mod:`api.errors`)."""

from __future__ import annotations

# Codes without an entry here get the advice of their status (:data:`ADVICE_BY_STATUS`).
HELP: dict[str, str] = {
    "insufficient-funds": "A posting would take an account below zero available (balance "
    "minus open holds). Nothing was written and the Idempotency-Key stays free: add funds "
    "or release a hold, then send the same request again.",
    "idempotency-conflict": "This Idempotency-Key was used by the same credentials for a "
    "different request. Use a new key for a new request; reuse a key only to retry the "
    "very same request (same body), which answers with the original result.",
    "missing-idempotency-key": "Every value-moving POST carries an `Idempotency-Key` header "
    "(1-128 characters of `[A-Za-z0-9_.:-]`), unique per request and reused by its retries.",
    "bad-request": "The request could not be read: a body that is not JSON (UTF-8), or an "
    "Idempotency-Key outside its pattern. Fix the request; nothing was written.",
    "invalid-amount": 'Amounts are decimal strings in whole units (`"9.99"`) with at most '
    "the asset's scale of decimals (USD 2, AZR 18): no JSON numbers, signs, exponents, "
    "zero, or whitespace.",
    "unknown-account": "A posting names an account that was not opened: open it with "
    "`POST /v1/accounts` first.",
    "asset-mismatch": "A posting's asset is not the asset of one of its accounts.",
    "account-exists": "An account with this id exists with another asset or "
    "`allow_negative`. Opening an identical one again answers 200 with it.",
    "hold-not-pending": "The hold was already posted, voided or expired; each happens once. "
    "The body says its current state.",
    "hold-owned-by-domain": "The hold belongs to a domain resource (a redemption's hold): "
    "resolve it through that resource, e.g. cancel the redemption.",
    "not-anchored": "No confirmed anchor covers this entry yet. Retry after the seconds in "
    "`Retry-After` (the next anchoring round).",
    "rate-limited": "Too many requests for these credentials; wait the seconds in `Retry-After`.",
    "unauthorized": "Send `Authorization: Bearer <API key or user token>`, copied whole. "
    "API keys look like `azora_<id>_<secret>`; user tokens are JWTs.",
    "forbidden": "The API key lacks a scope this needs (`ledger:read`, `entries:write` or "
    "`admin`). Create a key with it: `azora keys create --scopes ...`.",
    "not-found": "Nothing of that id exists, or it is not visible to these credentials "
    "(a user token sees only its own user's resources).",
    "cap-reached": "The earning rule's daily cap (per UTC calendar day) is reached: the "
    "event earns nothing.",
    "unknown-event-type": "No earning rule exists for this event type: list them with "
    "`GET /v1/rewards/rules`.",
    "out-of-stock": "The catalog item has no stock left.",
    "invalid-cursor": "Pass back a `next_cursor` exactly as a previous page gave it.",
    "invalid-time": "Instants are RFC 3339 with a timezone (`2030-01-01T00:00:00Z`) and must "
    "stay within years 1-9999 once in UTC.",
    "invalid-text": "A text holds a NUL character or a lone surrogate, which cannot be stored.",
    "payload-too-large": "The body is larger than the service accepts (`AZORA_MAX_BODY_BYTES`).",
    "unavailable": "The ledger (or the chain behind a proof) cannot answer right now; nothing "
    "was written. Retry the same request, with the same Idempotency-Key.",
    "internal-error": "A fault of the service. Nothing the request could fix; report the "
    "`request_id` of the problem to the operators, who find it in the logs.",
}

ADVICE_BY_STATUS: dict[int, str] = {
    400: "The request could not be read; fix it. Nothing was written.",
    401: "Credentials are missing or invalid.",
    402: "The payment was refused by the payment provider; nothing was charged.",
    403: "These credentials may not do this.",
    404: "It does not exist, or is not visible to these credentials.",
    405: "The path exists, with other methods.",
    409: "The request is valid but conflicts with the current state; nothing was written. "
    "Read the resource's state and decide again.",
    413: "The body is too large.",
    415: "The body's content type is not accepted here.",
    422: "The request is invalid; nothing was written and its Idempotency-Key stays free. "
    "Fix the request and send it again.",
    429: "Too many requests; wait the seconds in `Retry-After`.",
    500: "A fault of the service; report the problem's `request_id`.",
    502: "A service behind this one failed; retry later with the same Idempotency-Key.",
    503: "Unavailable for now; retry later with the same Idempotency-Key.",
}


def advice(code: str, status: int) -> str:
    return HELP.get(code) or ADVICE_BY_STATUS.get(status, ADVICE_BY_STATUS[500])


def catalogue_markdown() -> str:
    """docs/problems.md: every problem type, as the ``/problems/{code}`` pages say it.

    Regenerate with ``.venv/bin/python -m api.problem_help > docs/problems.md``.
    """
    from api.errors import PROBLEM_BASE, STATUS_BY_CODE, TITLES

    lines = [
        "# Problem types",
        "",
        "Every error of the API is an RFC 9457 `application/problem+json` document: `type` is",
        f"`{PROBLEM_BASE}<code>` (stable), `title`, `status`, `detail` (for people) and",
        "`request_id` (the request's `X-Request-Id`, also on every log line it wrote). The",
        "service serves each of these at `/problems/<code>` (offline), with the routes that",
        "answer it. Generated from `api/errors.py` and `api/problem_help.py`.",
        "",
        "| code | status | title | what to do |",
        "|---|---:|---|---|",
    ]
    for code, status in sorted(STATUS_BY_CODE.items(), key=lambda cs: (cs[1], cs[0])):
        text = advice(code, status).replace("|", "\\|")
        lines.append(f"| `{code}` | {status} | {TITLES[code]} | {text} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(catalogue_markdown(), end="")
