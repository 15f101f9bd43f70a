"""Every error cadenza raises, in one hierarchy.

    CadenzaError
    ├── UsageError              the caller asked for something impossible; fix the input
    │   ├── InvalidTaskError    empty input, bad budget or threshold, bad requirement
    │   ├── UnknownModelError   a model name cadenza cannot resolve
    │   ├── ModelNotFoundError  a local model file that is not there
    │   └── UnknownValidatorError
    ├── ProviderError           a model endpoint failed
    │   ├── TransientProviderError   worth retrying: 429, 5xx, timeout, dropped connection
    │   │   └── UnreachableProviderError  the request never left: refused, no such host
    │   └── PermanentProviderError   not worth retrying: 400, 401, 403, 404
    └── ValidatorError          a validator raised, or returned something unusable
        └── ValidatorTimeoutError   a validator ran past its time limit

A UsageError is the caller's mistake (CLI exit code 2, no traceback); a ProviderError
or a ValidatorError happens during a run and is recorded in its trace, and the run
still returns its best candidate.
"""

from __future__ import annotations

__all__ = [
    "CadenzaError",
    "InvalidTaskError",
    "ModelNotFoundError",
    "PermanentProviderError",
    "ProviderError",
    "TransientProviderError",
    "UnknownModelError",
    "UnknownValidatorError",
    "UnreachableProviderError",
    "UsageError",
    "ValidatorError",
    "ValidatorTimeoutError",
]


class CadenzaError(Exception):
    """Base class of every error cadenza raises."""


class UsageError(CadenzaError):
    """The caller's input cannot work; the message says what to change."""


class InvalidTaskError(UsageError):
    """The task (input, requirements, budget, threshold) is not valid."""


class UnknownModelError(UsageError):
    """A model name that no provider understands."""


class ModelNotFoundError(UsageError):
    """A local model file that does not exist or cannot be loaded."""


class UnknownValidatorError(UsageError):
    """A validator referred to by a name that is not registered."""


class ProviderError(CadenzaError):
    """A model call failed."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class TransientProviderError(ProviderError):
    """A failure that may pass: rate limit, server error, timeout, dropped connection."""


class UnreachableProviderError(TransientProviderError):
    """The request never reached the provider (connection refused, unknown host,
    connect timeout): nothing was read, so nothing is billed."""


class PermanentProviderError(ProviderError):
    """A failure that retrying will not fix: bad request, bad key, unknown model.

    An unreachable endpoint is transient (it may be starting); after the retries the
    run ends in error with a message naming the URL."""


class ValidatorError(CadenzaError):
    """A validator raised an exception while checking a candidate."""


class ValidatorTimeoutError(ValidatorError):
    """A validator did not finish within its time limit (``RunOptions.validator_timeout_s``)."""
