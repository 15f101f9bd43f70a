"""The planner: run state, candidate actions (sample, revise), the policy that picks."""

from .search import Outcome, Search, SearchSettings
from .state import Candidate, Judged, RunState, overall_score

__all__ = [
    "Candidate",
    "Judged",
    "Outcome",
    "RunState",
    "Search",
    "SearchSettings",
    "overall_score",
]
