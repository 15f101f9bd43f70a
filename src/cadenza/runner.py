"""`arun` and `run`: task in, result out. Everything else is one call away from here.

task -> planner (search) -> engine (calls, budget) -> models / validators -> trace -> result
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from .engine import BudgetLedger, CallRunner, CallSettings
from .errors import InvalidTaskError
from .models.base import Model
from .models.pricing import price_for
from .models.registry import resolve_model
from .output.requirement import output_value, with_output_requirement
from .planner import ActionKind, Outcome, Search, SearchSettings, default_kinds, overall_score
from .planner.evaluation import Evaluator
from .planner.priors import PriorSettings
from .priors import RunPriors
from .result import RequirementResult, RequirementsResult, Result
from .sources.actions import Retrieve
from .sources.choose import Extract
from .sources.retriever import RetrievalSettings, Retriever
from .sources.tools import Tool, ToolSet
from .store.priors import PriorTable
from .task import Budget, ChatMessage, Requirement, RequirementLike, Task, make_task
from .trace import RunEvent, TraceRecorder
from .validators.base import (
    DEFAULT_TIME_LIMIT_S,
    Validator,
    get_validator,
    validator_time_limit,
)

if TYPE_CHECKING:
    from .retrieval import Library
    from .web import WebSearcher

__all__ = ["SOURCE_REQUIREMENTS", "RunControl", "RunOptions", "arun", "arun_task", "run"]


@dataclass(frozen=True)
class RunOptions:
    """How cadenza searches, beyond the task itself. One object, passed everywhere."""

    search: SearchSettings = field(default_factory=SearchSettings)
    calls: CallSettings = field(default_factory=CallSettings)
    compile_requirements: bool = True
    """Attach exact code checks to plain-language requirements whose meaning is clear."""
    validator_timeout_s: float | None = DEFAULT_TIME_LIMIT_S
    """Time limit of one code-validator call; past it the requirement fails with a reason
    that says so. Sync validators run in worker threads, never on the event loop.
    None: no limit."""
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    """How a run with tools retrieves: passages per search, hops, how many are shown."""
    source_requirements: bool = True
    """With tools, add the built-in requirements ``cites_sources`` and ``grounded``
    (unless the task has them already)."""
    web: WebSearcher | None = None
    """The web searcher for `WebSearch` tools; None: one from the operator's environment
    (`WebSettings.from_env`)."""
    priors: bool = True
    """Use what earlier runs learned as the policy's prior, and add what this run learns
    (docs/planner.md, "Priors across runs"). False: neither read nor record."""
    prior_table: PriorTable | None = None
    """Where the priors are kept; None: the user's data directory (`default_prior_table`)."""
    prior_settings: PriorSettings = field(default_factory=PriorSettings)
    """How much the history counts against the defaults and the run's own evidence."""

    def __post_init__(self) -> None:
        t = self.validator_timeout_s
        if t is not None and not (isinstance(t, int | float) and t > 0):
            raise InvalidTaskError(f"validator_timeout_s must be > 0 seconds or None, not {t!r}")


class RunControl:
    """Lets another task cancel a run; the run then returns what it has."""

    def __init__(self) -> None:
        self._task: asyncio.Task[Outcome] | None = None
        self.cancel_requested = False

    def cancel(self) -> None:
        self.cancel_requested = True
        if self._task is not None:
            self._task.cancel()


ModelLike = str | Model


async def arun(
    input: str | list[ChatMessage] | list[dict[str, str]],
    requirements: Sequence[RequirementLike] | None = None,
    *,
    budget: Budget | str | dict[str, Any] | None = None,
    threshold: float = 1.0,
    models: list[ModelLike] | ModelLike | None = None,
    judge_model: ModelLike | None = None,
    system_prompt: str | None = None,
    output_type: Any = None,
    options: RunOptions | None = None,
    on_event: Callable[[RunEvent], None] | None = None,
    control: RunControl | None = None,
    tools: Sequence[Tool] | None = None,
    library: Library | str | None = None,
) -> Result:
    """Run `input` against `requirements` within `budget`; return the best result found.

    `tools`: `FileSearch(...)` and `WebSearch(...)`: the run retrieves passages, answers
    from them citing them (``[P1]``), and lists them in `Result.data_sources`.
    `library`: the document library a file search reads (a `Library` or a database
    URL; default: the default database's).

    With `output_type` (a pydantic model, a type such as ``list[int]``, or a JSON Schema
    dict) the answer must be JSON of that type: ``result.output`` is the validated value
    (None if no answer matched) and ``result.result`` its text. See docs/typed-results.md.

    >>> import cadenza
    >>> from cadenza.testing import ScriptedModel
    >>> fake = ScriptedModel(["Hello, World", "hello world"])
    >>> result = cadenza.run("Greet the world", [cadenza.Requirement(
    ...     description="no commas", validator=lambda text: "," not in text)], models=[fake])
    >>> result.result, result.requirements_result.finish_reason
    ('hello world', 'all_requirements_met')
    """
    model_list = _as_list(models)
    resolved = [resolve_model(m) for m in model_list] if model_list else None
    judge = resolve_model(judge_model) if judge_model is not None else None
    task = make_task(
        input,
        requirements,
        budget=budget,
        threshold=threshold,
        models=[m.name for m in resolved] if resolved else None,
        judge_model=judge.name if judge else None,
        system_prompt=system_prompt,
        output_type=output_type,
    )
    if not tools:
        return await arun_task(
            task, options=options, on_event=on_event, control=control, models=resolved, judge=judge
        )
    toolset = await ToolSet.open(tools, library=library, web=(options or RunOptions()).web)
    try:
        return await arun_task(
            task,
            options=options,
            on_event=on_event,
            control=control,
            models=resolved,
            judge=judge,
            tools=toolset,
        )
    finally:
        await toolset.aclose()


