"""Priors learned across runs, as a run uses them: read before the search, recorded after.

    from cadenza import RunOptions
    from cadenza.priors import default_prior_table, open_prior_table

    RunOptions()                         # priors on, kept in the user's data directory
    RunOptions(priors=False)             # this run neither reads nor records any
    RunOptions(prior_table=open_prior_table("sqlite:///team.db"))   # kept elsewhere

What is recorded and how it becomes a prior: `cadenza.planner.priors`; the table:
`cadenza.store.priors`. A run that cannot read or write its priors (a corrupt file, a
database down) goes on without them: the reason is logged as a warning and shown in the
trace's root node, under ``detail["priors"]``, with the priors the run used.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from .models.base import Model
from .planner import Search
from .planner.actions import ActionKind
from .planner.priors import (
    KindPrior,
    Observation,
    PriorRow,
    PriorSettings,
    Reach,
    apply_priors,
    first_answer_chances,
    first_answer_chances_by_kind,
    kind_priors,
    out_of_reach,
    reach_of_kinds,
    requirement_kind,
)
from .store.priors import PriorTable, default_prior_table, open_prior_table

__all__ = [
    "KindPrior",
    "Observation",
    "PriorRow",
    "PriorSettings",
    "PriorTable",
    "RunPriors",
    "default_prior_table",
    "open_prior_table",
]

log = logging.getLogger("cadenza.priors")


class RunPriors:
    """One run's use of the table: `load` sets the kinds' priors, `record` adds what the
    run saw. Neither raises: a failure is logged and kept in `detail`."""

    def __init__(
        self, table: PriorTable | None, settings: PriorSettings, *, enabled: bool = True
    ) -> None:
        self.table = table
        self.settings = settings
        self.enabled = enabled
        self.detail: dict[str, Any] = {"used": False}

    async def load(self, search: Search, models: Sequence[Model]) -> dict[str, KindPrior]:
        if not self.enabled:
            self.detail = {"used": False, "reason": "priors are turned off"}
            return {}
        kinds = [k for k in search.policy.kinds if k.uses_model]
        defaults = {k.name: k.prior for k in kinds}
        req_kinds = sorted({k for r in search.task.requirements if (k := requirement_kind(r))})
        names = sorted({m.name for m in models})
        try:
            table: PriorTable = (
                self.table
                if self.table is not None
                else await asyncio.to_thread(default_prior_table)
            )
            rows = await asyncio.to_thread(table.rows, models=names, requirement_kinds=req_kinds)
        except Exception as exc:
            self._failed("read", exc)
            return {}
        self.table = table
        if not self.settings.use:
            self.detail = {
                "used": False,
                "reason": "record only",
                "where": table.where,
                "requirement_kinds": req_kinds,
            }
            return {}
        priors = kind_priors(rows, defaults, self.settings)
        apply_priors(kinds, priors)
        hopeless = out_of_reach(rows, self.settings)
        chances = reach_of_kinds(rows, self.settings)
        exploring = bool(hopeless or chances) and random.random() < self.settings.explore
        if not exploring:
            search.out_of_reach = frozenset(
                r.name for r in search.task.requirements if requirement_kind(r) in hopeless
            )
            by_name = {
                r.name: chances[k]
                for r in search.task.requirements
                if (k := requirement_kind(r)) in chances
            }
            if by_name:
                search.reach = Reach(by_name, self.settings.min_chance)
        # Sizing the first round gives nothing up (the first answer is recorded either
        # way), so exploring runs use it too.
        one_call_first, first_kind = self._one_call_first(search, rows, kinds)
        if one_call_first is not None:
            search.settings = replace(search.settings, first_round=1, first_kind=first_kind)
        self.detail = {
            "used": bool(priors or hopeless or chances) or one_call_first is not None,
            "where": table.where,
            "requirement_kinds": req_kinds,
            "out_of_reach": sorted(hopeless),
            "reach": {k: round(v, 4) for k, v in sorted(chances.items())},
            "exploring": exploring,
            "one_call_first": one_call_first,
            "first_kind": first_kind,
            "kinds": {
                k.name: (
                    priors[k.name].as_detail()
                    if k.name in priors
                    else {"default": round(defaults[k.name], 4), "prior": defaults[k.name]}
                )
                for k in kinds
            },
        }
        return priors

    def _one_call_first(
        self, search: Search, rows: Sequence[PriorRow], kinds: Sequence[ActionKind]
    ) -> tuple[float | None, str | None]:
        """The chance (rounded) that one first call meets every requirement, when it is at
        least `PriorSettings.one_first_at`, and the action kind to make it (None: the
        policy's choice); (None, None) to start with the usual first round."""
        one_first = self.settings.one_first_at
        found = [requirement_kind(r) for r in search.task.requirements]
        task_kinds = [k for k in found if k is not None]
        if one_first <= 0 or not found or len(task_kinds) < len(found):
            return None, None
        if search.settings.first_round is not None:
            return None, None
        names = {k.name for k in kinds}
        best: tuple[float, str | None] | None = None
        for action, chances in sorted(first_answer_chances_by_kind(rows, self.settings).items()):
            if action in names and all(k in chances for k in task_kinds):
                p = math.prod(chances[k] for k in task_kinds)
                if best is None or p > best[0]:
                    best = (p, action)
        if best is None:  # no kind has enough record of its own: any first answer's
            firsts = first_answer_chances(rows, self.settings)
            if all(k in firsts for k in task_kinds):
                best = (math.prod(firsts[k] for k in task_kinds), None)
        if best is None or best[0] < one_first:
            return None, None
        return round(best[0], 4), best[1]

    async def record(self, observations: Sequence[Observation]) -> None:
        if not self.enabled or self.table is None:
            return
        try:
            await asyncio.to_thread(self.table.record, list(observations))
        except Exception as exc:
            self._failed("record", exc)
            return
        self.detail["recorded"] = len(observations)

    def _failed(self, what: str, exc: Exception) -> None:
        where = self.table.where if self.table is not None else "the default database"
        message = f"could not {what} the priors in {where}: {exc}"
        log.warning("%s; the run goes on without them", message)
        self.detail = {**self.detail, "used": self.detail.get("used", False), "error": message}
