"""What the user asks for: the input, its requirements, a budget and a threshold."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from .errors import InvalidTaskError
from .output.spec import OutputSpec
from .validators.base import Validator

__all__ = ["Budget", "BudgetPreset", "ChatMessage", "Requirement", "Task", "make_task"]

BudgetPreset = Literal["low", "medium", "high"]


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["system", "user", "assistant"]
    content: str


class Requirement(BaseModel):
    """One thing the answer must satisfy.

    `validator` is how it is checked: ``None`` for the LLM judge, the name of a
    registered code validator, a Python callable (which is registered on the fly), or a
    `Validator` (with its repair).
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    name: str = ""
    description: str
    is_mandatory: bool = False
    weight: float = Field(default=1.0, gt=0)
    validator: str | Validator | Callable[..., Any] | None = Field(default=None, exclude=True)
    validator_args: dict[str, Any] = Field(default_factory=dict)

    @field_validator("description")
    @classmethod
    def _description_not_empty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("a requirement needs a description, e.g. 'Use only lowercase'")
        return v.strip()

    @property
    def validator_name(self) -> str | None:
        if self.validator is None:
            return None
        if isinstance(self.validator, str):
            return self.validator
        if isinstance(self.validator, Validator):
            return self.validator.name
        return getattr(self.validator, "__name__", "validator")


_PRESETS: dict[str, dict[str, float]] = {
    # max_tokens counts input and output tokens of every call, judges included.
    "low": {"max_tokens": 6_000, "max_calls": 16},
    "medium": {"max_tokens": 20_000, "max_calls": 48},
    "high": {"max_tokens": 60_000, "max_calls": 128},
}


class Budget(BaseModel):
    """Hard caps on what a run may spend. Unset caps are unlimited, but at least one
    of `max_tokens`, `max_usd`, `max_calls` must be set so that a run always ends."""

    model_config = ConfigDict(extra="forbid")

    max_tokens: int | None = Field(default=None, gt=0)
    max_usd: float | None = Field(default=None, gt=0)
    max_calls: int | None = Field(default=None, gt=0)
    max_seconds: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _bounded(self) -> Budget:
        if self.max_tokens is None and self.max_usd is None and self.max_calls is None:
            raise ValueError(
                "a budget needs at least one of max_tokens, max_usd or max_calls "
                "(or use a preset: low, medium, high)"
            )
        return self

    @classmethod
    def preset(cls, name: str) -> Budget:
        try:
            caps = _PRESETS[name]
        except KeyError:
            raise InvalidTaskError(
                f"unknown budget preset {name!r}; use low, medium or high, or numeric caps "
                "such as max_tokens=4000"
            ) from None
        return cls(max_tokens=int(caps["max_tokens"]), max_calls=int(caps["max_calls"]))

    @classmethod
    def coerce(cls, value: Budget | str | dict[str, Any] | None) -> Budget:
        if value is None:
            return cls.preset("low")
        if isinstance(value, Budget):
            return value
        if isinstance(value, str):
            return cls.preset(value)
        if isinstance(value, dict):
            preset = value.get("preset")
            base = cls.preset(preset).model_dump() if preset else {}
            base.update({k: v for k, v in value.items() if k != "preset" and v is not None})
            try:
                return cls(**base)
            except ValidationError as exc:
                raise InvalidTaskError("invalid budget: " + _explain(exc, prefix="")) from None
        raise InvalidTaskError(f"budget must be low, medium, high or a dict of caps, not {value!r}")


DEFAULT_MODEL = "local:smollm2"


