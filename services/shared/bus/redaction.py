"""Error texts that may travel with a dead letter: scrubbed of health data first."""
from __future__ import annotations


def safe_error_text(error: BaseException) -> str:
    from services.shared.logging import redact_health_data

    scrubbed = redact_health_data(None, "error", {"event": str(error)})
    return f"{type(error).__name__}: {scrubbed['event']}"
