"""The engine: budget ledger and call execution (retries, timeouts, concurrency)."""

from .budget import BudgetLedger, Reservation, Spent
from .calls import BudgetExhausted, CallFailed, CallRunner, CallSettings

__all__ = [
    "BudgetExhausted",
    "BudgetLedger",
    "CallFailed",
    "CallRunner",
    "CallSettings",
    "Reservation",
    "Spent",
]