class Task(BaseModel):
    """Everything a run needs to know. Build one with `make_task` for clear errors."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    input: str | list[ChatMessage]
    requirements: list[Requirement] = Field(default_factory=list)
    budget: Budget = Field(default_factory=lambda: Budget.preset("low"))
    threshold: float = Field(default=1.0, ge=0.0, le=1.0)
    models: list[str] = Field(default_factory=lambda: [DEFAULT_MODEL])
    judge_model: str | None = None
    system_prompt: str | None = None
    output: OutputSpec | None = Field(default=None, exclude=True)
    """The output type: answers must be JSON it accepts (see `cadenza.output`)."""

    @field_validator("input")
    @classmethod
    def _input_not_empty(cls, v: str | list[ChatMessage]) -> str | list[ChatMessage]:
        if isinstance(v, str):
            if not v.strip():
                raise ValueError("the input is empty; give the instruction to carry out")
        else:
            if not v:
                raise ValueError("the input has no messages; give at least one user message")
            if v[-1].role != "user":
                raise ValueError("the last input message must come from the user")
        return v

    @field_validator("models")
    @classmethod
    def _models_not_empty(cls, v: list[str]) -> list[str]:
        if not v or any(not m.strip() for m in v):
            raise ValueError("name at least one model, e.g. local:smollm2")
        return v

    @model_validator(mode="after")
    def _name_requirements(self) -> Task:
        seen: set[str] = set()
        for i, req in enumerate(self.requirements):
            if not req.name:
                req.name = _slug(req.description) or f"requirement_{i + 1}"
            base, n = req.name, 2
            while req.name in seen:
                req.name = f"{base}_{n}"
                n += 1
            seen.add(req.name)
        return self

    def conversation(self) -> list[ChatMessage]:
        """The input as chat turns, with `system_prompt` and the input's own system
        messages merged into one system message first (`system_prompt` leading): many
        providers take a single system message only."""
        if isinstance(self.input, str):
            turns = [ChatMessage(role="user", content=self.input)]
        else:
            turns = list(self.input)
        system = [m.content for m in turns if m.role == "system"]
        if self.system_prompt:
            system.insert(0, self.system_prompt)
        rest = [m for m in turns if m.role != "system"]
        if not system:
            return rest
        return [ChatMessage(role="system", content="\n\n".join(system)), *rest]

    @property
    def instruction(self) -> str:
        """The user's instruction as text: the input, or its last user message."""
        if isinstance(self.input, str):
            return self.input
        return self.input[-1].content


def _slug(text: str, words: int = 5) -> str:
    tokens = re.findall(r"[a-z0-9]+", text.lower())[:words]
    return "_".join(tokens)


RequirementLike = Requirement | str | dict[str, Any]


def make_task(
    input: str | list[ChatMessage] | list[dict[str, str]],
    requirements: Sequence[RequirementLike] | None = None,
    *,
    budget: Budget | str | dict[str, Any] | None = None,
    threshold: float = 1.0,
    models: list[str] | str | None = None,
    judge_model: str | None = None,
    system_prompt: str | None = None,
    output_type: Any = None,
) -> Task:
    """Build a `Task`, turning pydantic's errors into one `InvalidTaskError` per mistake.

    `output_type`: a JSON Schema (dict) or a type (pydantic model, ``list[int]``, ...) the
    answer must be JSON for; None for free text."""
    output = OutputSpec.of(output_type) if output_type is not None else None
    reqs: list[Requirement] = []
    try:
        for r in requirements or []:
            if isinstance(r, Requirement):
                reqs.append(r)
            elif isinstance(r, str):
                reqs.append(Requirement(description=r))
            elif isinstance(r, dict):
                reqs.append(Requirement(**r))
            else:
                raise InvalidTaskError(
                    f"a requirement must be a string, a dict or a Requirement, not {r!r}"
                )
        model_list = [models] if isinstance(models, str) else (models or [DEFAULT_MODEL])
        return Task(
            input=input,
            requirements=reqs,
            budget=Budget.coerce(budget),
            threshold=threshold,
            models=model_list,
            judge_model=judge_model,
            system_prompt=system_prompt,
            output=output,
        )
    except ValidationError as exc:
        raise InvalidTaskError(_explain(exc)) from None


def _explain(exc: ValidationError, prefix: str = "invalid task: ") -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "task"
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {msg}")
    return prefix + "; ".join(parts)
