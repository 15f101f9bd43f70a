"""Provider failures as cadenza errors: the HTTP status, our own short reason, what to do.

An upstream error body is never copied into an error: it may echo a key, a prompt, or
whatever a hostile server wants shown to the person reading the run. A provider may read
the body to choose among our reasons (`reason_for_bad_request`), nothing more.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import PermanentProviderError, ProviderError, TransientProviderError

__all__ = [
    "TRANSIENT_STATUS",
    "BadRequestReason",
    "map_status",
    "reason_for_bad_request",
    "upstream_text",
]

TRANSIENT_STATUS = frozenset({408, 409, 425, 429})
"""4xx statuses worth retrying (every 5xx is): timeout, conflict, too early, rate limit."""


@dataclass(frozen=True)
class BadRequestReason:
    """Why a server refused a request, in our words, and what to do about it."""

    reason: str
    hint: str


CONTEXT_TOO_LONG = BadRequestReason(
    "the prompt and the answer do not fit the model's context",
    "shorten the input, or lower the answer's max_tokens",
)
FORMAT_REFUSED = BadRequestReason(
    "the server cannot use the requested response format",
    "run without constrained decoding; cadenza validates the answer itself",
)
PARAMETER_REFUSED = BadRequestReason(
    "the server does not accept a parameter of the request",
    "check that the model and server support chat completions with these settings",
)

_CONTEXT_WORDS = ("context", "too long")
_FORMAT_WORDS = ("response_format", "json_schema", "grammar", "schema", "structured")
_PARAMETER_WORDS = ("unsupported", "not supported", "unrecognized", "unknown parameter")


def reason_for_bad_request(upstream: str) -> BadRequestReason | None:
    """Our reason for a 400, chosen by reading the server's message (never quoting it)."""
    said = upstream.lower()
    if any(w in said for w in _FORMAT_WORDS):
        return FORMAT_REFUSED
    if any(w in said for w in _CONTEXT_WORDS):
        return CONTEXT_TOO_LONG
    if any(w in said for w in _PARAMETER_WORDS):
        return PARAMETER_REFUSED
    return None


def map_status(
    name: str,
    where: str,
    status: int,
    *,
    model_id: str | None,
    api_key_env: str | None,
    not_found_hint: str,
    bad_request: BadRequestReason | None = None,
) -> ProviderError:
    """The cadenza error for an HTTP error status from a provider.

    `bad_request` is the provider's reading of a 4xx body (see `reason_for_bad_request`).
    """
    if status == 429:
        return TransientProviderError(
            f"{name}: rate limited by {where} (HTTP 429); wait, or lower the concurrency",
            status_code=status,
        )
    if status >= 500:
        return TransientProviderError(
            f"{name}: server error at {where} (HTTP {status}); it may pass: retry later, "
            "or check the server's own logs",
            status_code=status,
        )
    if status in TRANSIENT_STATUS:
        return TransientProviderError(
            f"{name}: {where} could not answer now (HTTP {status}); retry later",
            status_code=status,
        )
    if status == 401:
        fix = f"set {api_key_env} to a valid key" if api_key_env else "check the API key"
        return PermanentProviderError(
            f"{name}: {where} rejected the API key (HTTP 401); {fix}", status_code=status
        )
    if status == 403:
        return PermanentProviderError(
            f"{name}: permission denied by {where} (HTTP 403); check that your key may use "
            f"{model_id or 'this model'}",
            status_code=status,
        )
    if status == 404:
        what = f"model {model_id!r}" if model_id else "the endpoint"
        return PermanentProviderError(
            f"{name}: {where} could not find {what} (HTTP 404); {not_found_hint}",
            status_code=status,
        )
    if bad_request is not None:
        return PermanentProviderError(
            f"{name}: {where} rejected the request (HTTP {status}): {bad_request.reason}; "
            f"{bad_request.hint}",
            status_code=status,
        )
    return PermanentProviderError(
        f"{name}: {where} rejected the request (HTTP {status}); check the model name and "
        "the request's settings",
        status_code=status,
    )


def upstream_text(exc: Exception) -> str:
    """The server's message in an SDK error, for choosing a reason; never show it."""
    body = getattr(exc, "body", None)
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping):
            message = inner.get("message")
            if isinstance(message, str):
                return message
        elif isinstance(inner, str):
            return inner
        message = body.get("message")
        if isinstance(message, str):
            return message
    elif isinstance(body, str):
        return body[:2000]
    return str(getattr(exc, "message", "") or "")
