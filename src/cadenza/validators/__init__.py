"""Validators: code checks (exact, free) and the LLM judge."""

from .base import (
    DEFAULT_TIME_LIMIT_S,
    CheckContext,
    Validator,
    Verdict,
    get_validator,
    load_builtin_validators,
    register_validator,
    registered_validators,
    run_validator,
    validator,
    validator_time_limit,
)

__all__ = [
    "DEFAULT_TIME_LIMIT_S",
    "CheckContext",
    "Validator",
    "Verdict",
    "get_validator",
    "load_builtin_validators",
    "register_validator",
    "registered_validators",
    "run_validator",
    "validator",
    "validator_time_limit",
]
