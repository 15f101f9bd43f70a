"""The one model interface every provider implements.

A provider turns a `ModelRequest` into a `ModelResponse` or raises a `ProviderError`
(`TransientProviderError` for what a retry may fix). Everything else — retries,
budget, tracing, concurrency — lives in the engine, not in providers.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Message", "Model", "ModelRequest", "ModelResponse", "Role"]

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class Message:
    role: Role
    content: str

    def as_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True)
class ModelRequest:
    messages: tuple[Message, ...]
    max_tokens: int
    temperature: float = 0.0
    seed: int | None = None
    timeout: float | None = None
    """Seconds this one call may take; the provider raises TransientProviderError past it."""


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
