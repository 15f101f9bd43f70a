"""cadenza: plans a tree of LLM calls to meet your requirements within a budget.

import cadenza

result = cadenza.run(
    "Write a haiku about the sea.",
    ["Use only lowercase letters", "Do not use any commas"],
    budget={"max_tokens": 4000},
)
print(result.result, result.requirements_result.score)
"""

from .errors import (
    BlockedAddressError,
    CadenzaError,
    DocumentError,
    DocumentTooLargeError,
    FetchError,
    InvalidTaskError,
    MissingExtraError,
    ModelNotFoundError,
    PermanentProviderError,
    ProviderError,
    SearchProviderError,
    TransientProviderError,
    UnknownModelError,
    UnknownValidatorError,
    UnreachableProviderError,
    UsageError,
    ValidatorError,
    ValidatorTimeoutError,
)
from .models.base import Model
from .models.pricing import register_price
from .models.registry import resolve_model
from .result import RequirementResult, RequirementsResult, Result, TraceNode, Usage
from .retrieval import FileSearch, Library, Passage
from .runner import RunControl, RunOptions, arun, arun_task, run
from .task import Budget, ChatMessage, Requirement, Task, make_task
from .testing import register_fake_provider
from .trace import RunEvent
from .validators.base import CheckContext, Verdict, validator
from .web import WebSearch

register_fake_provider()  # "fake:" names, through the registry's public door

__all__ = [
    "BlockedAddressError",
    "Budget",
    "CadenzaError",
    "ChatMessage",
    "CheckContext",
    "DocumentError",
    "DocumentTooLargeError",
    "FetchError",
    "FileSearch",
    "InvalidTaskError",
    "Library",
    "MissingExtraError",
    "Model",
    "ModelNotFoundError",
    "Passage",
    "PermanentProviderError",
    "ProviderError",
    "Requirement",
    "RequirementResult",
    "RequirementsResult",
    "Result",
    "RunControl",
    "RunEvent",
    "RunOptions",
    "SearchProviderError",
    "Task",
    "TraceNode",
    "TransientProviderError",
    "UnknownModelError",
    "UnknownValidatorError",
    "UnreachableProviderError",
    "Usage",
    "UsageError",
    "ValidatorError",
    "ValidatorTimeoutError",
    "Verdict",
    "WebSearch",
    "arun",
    "arun_task",
    "make_task",
    "register_price",
    "resolve_model",
    "run",
    "validator",
]

__version__ = "0.1.0"
