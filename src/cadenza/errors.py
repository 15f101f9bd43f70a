"""Every error cadenza raises, in one hierarchy.

    CadenzaError
    ├── UsageError              the caller asked for something impossible; fix the input
    │   ├── InvalidTaskError    empty input, bad budget or threshold, bad requirement
    │   ├── UnknownModelError   a model name cadenza cannot resolve
    │   ├── ModelNotFoundError  a local model file that is not there
    │   ├── UnknownValidatorError
    │   ├── MissingExtraError   an optional feature whose packages are not installed
    │   └── DocumentError       a file the library cannot take (unsupported, corrupt, too large)
    │       └── DocumentTooLargeError
    ├── ProviderError           a model endpoint failed
    │   ├── TransientProviderError   worth retrying: 429, 5xx, timeout, dropped connection
    │   │   └── UnreachableProviderError  the request never left: refused, no such host
    │   ├── PermanentProviderError   not worth retrying: 400, 401, 403, 404
    │   ├── SearchProviderError      a web search provider failed (down, slow, rate-limited)
    │   └── FetchError               a web page could not be fetched or read
    │       └── BlockedAddressError  the page's address is private, loopback, link-local...
    └── ValidatorError          a validator raised, or returned something unusable
        └── ValidatorTimeoutError   a validator ran past its time limit

A UsageError is the caller's mistake (CLI exit code 2, no traceback); a ProviderError
or a ValidatorError happens during a run and is recorded in its trace, and the run
still returns its best candidate.
"""

from __future__ import annotations

__all__ = [
    "BlockedAddressError",
    "CadenzaError",
    "DocumentError",
    "DocumentTooLargeError",
    "FetchError",
    "InvalidTaskError",
    "MissingExtraError",
    "ModelNotFoundError",
    "PermanentProviderError",
    "ProviderError",
    "SearchProviderError",
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


class MissingExtraError(UsageError):
    """An optional feature whose packages are not installed; the message names the extra."""


class DocumentError(UsageError):
    """A file the document library cannot take: unsupported format, corrupt, empty or too
    large. `file_name` names the file; nothing else in the same batch is lost."""

    def __init__(self, message: str, *, file_name: str) -> None:
        super().__init__(message)
        self.file_name = file_name


class DocumentTooLargeError(DocumentError):
    """A file over the library's size limit (the HTTP layer answers 413)."""

    def __init__(self, message: str, *, file_name: str, size: int, limit: int) -> None:
        super().__init__(message, file_name=file_name)
        self.size = size
        self.limit = limit


class SearchProviderError(ProviderError):
    """A web search provider was down, slow, rate-limited or answered nonsense.

    `transient` tells whether trying again later may help (timeouts, 429, 5xx)."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status_code: int | None = None,
        transient: bool = True,
    ) -> None:
        super().__init__(message, status_code=status_code)
        self.provider = provider
        self.transient = transient


class FetchError(ProviderError):
    """A web page could not be fetched or read: timeout, too large, wrong content type,
    an HTTP error or too many redirects. `url` is the address asked for."""

    def __init__(self, message: str, *, url: str, status_code: int | None = None) -> None:
        super().__init__(message, status_code=status_code)
        self.url = url


class BlockedAddressError(FetchError):
    """The fetch was refused: the URL (or a redirect) leads to a private, loopback,
    link-local, multicast, reserved or unspecified address, or is not http(s)."""
