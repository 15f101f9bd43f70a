"""Asking an OpenAI-compatible server which models it serves, for ``cadenza models``."""

from __future__ import annotations

__all__ = ["PROBE_TIMEOUT_S", "probe_models"]

PROBE_TIMEOUT_S = 0.5


def probe_models(base: str) -> list[str] | None:
    """The model ids an OpenAI-compatible server lists, or None when it does not answer.

    No key is sent: listing models is a courtesy most local servers offer without one.
    """
    import httpx2

    try:
        response = httpx2.get(f"{base.rstrip('/')}/models", timeout=PROBE_TIMEOUT_S)
        response.raise_for_status()
        data = response.json().get("data", [])
    except Exception:
        return None
    if not isinstance(data, list):
        return []
    return [str(m["id"])[:200] for m in data if isinstance(m, dict) and m.get("id")]
