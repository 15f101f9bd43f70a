"""Why the run service refuses or cannot do something. It raises these; the app's error
handlers (`errors.py`) turn them into HTTP answers, so the service knows nothing of HTTP.

    RunServiceError
    ├── RunRequestError           the request cannot run as asked: fix it           422
    │   ├── ModelNotAllowed       it names a model this server does not offer        400
    │   └── BudgetOverCeiling     it asks for more than the server's ceiling         422
    ├── RunNotFound               no such run, or not one this caller may see        404
    ├── RunNotInProgress          only a run in progress can be cancelled            409
    ├── ServerBusy                a limit is reached; retry after `retry_after` s    429
    └── ServiceUnavailable        try again later                                    503
        ├── ShuttingDown
        ├── ModelUnavailable      a configured model cannot be set up (see the log)
        └── RunNotStored          the database refused the new run

Messages say what to do; none carries an exception's text from below (an upstream's body,
a path, a driver's message): those go to the server log.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "BudgetOverCeiling",
    "ModelNotAllowed",
    "ModelUnavailable",
    "RunNotFound",
    "RunNotInProgress",
    "RunNotStored",
    "RunRequestError",
    "RunServiceError",
    "ServerBusy",
    "ServiceUnavailable",
    "ShuttingDown",
]


class RunServiceError(Exception):
    code: str = "run_service_error"

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


class RunRequestError(RunServiceError):
    code = "invalid_request"

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None):
        super().__init__(message, param=param)
        if code is not None:
            self.code = code


class ModelNotAllowed(RunRequestError):
    code = "model_not_allowed"

    def __init__(
        self, name: str, *, param: str, allowed: Sequence[str], fake_allowed: bool = False
    ) -> None:
        names = ", ".join(repr(n) for n in allowed)
        fake = " or any 'fake:<name>'" if fake_allowed else ""
        super().__init__(
            f"{param}: {name[:200]!r} is not a model this server offers; name one of "
            f"{names}{fake}, or leave it out for the server's default",
            param=param,
        )
        self.name = name
        self.allowed = tuple(allowed)


class BudgetOverCeiling(RunRequestError):
    code = "budget_over_ceiling"

    def __init__(self, field: str, value: float, ceiling: float, option: str) -> None:
        super().__init__(
            f"budget.{field}: {value:g} is more than this server allows for one run "
            f"({ceiling:g}, set by {option}); ask for at most {ceiling:g}",
            param=f"budget.{field}",
        )
        self.field = field
        self.ceiling = ceiling


class RunNotFound(RunServiceError):
    code = "run_not_found"

    def __init__(self, run_id: str) -> None:
        super().__init__(f"no run with id {run_id[:100]!r}", param="id")
        self.run_id = run_id


class RunNotInProgress(RunServiceError):
    code = "run_not_in_progress"

    def __init__(self, run_id: str, status: str) -> None:
        super().__init__(
            f"run {run_id} is already {status}; only a run in progress can be cancelled",
            param="id",
        )
        self.status = status


class ServerBusy(RunServiceError):
    code = "rate_limit_exceeded"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)


class ServiceUnavailable(RunServiceError):
    code = "service_unavailable"


class ShuttingDown(ServiceUnavailable):
    def __init__(self) -> None:
        super().__init__("the server is shutting down; try again shortly")


class ModelUnavailable(ServiceUnavailable):
    code = "model_unavailable"

    def __init__(self, name: str) -> None:
        super().__init__(
            f"model {name!r} is offered by this server but could not be set up; "
            "the server log says why (tell its operator)",
            param="models",
        )


class RunNotStored(ServiceUnavailable):
    def __init__(self) -> None:
        super().__init__("the run could not be stored; see the server log")
