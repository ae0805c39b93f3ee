"""Every bound the product enforces, defined once (the layers that check it import it here)."""

from __future__ import annotations

MAX_BODY_BYTES = 64 * 1024 * 1024
"""The largest request or answer body the gateway carries (REST and gRPC alike), and the
largest answer it reads from a model process: a client or a model can never make it buffer
more."""

CANARY_PERCENT_MIN = 1
CANARY_PERCENT_MAX = 99
"""A canary's share of the traffic: at least 1 %, and the stable version keeps at least 1 %."""


def check_canary_percent(percent: int) -> str | None:
    """Why ``percent`` is not a canary share, or ``None`` when it is one."""
    if not CANARY_PERCENT_MIN <= percent <= CANARY_PERCENT_MAX:
        return f"must be between {CANARY_PERCENT_MIN} and {CANARY_PERCENT_MAX} percent, got {percent}"
    return None