def _as_list(models: list[ModelLike] | ModelLike | None) -> list[ModelLike]:
    if models is None:
        return []
    if isinstance(models, str | Model):
        return [models]
    return list(models)


async def arun_task(
    task: Task,
    *,
    options: RunOptions | None = None,
    on_event: Callable[[RunEvent], None] | None = None,
    control: RunControl | None = None,
    models: list[Model] | None = None,
    judge: Model | None = None,
    tools: ToolSet | None = None,
) -> Result:
    """Run a prepared `Task`. Bad input raises a `UsageError` before anything is spent.

    `tools`: opened tools (`ToolSet.open`); the caller closes them."""
    options = options or RunOptions()
    started = time.monotonic()
    models = models or [resolve_model(name) for name in task.models]
    judge = judge or (resolve_model(task.judge_model) if task.judge_model else models[0])
    if task.budget.max_usd is not None:
        for m in [*models, judge]:
            if price_for(m.name) is None:
                raise InvalidTaskError(
                    f"max_usd cannot be enforced: model {m.name!r} has no known price; add "
                    "one with cadenza.register_price(...) or cap tokens with max_tokens"
                )
    requirements = _prepare_requirements(task.requirements, options.compile_requirements)
    if tools is not None and tools.tools and options.source_requirements:
        requirements = _with_source_requirements(
            requirements, short=options.retrieval.answer_style == "short"
        )
    task = task.model_copy(update={"requirements": requirements})
    task = with_output_requirement(task, models)
    code = {r.name: _code_validator(r) for r in task.requirements if r.validator is not None}

    trace = TraceRecorder(on_event)
    ledger = BudgetLedger(task.budget)
    calls = CallRunner(ledger, trace, options.calls)
    evaluator = Evaluator(task=task, code=code, judge=judge, calls=calls, trace=trace)
    retriever: Retriever | None = None
    kinds: list[ActionKind] | None = None
    search_settings = options.search
    if tools is not None and tools.tools:
        # Retrieval is a kind of action of its own: it runs first, then every answer
        # starts from the passages it chose.
        retriever = Retriever(tools, trace, task.instruction, options.retrieval)
        retrieve = Retrieve(retriever, task)
        extract = Extract.for_run(retrieve, options.retrieval, models)
        kinds = [
            retrieve,
            *([extract] if extract is not None else []),
            *default_kinds(search_settings, evaluator.code, task=task, models=models),
        ]
        if extract is not None and search_settings.first_round is None:
            # the extractive answer alone first: the free-form samples wait for its verdicts
            search_settings = replace(search_settings, first_round=1)
    search = Search(task, models, evaluator, calls, ledger, trace, search_settings, kinds=kinds)
    priors = RunPriors(options.prior_table, options.prior_settings, enabled=options.priors)
    await priors.load(search, models)

    with validator_time_limit(options.validator_timeout_s):
        outcome = await _drive(search, ledger, control)
    await priors.record(search.observations)
    trace.root.detail["priors"] = priors.detail
    return _result(
        task, outcome, ledger, trace, models, time.monotonic() - started, retriever=retriever
    )


async def _drive(search: Search, ledger: BudgetLedger, control: RunControl | None) -> Outcome:
    seconds = ledger.seconds_left()
    inner = asyncio.ensure_future(search.run())
    if control is not None:
        control._task = inner
        if control.cancel_requested:
            inner.cancel()
    try:
        async with asyncio.timeout(seconds):
            return await inner
    except TimeoutError:
        inner.cancel()
        await asyncio.gather(inner, return_exceptions=True)
        return Outcome(
            search.state,
            "budget_exhausted",
            f"budget exhausted: time limit of {ledger.budget.max_seconds:g} s reached",
        )
    except asyncio.CancelledError:
        inner.cancel()
        await asyncio.gather(inner, return_exceptions=True)
        if control is not None and control.cancel_requested:
            return Outcome(search.state, "cancelled", "cancelled on request")
        raise


