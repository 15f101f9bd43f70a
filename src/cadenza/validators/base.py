"""Code validators: plain Python callables that score a candidate, registered by name.

A validator takes the candidate text (and, if it accepts a second argument, a
`CheckContext`) and returns one of:

- a ``bool`` (pass = 1.0, fail = 0.0),
- a ``float`` score in 0..1,
- a `Verdict` with a score and a reason a model can act on.

It may be sync or async. Register it with ``@validator`` (or ``@validator("name")``)
so that a requirement can refer to it by name from Python, the CLI or HTTP. cadenza's
built-in checks (the IFEval ones, ``regex``) are registered on the first lookup; a name
you register yourself wins over a built-in of the same name.

`run_validator` runs a sync validator in a worker thread, never on the event loop, and
an async one on the loop; both under a time limit (`validator_time_limit`, default
`DEFAULT_TIME_LIMIT_S`). A validator past its limit fails its requirement with a
`ValidatorTimeoutError`. Python cannot stop a thread, so a sync validator that never
returns keeps its (daemon) worker busy; the run goes on without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import inspect
import math
import queue
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeAlias, overload

from ..errors import UnknownValidatorError, ValidatorError, ValidatorTimeoutError

__all__ = [
    "DEFAULT_TIME_LIMIT_S",
    "CheckContext",
    "RepairFn",
    "Validator",
    "ValidatorFn",
    "Verdict",
    "get_validator",
    "load_builtin_validators",
    "register_validator",
    "registered_validators",
    "run_validator",
    "validator",
    "validator_time_limit",
]


@dataclass(frozen=True)
class Verdict:
    """A validator's judgement of one candidate against one requirement."""

    score: float
    reason: str

    def __post_init__(self) -> None:
        if not (isinstance(self.score, int | float) and 0.0 <= self.score <= 1.0):
            raise ValueError(f"Verdict score must be in 0..1, got {self.score!r}")

    @property
    def passed(self) -> bool:
        return self.score >= 1.0


@dataclass(frozen=True)
class CheckContext:
    """What a validator may want besides the candidate itself."""

    instruction: str
    """The user's input, as text (the last user message when the input is a chat)."""
    requirement_name: str
    requirement_description: str
    args: Mapping[str, Any] = field(default_factory=dict)
    """The requirement's ``validator_args`` (e.g. ``{"num_words": 300}``)."""
    sources: Mapping[str, str] = field(default_factory=dict)
    """The passages the run retrieved, by the short id the model cites (``P1``): each
    passage's title and text. Empty when the run has no tools (file or web search)."""


ValidatorResult: TypeAlias = bool | float | Verdict
ValidatorFn: TypeAlias = Callable[..., ValidatorResult | Awaitable[ValidatorResult]]


RepairFn: TypeAlias = Callable[[str, CheckContext], str | None]


@dataclass(frozen=True)
class Validator:
    """A named code validator, optionally with a deterministic repair.

    A repair takes a failing candidate and returns a fixed text where a fix is safe and
    mechanical (lowercasing, removing commas), or None. The planner applies repairs only
    when repairs are on, and the trace marks a repaired candidate as such.
    """

    name: str
    fn: ValidatorFn
    description: str = ""
    repair: RepairFn | None = None

    @property
    def wants_context(self) -> bool:
        try:
            params = inspect.signature(self.fn).parameters.values()
        except (TypeError, ValueError):
            return False
        positional = [
            p
            for p in params
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
        ]
        return len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in positional)


_REGISTRY: dict[str, Validator] = {}
_BUILTIN_MODULES = (
    "cadenza.validators.ifeval",
    "cadenza.validators.regex",
    "cadenza.validators.json_checks",
    "cadenza.validators.combined",
    "cadenza.sources.checks",
)
_builtins_loaded = False
_builtins_lock = threading.Lock()


def register_validator(
    name: str,
    fn: ValidatorFn,
    *,
    description: str = "",
    repair: RepairFn | None = None,
    builtin: bool = False,
) -> Validator:
    """Register `fn` under `name`; a later registration under the same name replaces it.

    `builtin`: cadenza's own checks register this way; they never replace a name that
    is already registered (so your validator of the same name keeps it)."""
    if not name or not isinstance(name, str):
        raise ValueError("a validator needs a non-empty name")
    v = Validator(
        name=name, fn=fn, description=description or (inspect.getdoc(fn) or ""), repair=repair
    )
    if builtin:
        return _REGISTRY.setdefault(name, v)
    _REGISTRY[name] = v
    return v


def load_builtin_validators() -> None:
    """Register cadenza's built-in checks, once (every lookup calls this)."""
    global _builtins_loaded
    if _builtins_loaded:
        return
    with _builtins_lock:
        if not _builtins_loaded:
            for module in _BUILTIN_MODULES:
                importlib.import_module(module)
            _builtins_loaded = True


@overload
def validator(fn: ValidatorFn, /) -> ValidatorFn: ...
@overload
def validator(
    name: str | None = None, /, *, description: str = ""
) -> Callable[[ValidatorFn], ValidatorFn]: ...
def validator(
    arg: ValidatorFn | str | None = None, /, *, description: str = ""
) -> ValidatorFn | Callable[[ValidatorFn], ValidatorFn]:
    """Register a code validator: ``@validator`` or ``@validator("name")``."""
    if callable(arg):
        register_validator(getattr(arg, "__name__", "validator"), arg, description=description)
        return arg

    def deco(fn: ValidatorFn) -> ValidatorFn:
        name = arg if isinstance(arg, str) and arg else str(getattr(fn, "__name__", "validator"))
        register_validator(name, fn, description=description)
        return fn

    return deco


