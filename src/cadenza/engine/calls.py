"""Executing one model call: budget, concurrency, timeout, retries and trace.

`CallRunner.call` is the only way the planner and the judge reach a model. Each attempt
waits for a slot of that model, then *reserves* the worst case in the ledger (refusing
the call if that does not fit), *attempts* the call under a timeout, and *settles* what
it used. Transient failures (429, 5xx, timeouts, dropped connections) are retried with
exponential backoff a bounded number of times; every attempt is in the trace node, and
so is a failure or a cancellation.

What an attempt is charged is what the ledger counts, and the node records exactly that,
so a run's usage is the sum of its trace. A failed attempt is charged its input tokens
when the provider may have read the request (a timeout or a dropped connection after
sending, a 5xx, a cancellation mid-call); nothing when it surely did not (connection
refused, unknown host, connect timeout, a 4xx or 429 answer).
"""

from __future__ import annotations

import asyncio
import random
import socket
import time
from dataclasses import dataclass, field

from ..errors import ProviderError, TransientProviderError, UnreachableProviderError
from ..models.base import Message, Model, ModelRequest, ModelResponse, ResponseFormat
from ..models.pricing import price_for
from ..result import NodeKind, TraceNode
from ..trace import TraceRecorder
from .budget import BudgetLedger, Reservation, Spent

__all__ = ["BudgetExhausted", "CallFailed", "CallRunner", "CallSettings"]


class BudgetExhausted(Exception):
    """The call cannot be afforded with what is left of the budget."""

    def __init__(self, message: str, *, last_error: str | None = None) -> None:
        super().__init__(message)
        self.last_error = last_error
        """The failure of the attempt before, when the budget ran out between retries."""


