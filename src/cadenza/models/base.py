"""The one model interface every provider implements.

A provider turns a `ModelRequest` into a `ModelResponse` or raises a `ProviderError`
(`TransientProviderError` for what a retry may fix). Everything else — retries,
budget, tracing, concurrency — lives in the engine, not in providers.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "Message",
    "Model",
    "ModelRequest",
    "ModelResponse",
    "ResponseFormat",
    "ResponseFormatKind",
    "Role",
]

Role = Literal["system", "user", "assistant"]
ResponseFormatKind = Literal["json_object", "json_schema", "grammar"]


@dataclass(frozen=True)
class Message:
    role: Role
    content: str

    def as_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True)
class ResponseFormat:
    """What the model may write, enforced while decoding on providers that support it.

    - ``json_object``: any JSON object;
    - ``json_schema``: JSON that matches `schema` (`name` and `strict` as OpenAI takes them);
    - ``grammar``: text that `grammar` (GBNF, llama.cpp's grammar format) accepts.

    A constraint narrows what the model can say; cadenza still validates what it said.
    """

    kind: ResponseFormatKind
    schema: Mapping[str, Any] | None = None
    grammar: str | None = None
    name: str = "output"
    strict: bool = True

    def __post_init__(self) -> None:
        if self.kind == "json_schema" and self.schema is None:
            raise ValueError("a json_schema response format needs a schema")
        if self.kind == "grammar" and not self.grammar:
            raise ValueError("a grammar response format needs a grammar")


@dataclass(frozen=True)
class ModelRequest:
    messages: tuple[Message, ...]
    max_tokens: int
    temperature: float = 0.0
    seed: int | None = None
    timeout: float | None = None
    """Seconds this one call may take; the provider raises TransientProviderError past it."""
    response_format: ResponseFormat | None = None
    """Constrain decoding; send one only to a model whose `supports` says yes."""


@dataclass(frozen=True)
class ModelResponse:
    text: str
    input_tokens: int
    output_tokens: int
    finish_reason: str = "stop"
    model: str = ""
    extra: dict[str, object] = field(default_factory=dict)


class Model(ABC):
    """A chat model. Subclasses implement `complete`; the rest has sane defaults."""

    name: str
    """The full name the user gave, e.g. ``local:smollm2`` or ``openai:gpt-4.1-mini``."""

    max_concurrency: int = 4
    """How many calls the engine may have in flight on this model at once."""

    @abstractmethod
    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Run one chat completion."""

    def supports(self, response_format: ResponseFormat) -> bool:
        """Whether this model enforces `response_format` while decoding. A provider that
        says no must not be sent one: validate the answer instead."""
        return False

    async def count_input_tokens(self, messages: tuple[Message, ...]) -> int:
        """An upper bound on the input tokens `messages` will be billed as.

        The default needs no tokenizer: byte-level tokenizers never make more tokens
        than bytes, plus a margin per message for the chat template. Providers that can
        tokenize exactly override this, so budgets are not reserved more than needed.
        """
        return sum(len(m.content.encode("utf-8")) + 8 for m in messages) + 8

    async def aclose(self) -> None:  # noqa: B027 (an optional hook, not abstract)
        """Release connections or processes the model holds."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"
