"""`cadenza eval ifeval`: reproduce the published Maestro IFEval experiment on any model.

Arms, each scored at the end with IFEval's exact strict and loose checks:

- ``baseline``: one greedy call per prompt with the same model;
- ``cadenza``: a cadenza run. In ``code`` mode its requirements are the built-in checks
  built from ``instruction_id_list`` + ``kwargs``; in ``judge`` mode it gets only the
  plain-language sentences IFEval writes for each instruction, and validates them by its
  own means (requirement compiler, else the LLM judge);
- ``cadenza_no_repair``: the same without deterministic repairs, so the model's own
  improvement stays visible;
- ``cadenza_no_constrain`` and ``cadenza_no_repair_no_constrain``: the two above without
  constrained sampling (no answer is written under a grammar of the requirements; see
  planner/constrained.py), so its share of the result is visible;
- ``oracle``: best-of-K samples, the best picked by the exact checks (a reference no
  deployed system has: it knows the grader).

Progress is kept in ``DIR/results.jsonl`` (one line per prompt and arm), so an
interrupted evaluation resumes without redoing finished prompts.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..engine import BudgetExhausted, CallFailed
from ..errors import InvalidTaskError
from ..models.base import Message, Model
from ..models.registry import resolve_model
from ..planner import SearchSettings
from ..planner.policy import FIRST_TEMPERATURES
from ..planner.priors import PriorSettings
from ..result import Result
from ..runner import RunOptions, arun_task
from ..task import Budget, Requirement, make_task
from ..validators.ifeval import INSTRUCTION_IDS, score_response
from .ifeval_requirements import describe_instruction
from .resume import Progress
from .runs import by_arm, direct_calls, load_jsonl, run_arms, skipped_fields, write_report

__all__ = [
    "ARMS",
    "DEFAULT_ARMS",
    "ArmOutcome",
    "EvalConfig",
    "IFEvalRow",
    "load_rows",
    "run_ifeval",
    "score_responses",
    "summarize",
]

ARMS = (
    "baseline",
    "cadenza",
    "cadenza_no_repair",
    "cadenza_no_constrain",
    "cadenza_no_repair_no_constrain",
    "oracle",
)
DEFAULT_ARMS = ("baseline", "cadenza", "cadenza_no_repair", "oracle")
"""The arms run when none are named (the ``*_no_constrain`` ones on request)."""


@dataclass(frozen=True)
class IFEvalRow:
    key: str
    prompt: str
    instruction_id_list: list[str]
    kwargs: list[dict[str, Any]]


@dataclass
class ArmOutcome:
    key: str
    arm: str
    response: str
    strict: list[bool]
    loose: list[bool]
    tokens: int
    calls: int
    seconds: float
    finish_reason: str = ""
    constrained_calls: int = 0
    """Generations written under a grammar of the requirements (constrained sampling; a
    call whose server refused the grammar is not counted)."""
    constrained_cut_off: int = 0
    """Of those, the ones cut off at the token limit."""
    best_origin: str = ""
    """The kind of action that wrote the answer returned (sample, revise, repair,
    constrained_sample); a repair's is ``repair``."""


@dataclass(frozen=True)
class EvalConfig:
    data: Path
    out: Path
    model: str = "local:smollm2"
    budget: str | dict[str, Any] = "low"
    mode: str = "code"
    samples: int = 8
    limit: int | None = None
    arms: tuple[str, ...] = DEFAULT_ARMS
    max_output_tokens: int = 512
    priors: bool = True
    """cadenza's runs use and record priors learned across runs (`cadenza priors show`)."""
    priors_record_only: bool = False
    """cadenza's runs record priors but start from the defaults (a first pass to compare with)."""


# -- loading --------------------------------------------------------------------------
def load_rows(path: Path, *, limit: int | None = None) -> tuple[list[IFEvalRow], list[str]]:
    """Read IFEval-format rows; a bad row is skipped with a message naming it."""
    return load_jsonl(path, lambda data, _: _parse_row(data), limit=limit)


