"""The planner: run state, the kinds of action (sample, revise, repair, constrained
sample), the policy that picks the next one, and the event-driven search that runs them."""

from .actions import Action, ActionContext, ActionKind, Estimate, KindStats, Produced, SearchView
from .constrained import ConstrainedSample
from .kinds import Repair, Revise, Sample, default_kinds
from .policy import Policy
from .search import Outcome, Search
from .settings import SearchSettings
from .state import Candidate, Judged, RunState, overall_score

__all__ = [
    "Action",
    "ActionContext",
    "ActionKind",
    "Candidate",
    "ConstrainedSample",
    "Estimate",
    "Judged",
    "KindStats",
    "Outcome",
    "Policy",
    "Produced",
    "Repair",
    "Revise",
    "RunState",
    "Sample",
    "Search",
    "SearchSettings",
    "SearchView",
    "default_kinds",
    "overall_score",
]