SOURCE_REQUIREMENTS = (
    Requirement(
        name="cites_sources",
        description="Cite the passages the answer uses, like [P1], and only those",
        validator="cites_sources",
    ),
    Requirement(
        name="grounded",
        description="Say only what the cited passages support",
        validator="grounded",
    ),
)
"""The built-in requirements of an answer from retrieved passages, added to a run with
tools (`RunOptions.source_requirements`). Attach them by name in any run:
``Requirement(description=..., validator="grounded")``."""

SHORT_ANSWER_REQUIREMENT = Requirement(
    name="short_answer",
    description="Answer with a short phrase (at most 8 words) and its citation",
    validator="short_answer",
)
"""Added too when the answers are asked for short (`RetrievalSettings.answer_style`
``short``, the default): a long answer is cut to the phrase it gives (a repair, no call)."""


def _with_source_requirements(reqs: list[Requirement], *, short: bool) -> list[Requirement]:
    have = {r.validator_name for r in reqs} | {r.name for r in reqs}
    builtin = [*SOURCE_REQUIREMENTS, *([SHORT_ANSWER_REQUIREMENT] if short else [])]
    extra = [r.model_copy() for r in builtin if r.validator_name not in have]
    return [*reqs, *extra]


def _prepare_requirements(reqs: list[Requirement], compile_them: bool) -> list[Requirement]:
    if not compile_them:
        return list(reqs)
    from .validators.compiler import compile_requirements

    return compile_requirements(list(reqs), enabled=True)


def _code_validator(req: Requirement) -> Validator:
    v = req.validator
    if isinstance(v, Validator):
        return v
    if isinstance(v, str):
        return get_validator(v)
    if callable(v):
        return Validator(name=getattr(v, "__name__", req.name), fn=v)
    raise InvalidTaskError(f"requirement {req.name!r}: validator must be a name or a callable")


def _result(
    task: Task,
    outcome: Outcome,
    ledger: BudgetLedger,
    trace: TraceRecorder,
    models: list[Model],
    seconds: float,
    *,
    retriever: Retriever | None = None,
) -> Result:
    state = outcome.state
    best = state.best
    verdicts = best.verdicts if best else {}
    missing = {
        "budget_exhausted": "not checked: the budget ran out first",
        "cancelled": "not checked: the run was cancelled first",
        "error": "not checked: the run failed first",
    }.get(outcome.finish_reason, "not checked")
    reqs = []
    for r in task.requirements:
        j = verdicts.get(r.name)
        label = (
            j.validator
            if j
            else f"code:{r.validator_name}"
            if r.validator is not None
            else f"judge:{task.judge_model or models[0].name}"
        )
        reqs.append(
            RequirementResult(
                name=r.name,
                description=r.description,
                is_mandatory=r.is_mandatory,
                score=j.score if j else 0.0,
                reason=j.reason if j else (missing if best else "no candidate was produced"),
                validator=label,
                weight=r.weight,
            )
        )
    score = overall_score(task.requirements, verdicts) if best else 0.0
    root = trace.root
    sources = None
    if retriever is not None:
        sources = retriever.evidence.data_sources(best.text if best else "")
        root.detail["data_sources"] = sources.model_dump(mode="json")
    trace.finish(
        root,
        "failed" if outcome.finish_reason == "error" else "ok",
        input_tokens=ledger.usage.input_tokens,
        output_tokens=ledger.usage.output_tokens,
        cost_usd=ledger.usage.cost_usd,
        latency_s=seconds,
        response=best.text if best else None,
        candidate_id=best.id if best else None,
        error=outcome.message if outcome.finish_reason == "error" else None,
        scores={r.name: r.score for r in reqs},
    )
    return Result(
        result=best.text if best else "",
        output=output_value(task, best.text) if best else None,
        requirements_result=RequirementsResult(
            score=score,
            finish_reason=outcome.finish_reason,
            finish_message=outcome.message,
            requirements=reqs,
        ),
        usage=ledger.usage.model_copy(),
        trace=trace.snapshot(),
        best_candidate_id=best.id if best else None,
        models=[m.name for m in models],
        seconds=seconds,
        data_sources=sources,
    )


def run(*args: Any, **kwargs: Any) -> Result:
    """The synchronous form of `arun`, same arguments. Not for use inside an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(arun(*args, **kwargs))
    raise RuntimeError(
        "cadenza.run() was called inside a running event loop; use `await cadenza.arun(...)`"
    )