class CallFailed(Exception):
    """The call failed for good (after retries); the node holds the details."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class CallSettings:
    retries: int = 3
    """Extra attempts after a transient failure."""
    backoff_s: float = 0.5
    """First backoff; doubled each retry, with jitter."""
    timeout_s: float = 120.0
    """Per-attempt timeout (also capped by the run's deadline)."""


@dataclass
class _Call:
    """One call across its attempts: what to send, and how far it got."""

    kind: NodeKind
    parent: str | None
    model: Model
    messages: tuple[Message, ...]
    max_tokens: int
    min_tokens: int
    temperature: float
    seed: int | None
    candidate_id: str | None
    requirement: str | None
    response_format: ResponseFormat | None
    input_bound: int
    usd_per_input: float | None = None
    usd_per_output: float | None = None
    node: TraceNode | None = None
    attempt: int = 0
    last_error: str = ""
    started: float = field(default_factory=time.monotonic)

    def elapsed(self) -> float:
        return time.monotonic() - self.started


class CallRunner:
    def __init__(
        self,
        ledger: BudgetLedger,
        trace: TraceRecorder,
        settings: CallSettings | None = None,
    ) -> None:
        self.ledger = ledger
        self.trace = trace
        self.settings = settings or CallSettings()
        self._slots: dict[str, asyncio.Semaphore] = {}

    def _slot(self, model: Model) -> asyncio.Semaphore:
        sem = self._slots.get(model.name)
        if sem is None:
            sem = self._slots[model.name] = asyncio.Semaphore(max(1, model.max_concurrency))
        return sem

    async def call(
        self,
        *,
        kind: NodeKind,
        parent: str | None,
        model: Model,
        messages: tuple[Message, ...],
        max_tokens: int,
        min_tokens: int = 1,
        temperature: float = 0.0,
        seed: int | None = None,
        candidate_id: str | None = None,
        requirement: str | None = None,
        response_format: ResponseFormat | None = None,
    ) -> tuple[ModelResponse, TraceNode]:
        """Run one call; raise BudgetExhausted (nothing spent) or CallFailed.

        A call the budget cannot afford is never made and leaves no trace node; once
        made, its node records every attempt, and its failure or cancellation."""
        if response_format is not None and not model.supports(response_format):
            raise ValueError(
                f"{model.name} cannot enforce a {response_format.kind} response format; "
                "ask model.supports() first"
            )
        price = price_for(model.name)
        c = _Call(
            kind=kind,
            parent=parent,
            model=model,
            messages=messages,
            max_tokens=max_tokens,
            min_tokens=min_tokens,
            temperature=temperature,
            seed=seed,
            candidate_id=candidate_id,
            requirement=requirement,
            response_format=response_format,
            input_bound=await model.count_input_tokens(messages),
            usd_per_input=price.input_per_mtok / 1e6 if price else None,
            usd_per_output=price.output_per_mtok / 1e6 if price else None,
        )
        try:
            while True:
                c.attempt += 1
                outcome = await self._attempt(c)
                if isinstance(outcome, ModelResponse):
                    assert c.node is not None
                    return outcome, c.node
                await asyncio.sleep(outcome)  # the backoff, outside the slot: others may use it
        except asyncio.CancelledError:
            if c.node is not None and c.node.status == "running":
                self.trace.finish(c.node, "cancelled", latency_s=c.elapsed())
            raise

    async def _attempt(self, c: _Call) -> ModelResponse | float:
        """One attempt: the response, or the seconds to wait before the next attempt."""
        slot = self._slot(c.model)
        # Wait for a free slot of this model before reserving: a call that is cancelled
        # while queued was never made and costs nothing.
        await slot.acquire()
        try:
            reservation, out_cap = self._reserve(c)
            return await self._send(c, reservation, out_cap)
        finally:
            slot.release()

    def _reserve(self, c: _Call) -> tuple[Reservation, int]:
        """Hold the attempt's worst case in the ledger; start the node on the first one."""
        afford = self.ledger.max_output_tokens(
            c.input_bound,
            usd_per_input=c.usd_per_input or 0.0,
            usd_per_output=c.usd_per_output or 0.0,
        )
        out_cap = min(c.max_tokens, afford)
        reservation = None
        if out_cap >= c.min_tokens:
            reservation = self.ledger.reserve(
                c.input_bound,
                out_cap,
                usd_per_input=c.usd_per_input,
                usd_per_output=c.usd_per_output,
            )
        if reservation is None:
            if c.node is None:
                raise BudgetExhausted("budget exhausted")
            why = f"budget exhausted before a retry, after: {c.last_error}"
            self._fail(c, why)
            raise BudgetExhausted(why, last_error=c.last_error)
        if c.node is None:
            c.started = time.monotonic()
            c.node = self.trace.start(
                c.kind,
                parent=c.parent,
                model=c.model.name,
                messages=[m.as_dict() for m in c.messages],
                temperature=c.temperature,
                candidate_id=c.candidate_id,
                requirement=c.requirement,
            )
        c.node.attempts = c.attempt
        return reservation, out_cap

    async def _send(
        self, c: _Call, reservation: Reservation, out_cap: int
    ) -> ModelResponse | float:
        """Make the request; settle it, whatever happens."""
        timeout = self.settings.timeout_s
        left = self.ledger.seconds_left()
        if left is not None:
            timeout = max(0.01, min(timeout, left))
        request = ModelRequest(
            messages=c.messages,
            max_tokens=out_cap,
            temperature=c.temperature,
            seed=c.seed,
            timeout=timeout,
            response_format=c.response_format,
        )
        try:
            response = await asyncio.wait_for(c.model.complete(request), timeout)
        except asyncio.CancelledError:
            self._settle_failed(c, reservation, billed_input=True)
            raise
        except (TimeoutError, ConnectionError, TransientProviderError) as exc:
            self._settle_failed(c, reservation, billed_input=_may_have_read(exc))
            c.last_error = _describe(exc, timeout)
            if c.attempt > self.settings.retries:
                self._fail(c, c.last_error)
                raise CallFailed(c.last_error, permanent=False) from exc
            return self._backoff(c.attempt)
        except ProviderError as exc:
            self._settle_failed(c, reservation, billed_input=False)
            self._fail(c, str(exc))
            raise CallFailed(str(exc), permanent=True) from exc
        except Exception as exc:  # a provider bug: record it, never crash the run
            self._settle_failed(c, reservation, billed_input=True)
            msg = f"{type(exc).__name__}: {exc}"
            self._fail(c, msg)
            raise CallFailed(msg, permanent=True) from exc
        self._settle(c, reservation, response, out_cap)
        return response

    def _settle(
        self, c: _Call, reservation: Reservation, response: ModelResponse, out_cap: int
    ) -> None:
        """Charge a successful attempt and finish its node."""
        assert c.node is not None
        cost = None
        per_in, per_out = c.usd_per_input, c.usd_per_output
        if per_in is not None and per_out is not None:
            cost = response.input_tokens * per_in + response.output_tokens * per_out
        spent = self.ledger.settle(
            reservation,
            input_tokens=response.input_tokens,
            output_tokens=response.output_tokens,
            cost_usd=cost,
        )
        _charge(c.node, spent)
        detail: dict[str, object] = {"finish_reason": response.finish_reason, "max_tokens": out_cap}
        if c.response_format is not None:
            detail["constrained"] = c.response_format.kind
        gaps = response.extra.get("constraint_gaps")
        if gaps:  # what the provider could not enforce of the response format
            detail["constraint_gaps"] = gaps
        if (spent.input_tokens, spent.output_tokens) != (
            response.input_tokens,
            response.output_tokens,
        ):  # the provider counted more than the reserved bound: the ledger counts the bound
            detail["reported_tokens"] = {
                "input": response.input_tokens,
                "output": response.output_tokens,
            }
        self.trace.finish(
            c.node,
            "ok",
            response=response.text,
            latency_s=c.elapsed(),
            error=c.last_error or None,
            detail=detail,
        )

    def _settle_failed(self, c: _Call, reservation: Reservation, *, billed_input: bool) -> None:
        assert c.node is not None
        _charge(c.node, self.ledger.settle_failed(reservation, billed_input=billed_input))

    def _fail(self, c: _Call, error: str) -> None:
        assert c.node is not None
        self.trace.finish(c.node, "failed", error=error, latency_s=c.elapsed())

    def _backoff(self, attempt: int) -> float:
        base = self.settings.backoff_s * (2 ** (attempt - 1))
        delay: float = base * (0.5 + random.random() / 2)
        left = self.ledger.seconds_left()
        return delay if left is None else max(0.0, min(delay, left / 4))


def _charge(node: TraceNode, spent: Spent) -> None:
    """Add one settled attempt to its node: the node shows what the ledger counted."""
    node.input_tokens += spent.input_tokens
    node.output_tokens += spent.output_tokens
    if spent.cost_usd is None or node.cost_usd is None:
        node.cost_usd = None  # an unpriced model: its cost is unknown, not zero
    else:
        node.cost_usd += spent.cost_usd


_CONNECT_ERRORS = ("ConnectError", "ConnectTimeout")
_HTTP_LIBRARIES = ("httpx", "httpx2", "httpcore", "httpcore2")


def _may_have_read(exc: BaseException) -> bool:
    """False when the provider surely did not read the request: the connection was never
    made (refused, unknown host, connect timeout), or it answered 4xx / 429."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, UnreachableProviderError | ConnectionRefusedError | socket.gaierror):
            return False
        if isinstance(e, ProviderError) and e.status_code is not None and e.status_code < 500:
            return False
        kind = type(e)
        if kind.__name__ in _CONNECT_ERRORS and kind.__module__.split(".")[0] in _HTTP_LIBRARIES:
            return False
        e = e.__cause__ or (None if e.__suppress_context__ else e.__context__)
    return True


def _describe(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"timed out after {timeout:.1f} s"
    if isinstance(exc, ConnectionError):
        return f"connection failed ({type(exc).__name__}: {exc})"
    return str(exc) or type(exc).__name__
