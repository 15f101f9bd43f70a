"""Priors learned across runs: what each kind of action has gained before, per requirement kind.

A run records, for every model action that produced an answer, the requirements that
answer was meant to fix (those its reference candidate failed: the candidate a revision
rewrote, or the best one when a sample came back) and, for each, whether the new answer
scored better on it. These `Observation`s are added to a table keyed by
model x requirement kind x action kind (the requirement kind is the validator's name,
``punctuation:no_comma``, or ``judge``), with the tokens they cost.

A later run with the same model reads the rows of its own requirement kinds and turns
them into each action kind's prior (`KindPrior`), which the policy's Beta rate uses
instead of the fixed default of `SearchSettings`:

    mean     = (improved + c * default) / (tried + c)          c = PriorSettings.pseudo_count
    strength = 1 + min(tried / c, max_strength - 1)
    rate     = (improved_in_run + mean * strength) / (tried_in_run + strength)

so a few observations move the prior only a little (the default counts as ``c`` of
them), and however long the history, it weighs like at most ``max_strength`` of the
run's own actions: the run's evidence soon takes over.

The same rows say how far each requirement is within reach (`Reach`): for a requirement
kind with at least ``out_of_reach_after`` tries on record, the chance that one model
action improves it is ``(improved + 0.5) / (tried + 1)`` (any action kind). While the
best candidate fails requirements that all have such a chance, the chance that the
actions the budget still pays for fix every one of them is ``1 - (1 - p1 * p2 ...) ** n``;
below ``min_chance`` the search buys no more model work (the tokens would most likely
be lost). Where the table is kept (the store's ``priors`` table) is
`cadenza.store.priors`; this module is pure.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..task import Requirement
from .actions import ActionKind
from .state import Candidate, RunState

__all__ = [
    "FIRST_ANSWER",
    "FIRST_OF",
    "KindPrior",
    "Observation",
    "PriorRow",
    "PriorSettings",
    "Reach",
    "apply_priors",
    "first_answer_chances",
    "first_answer_chances_by_kind",
    "first_answers",
    "kind_priors",
    "observe",
    "out_of_reach",
    "reach_of_kinds",
    "requirement_kind",
]

JUDGE_KIND = "judge"
FIRST_ANSWER = "first_answer"
"""The table's action for what a run's first answer met (not an action kind: the first
answer of a run is whatever the first call wrote)."""
FIRST_OF = FIRST_ANSWER + ":"
"""Prefix of the table's actions for what answers of one action kind met when their call
started before any answer was checked (``first_answer:constrained_sample``): what that
kind writes on its own, with no feedback."""


@dataclass(frozen=True)
class PriorSettings:
    """How much a history of earlier runs counts."""

    pseudo_count: float = 10.0
    """The default prior counts as this many observations when blended with the history."""
    max_strength: float = 4.0
    """However long the history, it weighs like at most this many of the run's own actions."""
    out_of_reach_after: int = 10
    """A requirement kind that this many actions of earlier runs (of any kind, with this
    model) tried to improve without one success is out of reach: while the best candidate
    fails only such requirements, the search starts nothing new. 0: never."""
    min_chance: float = 0.2
    """Stop buying model work when, by earlier runs' record, the actions the budget left
    pays for have less than this chance of fixing every requirement the best candidate
    fails (each requirement's kind needs ``out_of_reach_after`` tries on record; the
    chance of one action is ``(improved + 0.5) / (tried + 1)``, requirements taken as
    independent). 0: never."""
    one_first_at: float = 0.6
    """Start with one model call instead of a first wave on every slot when, by earlier
    runs' record, a first answer meets every requirement of the task with at least this
    chance (the product over its requirements of ``(met + 0.5) / (first answers + 1)``,
    each kind with `first_after` first answers on record): the wave's other calls would
    mostly be cancelled, and billed for what they had read and written. The chance is
    taken per action kind first (answers of that kind written before any was checked;
    the best kind with enough record makes the one call, `SearchSettings.first_kind`),
    else from the run's first answers of any kind. Only when
    `SearchSettings.first_round` is None. 0: never."""
    first_after: int = 5
    """First answers on record a requirement kind needs before `one_first_at` uses it."""
    explore: float = 0.1
    """The share of runs that search as usual even on requirements out of reach or unlikely
    to be fixed, so that the verdict is revisited (a run that gives up records nothing
    that could overturn it). The first round is sized by `one_first_at` all the same."""
    use: bool = True
    """False: record what runs learn but start every run from the defaults (to measure
    what the priors change: ``cadenza eval ifeval --priors-record-only``)."""

    def __post_init__(self) -> None:
        if not self.pseudo_count > 0:
            raise ValueError("PriorSettings.pseudo_count must be > 0")
        if not self.max_strength >= 1:
            raise ValueError("PriorSettings.max_strength must be >= 1")
        if self.out_of_reach_after < 0:
            raise ValueError("PriorSettings.out_of_reach_after must be >= 0")
        if not 0 <= self.explore <= 1:
            raise ValueError("PriorSettings.explore must be in 0..1")
        if not 0 <= self.min_chance <= 1:
            raise ValueError("PriorSettings.min_chance must be in 0..1")
        if not 0 <= self.one_first_at <= 1:
            raise ValueError("PriorSettings.one_first_at must be in 0..1")
        if self.first_after < 1:
            raise ValueError("PriorSettings.first_after must be >= 1")