def _parse_row(data: Any) -> IFEvalRow:
    if not isinstance(data, dict):
        raise ValueError("a row must be a JSON object")
    missing = [k for k in ("key", "prompt", "instruction_id_list", "kwargs") if k not in data]
    if missing:
        raise ValueError(f"missing field(s) {', '.join(missing)}")
    ids, kwargs = data["instruction_id_list"], data["kwargs"]
    if not isinstance(ids, list) or not isinstance(kwargs, list) or len(ids) != len(kwargs):
        raise ValueError("instruction_id_list and kwargs must be lists of the same length")
    unknown = [i for i in ids if i not in INSTRUCTION_IDS]
    if unknown:
        raise ValueError(f"unknown instruction id(s) {', '.join(map(str, unknown))}")
    clean = [{k: v for k, v in (kw or {}).items() if v is not None} for kw in kwargs]
    row = IFEvalRow(str(data["key"]), str(data["prompt"]), list(ids), clean)
    # The checks validate their kwargs: a row they cannot score is a bad row.
    score_response(row.prompt, "", row.instruction_id_list, row.kwargs)
    for iid, kw in zip(ids, clean, strict=True):
        describe_instruction(iid, {**kw, "prompt_to_repeat": kw.get("prompt_to_repeat", "")})
    return row


# -- the arms ---------------------------------------------------------------------------
def requirements_for(row: IFEvalRow, mode: str) -> list[Requirement]:
    out = []
    for i, (iid, kw) in enumerate(zip(row.instruction_id_list, row.kwargs, strict=True)):
        args = dict(kw)
        if iid == "combination:repeat_prompt":
            args.setdefault("prompt_to_repeat", row.prompt)
        text = describe_instruction(iid, args)
        if mode == "code":
            out.append(
                Requirement(
                    name=f"{i + 1}_{iid}", description=text, validator=iid, validator_args=args
                )
            )
        else:
            out.append(Requirement(name=f"{i + 1}_{iid}", description=text))
    return out


def _score(row: IFEvalRow, response: str) -> tuple[list[bool], list[bool]]:
    verdicts = score_response(row.prompt, response, row.instruction_id_list, row.kwargs)
    return [s for _, s, _ in verdicts], [lo for _, _, lo in verdicts]


async def _run_arm(arm: str, row: IFEvalRow, cfg: EvalConfig, model: Model) -> ArmOutcome:
    started = time.monotonic()
    if arm == "oracle":
        return await _oracle(row, cfg, model, started)
    settings = SearchSettings(
        max_output_tokens=cfg.max_output_tokens,
        mention_requirements=False,  # IFEval prompts state their instructions already
        repairs=arm in ("cadenza", "cadenza_no_constrain"),
        constrain=not arm.endswith("_no_constrain"),
        width=1 if arm == "baseline" else None,
    )
    if arm == "baseline":
        reqs: list[Requirement] = []
        budget: Budget | str | dict[str, Any] = {"max_calls": 1}
    else:
        reqs = requirements_for(row, cfg.mode)
        budget = cfg.budget
    task = make_task(row.prompt, list(reqs), budget=budget, models=[model.name])
    result: Result = await arun_task(
        task,
        models=[model],
        options=RunOptions(
            search=settings,
            compile_requirements=cfg.mode == "judge",
            priors=cfg.priors and arm != "baseline",
            prior_settings=PriorSettings(use=not cfg.priors_record_only),
        ),
    )
    strict, loose = _score(row, result.result)
    constrained = [
        n
        for n in result.trace
        if n.kind == "generate"
        and n.detail.get("constrained") == "grammar"
        and not n.detail.get("grammar", {}).get("refused")
    ]
    cut_off = sum(1 for n in constrained if n.detail.get("finish_reason") == "length")
    return ArmOutcome(
        row.key,
        arm,
        result.result,
        strict,
        loose,
        result.usage.total_tokens,
        result.usage.calls,
        time.monotonic() - started,
        result.requirements_result.finish_reason,
        constrained_calls=len(constrained),
        constrained_cut_off=cut_off,
        best_origin=_origin(result),
    )


def _origin(result: Result) -> str:
    """The kind of action that wrote `result`'s answer, from its trace."""
    for node in result.trace:
        if node.candidate_id != result.best_candidate_id or node.kind not in (
            "generate",
            "revise",
            "repair",
        ):
            continue
        if node.kind == "generate":
            return "constrained_sample" if node.detail.get("constrained") == "grammar" else "sample"
        return str(node.kind)
    return ""


