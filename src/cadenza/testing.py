"""Test doubles for your own pipelines: a scripted model that needs no network.

    from cadenza.testing import ScriptedModel

    model = ScriptedModel(["first answer", "better answer"], judge=lambda req, text: 1.0)
    result = cadenza.run("Say hi", ["Be polite"], models=[model])

`ScriptedModel` answers generation calls from a queue of scripted responses (strings,
exceptions to raise, or functions of the request), and answers judge calls with a
function of (requirement, candidate) so that tests say what "good" means without
writing judge prompts. Token counts are whitespace words, so they are predictable.

The name ``fake:<anything>`` resolves to a `ScriptedModel`: `register_fake_provider`
registers it through `cadenza.models.registry.register_provider` (``import cadenza``
calls it; the registry itself knows nothing of this module).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import deque
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field

from .judge_format import CANDIDATE_TAG
from .models.base import Message, Model, ModelRequest, ModelResponse, ResponseFormat
from .models.registry import register_provider

__all__ = ["JUDGE_MARKER", "ScriptedModel", "count_words", "register_fake_provider"]

JUDGE_MARKER = f"<{CANDIDATE_TAG}>"
"""Judge prompts carry the candidate between these tags; the fake spots them by it."""

Script = str | BaseException | Callable[[ModelRequest], str]
JudgeFn = Callable[[str, str], float | str]


def count_words(text: str) -> int:
    return len(text.split())


@dataclass
class ScriptedModel(Model):
    """A fake model driven by a script.

    - `responses`: used in order for generation and revision calls; when it runs out,
      `default` is used (or the last response again).
    - `judge`: ``f(requirement_description, candidate) -> score | raw judge text``;
      a float in 0..1 is rendered as a well-formed judge answer.
    - `delay`: seconds each call takes (to test parallelism and deadlines).
    - `formats`: the response format kinds (``"json_object"``, ``"json_schema"``,
      ``"grammar"``) it claims to enforce (`supports`); it enforces nothing, but answers
      judge calls in the form asked for, and records every request's `response_format`.
    """

    responses: Iterable[Script] = ()
    judge: JudgeFn | None = None
    name: str = "fake:scripted"
    default: Script | None = None
    delay: float = 0.0
    max_concurrency: int = 4
    formats: Collection[str] = ()
    requests: list[ModelRequest] = field(default_factory=list)
    _queue: deque[Script] = field(default_factory=deque, init=False, repr=False)
    _last: Script | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._queue = deque(self.responses)

    def enqueue(self, *items: Script) -> None:
        self._queue.extend(items)

    @property
    def generation_requests(self) -> list[ModelRequest]:
        return [r for r in self.requests if not _is_judge(r)]

    @property
    def judge_requests(self) -> list[ModelRequest]:
        return [r for r in self.requests if _is_judge(r)]

    async def complete(self, request: ModelRequest) -> ModelResponse:
        self.requests.append(request)
        if self.delay:
            await asyncio.sleep(self.delay)
        text = self._judge(request) if _is_judge(request) else self._next(request)
        words = text.split()
        finish = "stop"
        if len(words) > request.max_tokens:
            text, finish = " ".join(words[: request.max_tokens]), "length"
        return ModelResponse(
            text=text,
            input_tokens=sum(count_words(m.content) for m in request.messages),
            output_tokens=min(count_words(text), request.max_tokens),
            finish_reason=finish,
            model=self.name,
        )

    async def count_input_tokens(self, messages: tuple[Message, ...]) -> int:
        return sum(count_words(m.content) for m in messages)

    def supports(self, response_format: ResponseFormat) -> bool:
        return response_format.kind in self.formats

    def _next(self, request: ModelRequest) -> str:
        if self._queue:
            item = self._queue.popleft()
            self._last = item
        elif self.default is not None:
            item = self.default
        elif self._last is not None:
            item = self._last
        else:
            return "scripted answer"
        if isinstance(item, BaseException):
            raise item
        return item(request) if callable(item) else item

    def _judge(self, request: ModelRequest) -> str:
        prompt = request.messages[-1].content
        m = re.search(rf"<{CANDIDATE_TAG}>\n?(.*?)\n?</{CANDIDATE_TAG}>", prompt, re.S)
        candidate = m.group(1) if m else ""
        r = re.search(r"Requirement:\s*(.*?)\n", prompt)
        requirement = r.group(1).strip() if r else ""
        if self.judge is None:
            score, reason = 10, "scripted judge accepts everything"
        else:
            verdict = self.judge(requirement, candidate)
            if isinstance(verdict, str):
                return verdict
            score, reason = round(verdict * 10), f"scripted judge gave {verdict:.2f}"
        fmt = request.response_format
        if fmt is not None and fmt.kind != "grammar":
            return json.dumps({"score": score, "reason": reason})
        return f"SCORE: {score}\nREASON: {reason}"


def _is_judge(request: ModelRequest) -> bool:
    return any(JUDGE_MARKER in m.content for m in request.messages)


def register_fake_provider() -> None:
    """Make ``fake:<anything>`` resolve to a fresh `ScriptedModel` (idempotent)."""
    register_provider(
        "fake",
        lambda name, model: ScriptedModel(name=name),
        forms=("fake:<anything>: a scripted test model (cadenza.testing.ScriptedModel)",),
        replace=True,
    )
