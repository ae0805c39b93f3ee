"""schemathesis hooks for tests/fuzz/rest.py (loaded in .venv-clients through SCHEMATHESIS_HOOKS).

One check, ``no_gateway_5xx``: a 5xx is allowed only when it is a model's own error passed
through (Seldon's ``{"status": {...}}`` body, MLServer's ``{"error": ...}``). The gateway's own
5xx - aiohttp's text "500 Internal Server Error" after an exception, a 502 because a model
process died or answered garbage, a 503 because it is restarting - fail the run.
"""

from __future__ import annotations

import json

import schemathesis


def model_error(body: bytes) -> bool:
    try:
        parsed = json.loads(body)
    except ValueError:
        return False
    if not isinstance(parsed, dict):
        return False
    status = parsed.get("status")
    seldon = isinstance(status, dict) and "reason" in status and "code" in status
    mlserver = set(parsed) == {"error"} and isinstance(parsed["error"], str)
    return seldon or mlserver


@schemathesis.check
def no_gateway_5xx(ctx, response, case):
    if response.status_code >= 500 and not (response.status_code == 500 and model_error(response.content)):
        raise AssertionError(f"the gateway answered {response.status_code}: {response.content[:300]!r}")
