"""Validators: code checks (exact, free) and the LLM judge."""

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