@dataclass(frozen=True)
class Observation:
    """One model action that produced an answer, and what it did to one requirement kind."""

    model: str
    requirement_kind: str
    action: str
    improved: bool
    tokens: int
    """The tokens of the action's own call (input and output; its evaluation excluded)."""


@dataclass(frozen=True)
class PriorRow:
    """The table's row for one model x requirement kind x action kind."""

    model: str
    requirement_kind: str
    action: str
    tried: int
    improved: int
    tokens: int
    updated_at: float = 0.0

    @property
    def rate(self) -> float:
        return self.improved / self.tried if self.tried else 0.0

    @property
    def tokens_per_try(self) -> float:
        return self.tokens / self.tried if self.tried else 0.0


@dataclass(frozen=True)
class KindPrior:
    """An action kind's prior in one run: the default blended with the history."""

    action: str
    default: float
    mean: float
    strength: float
    tried: int
    improved: int
    tokens_per_try: float

    def as_detail(self) -> dict[str, float | int]:
        return {
            "default": round(self.default, 4),
            "prior": round(self.mean, 4),
            "strength": round(self.strength, 3),
            "tried": self.tried,
            "improved": self.improved,
            "tokens_per_try": round(self.tokens_per_try, 1),
        }


def requirement_kind(req: Requirement) -> str | None:
    """What a requirement is, for the table: its code check's name, else ``judge``; None
    for an anonymous function (``lambda``), which says nothing about what it checks."""
    name = req.validator_name
    if name is None:
        return JUDGE_KIND
    return None if name == "<lambda>" else name


def kind_priors(
    rows: Iterable[PriorRow],
    defaults: dict[str, float],
    settings: PriorSettings,
) -> dict[str, KindPrior]:
    """Each action kind's prior from the rows of this run's models and requirement kinds
    (pooled), blended with its default. Kinds with no rows keep their default."""
    tried: dict[str, int] = {}
    improved: dict[str, int] = {}
    tokens: dict[str, int] = {}
    for r in rows:
        if r.action not in defaults or r.tried <= 0:
            continue
        tried[r.action] = tried.get(r.action, 0) + r.tried
        improved[r.action] = improved.get(r.action, 0) + min(r.improved, r.tried)
        tokens[r.action] = tokens.get(r.action, 0) + max(0, r.tokens)
    c = settings.pseudo_count
    out: dict[str, KindPrior] = {}
    for action, n in tried.items():
        default = defaults[action]
        s = improved[action]
        out[action] = KindPrior(
            action=action,
            default=default,
            mean=(s + c * default) / (n + c),
            strength=1.0 + min(n / c, settings.max_strength - 1.0),
            tried=n,
            improved=s,
            tokens_per_try=tokens[action] / n,
        )
    return out


def _by_requirement_kind(
    rows: Iterable[PriorRow], *, first_answers: bool
) -> tuple[dict[str, int], dict[str, int]]:
    """Tries and successes per requirement kind, pooled over action kinds: the rows of
    what first answers met (`first_answers`, the pooled rows only), or those of the actions
    that tried to fix."""
    tried: dict[str, int] = {}
    improved: dict[str, int] = {}
    for r in rows:
        if (r.action == FIRST_ANSWER) != first_answers or r.action.startswith(FIRST_OF):
            continue
        k = r.requirement_kind
        tried[k] = tried.get(k, 0) + max(0, r.tried)
        improved[k] = improved.get(k, 0) + max(0, min(r.improved, r.tried))
    return tried, improved


def out_of_reach(rows: Iterable[PriorRow], settings: PriorSettings) -> frozenset[str]:
    """Requirement kinds that earlier runs tried at least `out_of_reach_after` times to
    improve, and never did (rows of this run's models)."""
    if settings.out_of_reach_after <= 0:
        return frozenset()
    tried, improved = _by_requirement_kind(rows, first_answers=False)
    return frozenset(
        k for k, n in tried.items() if n >= settings.out_of_reach_after and improved[k] == 0
    )


def reach_of_kinds(rows: Iterable[PriorRow], settings: PriorSettings) -> dict[str, float]:
    """Per requirement kind with at least `out_of_reach_after` tries on record (rows of
    this run's models, any action kind): the chance that one model action improves it,
    ``(improved + 0.5) / (tried + 1)``. Empty when `min_chance` or `out_of_reach_after` is 0."""
    if settings.min_chance <= 0 or settings.out_of_reach_after <= 0:
        return {}
    tried, improved = _by_requirement_kind(rows, first_answers=False)
    return {
        k: (improved[k] + 0.5) / (n + 1)
        for k, n in tried.items()
        if n >= settings.out_of_reach_after
    }