def get_validator(name: str) -> Validator:
    load_builtin_validators()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)[:12])
        raise UnknownValidatorError(
            f"no validator is registered as {name!r}; register it with @cadenza.validator"
            f"({name!r}) before the run, or use one of: {known}"
            + (" ..." if len(_REGISTRY) > 12 else "")
        ) from None


def registered_validators() -> dict[str, Validator]:
    load_builtin_validators()
    return dict(_REGISTRY)


def _to_verdict(value: object, name: str) -> Verdict:
    if isinstance(value, Verdict):
        return value
    if isinstance(value, bool):
        return Verdict(1.0 if value else 0.0, f"{name}: {'passed' if value else 'failed'}")
    if isinstance(value, int | float) and not math.isnan(value):
        if not 0.0 <= value <= 1.0:
            raise ValidatorError(
                f"validator {name!r} returned {value!r}; a score must be between 0 and 1"
            )
        return Verdict(float(value), f"{name}: score {float(value):.2f}")
    raise ValidatorError(
        f"validator {name!r} returned {type(value).__name__}; return a bool, a score in "
        "0..1, or a cadenza.Verdict"
    )


DEFAULT_TIME_LIMIT_S = 10.0
"""How long one validator call may take unless a run says otherwise."""

_time_limit: ContextVar[float | None] = ContextVar(
    "cadenza_validator_time_limit", default=DEFAULT_TIME_LIMIT_S
)


@contextlib.contextmanager
def validator_time_limit(seconds: float | None) -> Iterator[None]:
    """Validators run within this block (and tasks it starts) get `seconds` per call;
    None means no limit. A run sets it from ``RunOptions.validator_timeout_s``."""
    if seconds is not None and not seconds > 0:
        raise ValueError(f"a validator time limit must be > 0 seconds, not {seconds!r}")
    token = _time_limit.set(seconds)
    try:
        yield
    finally:
        _time_limit.reset(token)


_Job: TypeAlias = tuple[Callable[[], object], asyncio.AbstractEventLoop, "asyncio.Future[object]"]


class _Workers:
    """Daemon threads for sync validators. A worker stuck in a validator that never
    returns is not waited for (not at exit either); a new worker takes its place, up to
    `max_threads` alive, after which calls queue (and their time limit keeps running)."""

    def __init__(self, max_threads: int = 16) -> None:
        self.max_threads = max_threads
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0
        self._alive = 0

    def submit(self, fn: Callable[[], object]) -> asyncio.Future[object]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[object] = loop.create_future()
        with self._lock:
            start = self._idle == 0 and self._alive < self.max_threads
            if start:
                self._alive += 1
            else:
                self._idle -= 1
        self._jobs.put((fn, loop, future))
        if start:
            threading.Thread(target=self._work, name="cadenza-validator", daemon=True).start()
        return future

    def _work(self) -> None:
        while True:
            fn, loop, future = self._jobs.get()
            try:
                outcome: tuple[object, BaseException | None] = (fn(), None)
            except BaseException as exc:  # delivered to the caller, who decides
                outcome = (None, exc)
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                loop.call_soon_threadsafe(_deliver, future, *outcome)
            with self._lock:
                self._idle += 1


def _deliver(future: asyncio.Future[object], value: object, exc: BaseException | None) -> None:
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(value)


_WORKERS = _Workers()

_UNSET: Any = object()


async def run_validator(
    v: Validator, candidate: str, ctx: CheckContext, *, time_limit: float | None = _UNSET
) -> Verdict:
    """Call `v` off the event loop, within its time limit, and normalise what it returns.

    `time_limit` (seconds, None for none) defaults to the one `validator_time_limit`
    set, else `DEFAULT_TIME_LIMIT_S`. Any exception becomes a `ValidatorError`; running
    past the limit, a `ValidatorTimeoutError`."""
    limit = _time_limit.get() if time_limit is _UNSET else time_limit
    try:
        async with asyncio.timeout(limit) as deadline:
            out = await _call(v, candidate, ctx)
    except ValidatorError:
        raise
    except TimeoutError as exc:
        if deadline.expired():
            raise ValidatorTimeoutError(
                f"validator {v.name!r} did not finish within its time limit of {limit:g} s; "
                "make it faster, or raise the limit (RunOptions.validator_timeout_s)"
            ) from None
        raise _raised(v, exc) from exc
    except Exception as exc:
        raise _raised(v, exc) from exc
    return _to_verdict(out, v.name)


async def _call(v: Validator, candidate: str, ctx: CheckContext) -> object:
    def call() -> object:
        return v.fn(candidate, ctx) if v.wants_context else v.fn(candidate)

    out = call() if inspect.iscoroutinefunction(v.fn) else await _WORKERS.submit(call)
    if inspect.isawaitable(out):
        out = await out
    return out


def _raised(v: Validator, exc: BaseException) -> ValidatorError:
    return ValidatorError(
        f"validator {v.name!r} raised {type(exc).__name__}: {exc}; fix the validator "
        "so it returns a bool, a score in 0..1 or a Verdict"
    )
