"""How a typed result takes part in a run.

- `with_output_requirement` adds the mandatory requirement ``output_schema``: a code check
  whose reason lists the validation errors (so revisions get them as feedback), with a
  repair that only removes (a Markdown fence, forbidden properties). Where every
  generating model enforces the schema while decoding, the prompt just asks for JSON;
  elsewhere it shows the schema.
- `response_format_for` is the constraint for one generation: the schema, tightened one
  level each time an answer was cut off at the token limit (see constraint.py), at the
  tightest level the model says it supports; None when it supports none.
- `output_value` is the typed value of the run's best answer, or None.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import InvalidTaskError
from ..models.base import Model, ResponseFormat
from ..task import ChatMessage, Requirement, Task
from ..validators.base import CheckContext, Validator, Verdict
from .constraint import MAX_LEVEL
from .parse import CUT_OFF
from .spec import OutputSpec

if TYPE_CHECKING:
    from ..planner.state import RunState

__all__ = [
    "OUTPUT_DESCRIPTION",
    "OUTPUT_REQUIREMENT",
    "constrains",
    "output_instruction",
    "output_validator",
    "output_value",
    "response_format_for",
    "with_output_requirement",
]

OUTPUT_REQUIREMENT = "output_schema"
"""The name of the requirement a typed result adds (reserved when output_type is given)."""


def _format(spec: OutputSpec, level: int) -> ResponseFormat:
    return ResponseFormat(
        kind="json_schema", schema=spec.engine_schema(level), name=spec.name, strict=True
    )


def constrains(spec: OutputSpec, model: Model) -> bool:
    """Whether `model` enforces `spec` (at some level) while decoding."""
    return any(model.supports(_format(spec, level)) for level in range(MAX_LEVEL + 1))


def output_validator(spec: OutputSpec) -> Validator:
    """The code check (and its repair) of the ``output_schema`` requirement."""
    notes: dict[str, tuple[str, ...]] = {}
    """Repaired text -> what the repair removed, so the repaired candidate's check says it."""

    def check(text: str) -> Verdict:
        checked = spec.check(text)
        reason = checked.reason
        if text in notes:
            reason += " (after cadenza " + "; ".join(notes[text]) + ")"
        return Verdict(checked.score, reason)

    def repair(text: str, ctx: CheckContext) -> str | None:
        fixed = spec.repair(text)
        if fixed is None:
            return None
        notes[fixed.text] = fixed.notes
        return fixed.text

    return Validator(
        name=OUTPUT_REQUIREMENT,
        fn=check,
        description=f"the answer is one JSON value matching the {spec.name} schema",
        repair=repair,
    )


OUTPUT_DESCRIPTION = "Reply with only a JSON value, with no other text"
"""The requirement as a revision names it; every `output_instruction` states it."""


def output_instruction(spec: OutputSpec, *, constrained: bool) -> str:
    """What the prompt asks for: the schema itself, unless decoding enforces it."""
    if constrained:
        return f"{OUTPUT_DESCRIPTION}."
    return f"{OUTPUT_DESCRIPTION}, that validates against this JSON Schema: {spec.prompt_schema()}"


def with_output_requirement(task: Task, models: Sequence[Model]) -> Task:
    """`task` with the mandatory ``output_schema`` requirement added, when it has an
    output type; unchanged otherwise.

    The output instruction is appended to the input itself, so that every prompt holds it
    (the planner's samples of the input "as written" too) and a revision names the
    requirement without repeating the schema."""
    spec = task.output
    if spec is None:
        return task
    if any(r.name == OUTPUT_REQUIREMENT for r in task.requirements):
        raise InvalidTaskError(
            f"the requirement name {OUTPUT_REQUIREMENT!r} is reserved for the output type's "
            "schema check; rename your requirement"
        )
    constrained = bool(models) and all(constrains(spec, m) for m in models)
    req = Requirement(
        name=OUTPUT_REQUIREMENT,
        description=OUTPUT_DESCRIPTION,
        is_mandatory=True,
        validator=output_validator(spec),
    )
    instruction = output_instruction(spec, constrained=constrained)
    return task.model_copy(
        update={
            "input": _with_instruction(task.input, instruction),
            "requirements": [*task.requirements, req],
        }
    )


def _with_instruction(input: str | list[ChatMessage], instruction: str) -> str | list[ChatMessage]:
    if isinstance(input, str):
        return f"{input.rstrip()}\n\n{instruction}"
    last = input[-1]
    return [
        *input[:-1],
        last.model_copy(update={"content": f"{last.content.rstrip()}\n\n{instruction}"}),
    ]


def tightening_level(state: RunState | None) -> int:
    """One level per answer so far that was cut off before its JSON value closed."""
    if state is None:
        return 0
    cut = sum(
        1
        for c in state.candidates.values()
        if c.origin != "repair"
        and (v := c.verdicts.get(OUTPUT_REQUIREMENT)) is not None
        and CUT_OFF in v.reason
    )
    return min(MAX_LEVEL, cut)


def response_format_for(
    task: Task, model: Model, state: RunState | None = None
) -> ResponseFormat | None:
    """The constraint for one generation by `model`, or None (the prompt shows the schema
    and cadenza validates)."""
    spec = task.output
    if spec is None:
        return None
    for level in range(tightening_level(state), -1, -1):
        fmt = _format(spec, level)
        if model.supports(fmt):
            return fmt
    return None


def output_value(task: Task, text: str | None) -> Any:
    """The typed value of `text` (the best answer), or None if it does not check."""
    if task.output is None or text is None:
        return None
    return task.output.value(text)