async def _oracle(row: IFEvalRow, cfg: EvalConfig, model: Model, started: float) -> ArmOutcome:
    """K samples (the first greedy), the best chosen by the exact strict checks."""
    ledger, calls = direct_calls(cfg.samples)
    messages = (Message("user", row.prompt),)

    async def one(i: int) -> str | None:
        try:
            response, _ = await calls.call(
                kind="generate",
                parent=None,
                model=model,
                messages=messages,
                max_tokens=cfg.max_output_tokens,
                temperature=FIRST_TEMPERATURES[i % len(FIRST_TEMPERATURES)],
            )
        except (BudgetExhausted, CallFailed):
            return None
        return response.text.strip()

    texts = [
        t for t in await asyncio.gather(*(one(i) for i in range(cfg.samples))) if t is not None
    ]
    best, best_key = "", (-1, -1)
    for text in texts:
        strict, loose = _score(row, text)
        key = (sum(strict), sum(loose))
        if key > best_key:
            best, best_key = text, key
    strict, loose = _score(row, best)
    return ArmOutcome(
        row.key,
        "oracle",
        best,
        strict,
        loose,
        ledger.usage.total_tokens,
        ledger.usage.calls,
        time.monotonic() - started,
    )


# -- the whole evaluation ---------------------------------------------------------------
async def run_ifeval(cfg: EvalConfig, *, on_progress: Progress | None = None) -> dict[str, Any]:
    """Run every arm on every row (resuming from ``out/results.jsonl``); write the report."""
    if cfg.mode not in ("code", "judge"):
        raise InvalidTaskError(f"mode must be 'code' or 'judge', not {cfg.mode!r}")
    if cfg.samples < 1:
        raise InvalidTaskError("--samples must be at least 1")
    Budget.coerce(cfg.budget)
    rows, skipped = load_rows(cfg.data, limit=cfg.limit)
    model = resolve_model(cfg.model)
    cfg.out.mkdir(parents=True, exist_ok=True)
    outcomes = await run_arms(
        rows,
        cfg.arms,
        lambda row, arm: _run_arm(arm, row, cfg, model),
        cfg.out,
        item_key=lambda row: row.key,
        outcome_key=lambda o: o.key,
        parse=lambda d: ArmOutcome(**d),
        on_progress=on_progress,
    )
    return write_report(cfg.out, summarize(outcomes, cfg, len(rows), skipped))


def summarize(
    outcomes: Iterable[ArmOutcome], cfg: EvalConfig, n_prompts: int, skipped: Sequence[str]
) -> dict[str, Any]:
    arms: dict[str, dict[str, Any]] = {}
    for arm, rows in by_arm(outcomes, cfg.arms).items():
        n = len(rows)
        instr_s = [x for o in rows for x in o.strict]
        instr_l = [x for o in rows for x in o.loose]
        arms[arm] = {
            "prompt_strict": sum(all(o.strict) for o in rows) / n,
            "prompt_loose": sum(all(o.loose) for o in rows) / n,
            "instruction_strict": sum(instr_s) / max(1, len(instr_s)),
            "instruction_loose": sum(instr_l) / max(1, len(instr_l)),
            "tokens_per_prompt": sum(o.tokens for o in rows) / n,
            "calls_per_prompt": sum(o.calls for o in rows) / n,
            "seconds_per_prompt": sum(o.seconds for o in rows) / n,
            "constrained_calls_per_prompt": sum(o.constrained_calls for o in rows) / n,
            "constrained_cut_off_share": (
                sum(o.constrained_cut_off for o in rows)
                / max(1, sum(o.constrained_calls for o in rows))
            ),
            "n": n,
        }
        origins = Counter(o.best_origin for o in rows if o.best_origin)
        if origins:
            arms[arm]["best_from"] = {k: v / n for k, v in sorted(origins.items())}
    return {
        "arms": arms,
        "n_prompts": n_prompts,
        "model": cfg.model,
        "mode": cfg.mode,
        "budget": cfg.budget,
        "samples": cfg.samples,
        **skipped_fields(skipped),
    }


# -- scoring responses produced elsewhere ------------------------------------------------
def score_responses(
    rows: Sequence[IFEvalRow], responses: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """One verdict per response row, in order: ``{"key", "instructions": [{"id", "strict",
    "loose"}]}``. A response whose key has no prompt row raises InvalidTaskError."""
    by_key = {r.key: r for r in rows}
    out = []
    for i, resp in enumerate(responses, 1):
        key = str(resp.get("key"))
        row = by_key.get(key)
        if row is None:
            raise InvalidTaskError(f"response row {i}: no prompt with key {key!r} in the data")
        text = resp.get("response")
        if not isinstance(text, str):
            raise InvalidTaskError(f"response row {i}: 'response' must be a string")
        verdicts = score_response(row.prompt, text, row.instruction_id_list, row.kwargs)
        out.append(
            {
                "key": resp.get("key"),
                "instructions": [{"id": iid, "strict": s, "loose": lo} for iid, s, lo in verdicts],
            }
        )
    return out
