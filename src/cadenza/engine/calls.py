"""Executing one model call: budget, concurrency, timeout, retries and trace.

`CallRunner.call` is the only way the planner and the judge reach a model. For each
attempt it reserves the worst case in the ledger (refusing the call if that does not
fit), waits for a slot of that model, runs the call under a timeout, and settles the
real usage. Transient failures (429, 5xx, timeouts, dropped connections) are retried
with exponential backoff a bounded number of times; every attempt is in the trace
node, and so is a failure or a cancellation.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass

from ..errors import ProviderError, TransientProviderError
from ..models.base import Message, Model, ModelRequest, ModelResponse, ResponseFormat
from ..models.pricing import price_for
from ..result import NodeKind, TraceNode
from ..trace import TraceRecorder
from .budget import BudgetLedger

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
        node: TraceNode | None = None
        price = price_for(model.name)
        per_in = price.input_per_mtok / 1e6 if price else None
        per_out = price.output_per_mtok / 1e6 if price else None
        started = time.monotonic()
        last_error = ""
        input_bound = await model.count_input_tokens(messages)
        attempt = 0
        try:
            slot = self._slot(model)
            while True:
                attempt += 1
                retry_in: float | None = None
                # Wait for a free slot of this model before reserving: a call that is
                # cancelled while queued was never made and costs nothing.
                await slot.acquire()
                try:
                    afford = self.ledger.max_output_tokens(
                        input_bound, usd_per_input=per_in or 0.0, usd_per_output=per_out or 0.0
                    )
                    out_cap = min(max_tokens, afford)
                    reservation = (
                        self.ledger.reserve(
                            input_bound, out_cap, usd_per_input=per_in, usd_per_output=per_out
                        )
                        if out_cap >= min_tokens
                        else None
                    )
                    if reservation is None:
                        if node is None:
                            raise BudgetExhausted("budget exhausted")
                        why = f"budget exhausted before a retry, after: {last_error}"
                        self.trace.finish(
                            node, "failed", error=why, latency_s=time.monotonic() - started
                        )
                        raise BudgetExhausted(why, last_error=last_error)
                    if node is None:
                        started = time.monotonic()
                        node = self.trace.start(
                            kind,
                            parent=parent,
                            model=model.name,
                            messages=[m.as_dict() for m in messages],
                            temperature=temperature,
                            candidate_id=candidate_id,
                            requirement=requirement,
                        )
                    node.attempts = attempt
                    timeout = self.settings.timeout_s
                    left = self.ledger.seconds_left()
                    if left is not None:
                        timeout = max(0.01, min(timeout, left))
                    request = ModelRequest(
                        messages=messages,
                        max_tokens=out_cap,
                        temperature=temperature,
                        seed=seed,
                        timeout=timeout,
                        response_format=response_format,
                    )
                    try:
                        response = await asyncio.wait_for(model.complete(request), timeout)
                    except asyncio.CancelledError:
                        self.ledger.settle_failed(reservation, billed_input=True)
                        raise
                    except (TimeoutError, ConnectionError, TransientProviderError) as exc:
                        self.ledger.settle_failed(reservation, billed_input=True)
                        last_error = _describe(exc, timeout)
                        if attempt > self.settings.retries:
                            self.trace.finish(
                                node,
                                "failed",
                                error=last_error,
                                latency_s=time.monotonic() - started,
                            )
                            raise CallFailed(last_error, permanent=False) from exc
                        retry_in = self._backoff(attempt)
                    except ProviderError as exc:
                        self.ledger.settle_failed(reservation, billed_input=False)
                        self.trace.finish(
                            node, "failed", error=str(exc), latency_s=time.monotonic() - started
                        )
                        raise CallFailed(str(exc), permanent=True) from exc
                    except Exception as exc:  # a provider bug: record it, never crash the run
                        self.ledger.settle_failed(reservation, billed_input=True)
                        msg = f"{type(exc).__name__}: {exc}"
                        self.trace.finish(
                            node, "failed", error=msg, latency_s=time.monotonic() - started
                        )
                        raise CallFailed(msg, permanent=True) from exc
                finally:
                    slot.release()
                if retry_in is not None:
                    await asyncio.sleep(retry_in)  # outside the slot: others may use it
                    continue
                cost = None
                if per_in is not None and per_out is not None:
                    cost = response.input_tokens * per_in + response.output_tokens * per_out
                self.ledger.settle(
                    reservation,
                    input_tokens=response.input_tokens,
                    output_tokens=response.output_tokens,
                    cost_usd=cost,
                )
                self.trace.finish(
                    node,
                    "ok",
                    response=response.text,
                    input_tokens=response.input_tokens,
                    output_tokens=response.output_tokens,
                    cost_usd=cost,
                    latency_s=time.monotonic() - started,
                    error=last_error or None,
                    detail={
                        "finish_reason": response.finish_reason,
                        "max_tokens": out_cap,
                        **({"constrained": response_format.kind} if response_format else {}),
                        **_constraint_gaps(response),
                    },
                )
                return response, node
        except asyncio.CancelledError:
            if node is not None and node.status == "running":
                self.trace.finish(node, "cancelled", latency_s=time.monotonic() - started)
            raise

    def _backoff(self, attempt: int) -> float:
        base = self.settings.backoff_s * (2 ** (attempt - 1))
        delay: float = base * (0.5 + random.random() / 2)
        left = self.ledger.seconds_left()
        return delay if left is None else max(0.0, min(delay, left / 4))


def _constraint_gaps(response: ModelResponse) -> dict[str, object]:
    """What the provider could not enforce of the response format, for the trace."""
    gaps = response.extra.get("constraint_gaps")
    return {"constraint_gaps": gaps} if gaps else {}


def _describe(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"timed out after {timeout:.1f} s"
    if isinstance(exc, ConnectionError):
        return f"connection failed ({type(exc).__name__}: {exc})"
    return str(exc) or type(exc).__name__
