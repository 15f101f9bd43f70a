"""The policy: which action to start next, from the state of the run and the work in flight.

The search asks the policy whenever a model slot is free and the budget may allow more;
the policy answers with the actions worth starting, most wanted first (the search starts
the first one the budget and the slots allow, and asks again). Each kind of action
(`kinds.py`) proposes its own; the policy orders them:

1. free actions (deterministic repairs) first, and nothing else while one is in flight:
   a repaired candidate may become the best, or meet every requirement;
2. work on the best candidate when none is in flight for it (its revision): the search
   goes deeper as soon as a better candidate appears, never waiting for a round (unless
   priors learned in earlier runs, `priors.py`, rate another kind higher);
3. then by share: each kind that uses a model gets a share of the work in flight in
   proportion to its success rate in this run, with a Beta prior (``(improved + prior)
   / (tried + 1)``: revisions start favoured, 0.6 vs 0.3; priors learned in earlier runs
   replace the 0.6 and 0.3 and may weigh more than one action); the kind furthest below
   its share goes first.

Counting the work in flight is what keeps a one-at-a-time policy from repeating itself:
a revision in flight counts against its kind's share and against its candidate (at most
`revisions_at_once` at once), and a task with nothing to choose between (no
requirements) gets one sample, not best-of-N.
"""

from __future__ import annotations

from collections.abc import Sequence

from .actions import Action, ActionKind, SearchView
from .settings import DEFAULT_SAMPLE_TEMPERATURES

__all__ = ["FIRST_TEMPERATURES", "Policy"]

FIRST_TEMPERATURES = DEFAULT_SAMPLE_TEMPERATURES
"""The default temperatures of the 1st, 2nd, ... sample (`SearchSettings.sample_temperatures`)."""


class Policy:
    def __init__(self, kinds: Sequence[ActionKind]) -> None:
        self.kinds: list[ActionKind] = []
        for kind in kinds:
            self.register(kind)

    def register(self, kind: ActionKind) -> None:
        """Add a kind of action; its proposals are weighed with the others'."""
        if any(k.name == kind.name for k in self.kinds):
            raise ValueError(f"an action kind named {kind.name!r} is already registered")
        self.kinds.append(kind)

    def choose(self, view: SearchView) -> list[Action]:
        """The actions worth starting now, most wanted first (maybe none)."""
        free = [a for k in self.kinds if not k.uses_model for a in k.propose(view)]
        if free:
            return free
        if any(not a.kind.uses_model for a in view.pending):
            return []
        if self._first_round_full(view):
            return []
        proposals = {k: p for k in self.kinds if k.uses_model and (p := k.propose(view))}
        if not proposals:
            return []
        rates = {k: k.stats.rate(k.prior) for k in proposals}
        first: list[Action] = []
        best = view.state.best
        if best is not None and view.state.failing(best) and not view.pending_on(best.id):
            # Work on the best, by the kind that has gained most so far per token it is
            # expected to spend (ties: kind order): a revision carries the whole answer,
            # so on a long answer it must do much better than a focused sample to go first.
            # A kind whose learned prior rates it below another kind does not go first.
            on_best = [
                a
                for p in proposals.values()
                for a in p
                if a.target == best.id
                and not (a.kind.stats.prior_learned and rates[a.kind] < max(rates.values()))
            ]
            on_best.sort(key=lambda a: -self._value(a, rates[a.kind], view))
            first = on_best[:1]
        total = sum(rates.values())
        in_flight = sum(1 for a in view.pending if a.kind.uses_model)

        def deficit(k: ActionKind) -> float:
            return rates[k] / total * (in_flight + 1) - view.pending_of(k)

        order = sorted(proposals, key=lambda k: (-deficit(k), -rates[k]))
        chosen = view.settings.first_kind
        if chosen is not None and not view.pending and not view.state.candidates:
            order.sort(key=lambda k: k.name != chosen)  # stable: the rest keep their order
        return first + [a for k in order for a in proposals[k] if a not in first]

    @staticmethod
    def _value(action: Action, rate: float, view: SearchView) -> float:
        """Success rate per expected token (the rate alone when costs are unknown)."""
        if view.tokens_of is None:
            return rate
        return rate / max(1.0, view.tokens_of(action))

    @staticmethod
    def _first_round_full(view: SearchView) -> bool:
        """Whether `SearchSettings.first_round` model actions are already in flight while
        no candidate has been evaluated: then wait for the first verdicts, so the next
        call can use what the checks found instead of repeating the first prompt."""
        s = view.settings
        limit = s.first_round
        if limit is None and view.calls_left is not None and view.calls_left < s.short_budget_calls:
            limit = 1
        if limit is None or any(c.verdicts for c in view.state.candidates.values()):
            return False
        return sum(1 for a in view.pending if a.kind.uses_model) >= limit
