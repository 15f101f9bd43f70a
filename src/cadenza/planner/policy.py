"""The policy: which actions to take next, from the state of the run.

Two kinds of action:

- `Sample`: a fresh answer to the user's input (breadth), at some temperature, from
  one of the task's models;
- `Revise`: a candidate plus the feedback on its failing requirements goes back to
  the model for a rewrite (depth).

Each round the policy sizes a batch that fits the budget left, and splits it between
the two by what each has gained so far in this run (a Beta-prior success rate per
action kind: how often it produced a new best). It revises the best candidate first
and, when revising it keeps failing, the runner-up, so the search does not get stuck.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .state import RunState

__all__ = ["Action", "Revise", "Sample", "first_actions", "next_actions"]

FIRST_TEMPERATURES = (0.0, 0.7, 0.9, 1.0, 0.8, 0.6, 1.1, 0.5)
REVISE_TEMPERATURES = (0.0, 0.7, 0.9, 0.5)


@dataclass(frozen=True)
class Sample:
    model_index: int
    temperature: float
    plain: bool = False
    """Send the input exactly as written, without restating the requirements."""


@dataclass(frozen=True)
class Revise:
    candidate_id: str
    temperature: float
    model_index: int = 0


Action = Sample | Revise


def first_actions(width: int, n_models: int, *, vary_prompt: bool) -> list[Action]:
    """Round one: best-of-N. The first sample is greedy; the rest spread temperatures
    and models. If the requirements were added to the input, one sample in four sends
    the input exactly as written, so the plain prompt is tried too."""
    out: list[Action] = []
    for i in range(width):
        plain = vary_prompt and i % 4 == 3
        out.append(Sample(i % n_models, FIRST_TEMPERATURES[i % len(FIRST_TEMPERATURES)], plain))
    return out


def _rate(improved: int, tried: int, prior: float) -> float:
    return (improved + prior) / (tried + 1.0)


def next_actions(state: RunState, width: int, n_models: int) -> list[Action]:
    """A later round: split `width` branches between revising and sampling."""
    if width <= 0:
        return []
    ranked = state.ranked()
    revisable = [c for c in ranked if state.failing(c)]
    # Prior: revising with concrete feedback is the better bet until shown otherwise.
    r_rate = _rate(state.revisions_improved, state.revisions_tried, 0.6)
    s_rate = _rate(state.samples_improved, state.samples_tried, 0.3)
    n_revise = 0
    if revisable:
        n_revise = min(width, max(1, math.ceil(width * r_rate / (r_rate + s_rate))))
    actions: list[Action] = []
    # Revise the best; after two fruitless revisions of it, spread over the runners-up.
    fresh = [c for c in revisable if state.revised_from.get(c.id, 0) < 2]
    targets = (fresh or revisable)[: max(1, n_revise)]
    for i in range(n_revise):
        target = targets[i % len(targets)]
        done = state.revised_from.get(target.id, 0) + i // len(targets)
        temp = REVISE_TEMPERATURES[done % len(REVISE_TEMPERATURES)]
        actions.append(Revise(target.id, temp, model_index=i % n_models))
    for j in range(width - n_revise):
        k = state.samples_tried + j
        temp = FIRST_TEMPERATURES[1 + k % (len(FIRST_TEMPERATURES) - 1)]
        actions.append(Sample(k % n_models, temp))
    return actions