def first_answer_chances(rows: Iterable[PriorRow], settings: PriorSettings) -> dict[str, float]:
    """Per requirement kind with at least `first_after` first answers on record: the
    chance that a run's first answer meets it, ``(met + 0.5) / (first answers + 1)``."""
    tried, met = _by_requirement_kind(rows, first_answers=True)
    return {k: (met[k] + 0.5) / (n + 1) for k, n in tried.items() if n >= settings.first_after}


def first_answer_chances_by_kind(
    rows: Iterable[PriorRow], settings: PriorSettings
) -> dict[str, dict[str, float]]:
    """Per action kind, per requirement kind with at least `first_after` such answers on
    record: the chance that an answer of that kind, started before any answer was checked,
    meets it, ``(met + 0.5) / (answers + 1)``."""
    tried: dict[tuple[str, str], int] = {}
    met: dict[tuple[str, str], int] = {}
    for r in rows:
        if not r.action.startswith(FIRST_OF):
            continue
        key = (r.action[len(FIRST_OF) :], r.requirement_kind)
        tried[key] = tried.get(key, 0) + max(0, r.tried)
        met[key] = met.get(key, 0) + max(0, min(r.improved, r.tried))
    out: dict[str, dict[str, float]] = {}
    for (action, kind), n in tried.items():
        if n >= settings.first_after:
            out.setdefault(action, {})[kind] = (met[(action, kind)] + 0.5) / (n + 1)
    return out


@dataclass(frozen=True)
class Reach:
    """What earlier runs say of this run's requirements (by name): the chance that one
    model action improves each, for those with enough history."""

    chances: Mapping[str, float]
    min_chance: float

    def chance(self, failing: Sequence[str], actions_left: float | None) -> float | None:
        """The chance that `actions_left` more model actions (None: no cap) fix every
        requirement in `failing`; None when one of them has no history (unknown)."""
        if not failing or any(name not in self.chances for name in failing):
            return None
        p = float(math.prod(self.chances[name] for name in failing))
        if actions_left is None:
            return 1.0 if p > 0 else 0.0
        miss: float = (1.0 - p) ** max(0.0, actions_left)
        return 1.0 - miss

    def not_worth_it(self, failing: Sequence[str], actions_left: float | None) -> bool:
        """More model work is unlikely to pay: the chance is known and below `min_chance`."""
        c = self.chance(failing, actions_left)
        return c is not None and c < self.min_chance


def apply_priors(kinds: Sequence[ActionKind], priors: dict[str, KindPrior]) -> None:
    """Set the learned prior on each model kind that has one (the policy reads
    ``kind.prior`` and ``kind.stats.prior_strength``)."""
    for kind in kinds:
        p = priors.get(kind.name)
        if p is None or not kind.uses_model:
            continue
        kind.prior = p.mean
        kind.stats.prior_strength = p.strength
        kind.stats.prior_learned = True


def first_answers(
    action: str, *, model: str, new: Candidate, tokens: int, state: RunState
) -> list[Observation]:
    """What an answer met, one observation per requirement kind (``improved``: met), filed
    under `action` (`FIRST_ANSWER`, or `FIRST_OF` + the action kind that wrote it)."""
    met: dict[str, bool] = {}
    for req in state.requirements:
        v = new.verdicts.get(req.name)
        kind = requirement_kind(req)
        if v is None or kind is None:
            continue
        met[kind] = met.get(kind, True) and v.score >= 1.0
    return [Observation(model, kind, action, ok, max(0, tokens)) for kind, ok in met.items()]


def observe(
    *,
    action: str,
    model: str,
    reference: Candidate | None,
    new: Candidate | None,
    tokens: int,
    state: RunState,
) -> list[Observation]:
    """What one finished model action teaches: for each requirement kind its reference
    candidate failed, whether the new answer scored better on it. `new` is None when the
    answer repeated an earlier one (no gain). The run's first answer (no reference)
    teaches what a first answer meets: one `FIRST_ANSWER` observation per requirement
    kind, ``improved`` when it met the requirement."""
    if reference is None:
        if new is None:
            return []
        return first_answers(FIRST_ANSWER, model=model, new=new, tokens=tokens, state=state)
    seen: dict[str, bool] = {}
    for req, judged in state.failing(reference):
        better = False
        if new is not None:
            v = new.verdicts.get(req.name)
            better = v is not None and v.score > judged.score
        kind = requirement_kind(req)
        if kind is None:
            continue
        seen[kind] = seen.get(kind, False) or better
    return [
        Observation(model, kind, action, improved, max(0, tokens))
        for kind, improved in seen.items()
    ]
