"""Validators: code checks (exact, free) and the LLM judge."""

from . import combined, json_checks  # noqa: F401  (register the built-in all_of, json:object)
from .base import (
    CheckContext,
    Validator,
    Verdict,
    get_validator,
    register_validator,
    registered_validators,
    run_validator,
    validator,
)

__all__ = [
    "CheckContext",
    "Validator",
    "Verdict",
    "get_validator",
    "register_validator",
    "registered_validators",
    "run_validator",
    "validator",
]
