"""What the model sees. Kept short and plain on purpose.

Small models break under heavy templates (measured on the embedded model and 40 IFEval
prompts: the same best-of-4 scored 7.5 % with a structured template and 22.5 % with
the plain prompt). So a first generation sends the user's input as it is — with the
requirements added as plain sentences only when the input does not already state
them — and a revision is one short follow-up turn listing what to fix.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..models.base import Message
from ..task import Requirement, Task
from .state import Judged

__all__ = ["FOCUS_STYLES", "first_messages", "focus_messages", "revision_messages"]

FOCUS_STYLES = ("before", "system", "after")
"""Where a focused sample states the requirements to attend to (`focus_messages`)."""


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text[-1:] in ".!?\"')" else text + "."


def _stated_in(requirement: Requirement, instruction: str) -> bool:
    return requirement.description.lower().rstrip(".") in instruction.lower()


def first_messages(task: Task, *, mention_requirements: bool | None = None) -> tuple[Message, ...]:
    """The user's input, unchanged, plus requirements it does not already state.

    `mention_requirements`: None decides by whether the input already states every
    requirement; True/False forces it."""
    msgs = [Message(m.role, m.content) for m in task.conversation()]
    missing = [r for r in task.requirements if not _stated_in(r, task.instruction)]
    mention = bool(missing) if mention_requirements is None else mention_requirements
    if mention and task.requirements:
        extra = "\n".join(_sentence(r.description) for r in (missing or task.requirements))
        last = msgs[-1]
        msgs[-1] = Message("user", f"{last.content.rstrip()}\n\n{extra}")
    return tuple(msgs)


def revision_messages(
    base: tuple[Message, ...],
    candidate: str,
    failing: Sequence[tuple[Requirement, Judged]],
    *,
    max_items: int = 3,
    reason_chars: int = 160,
) -> tuple[Message, ...]:
    """One plain follow-up turn: the answer so far, and what to fix in it (the first
    `max_items` failing requirements, each reason cut to `reason_chars`)."""
    items = []
    for req, judged in failing[:max_items]:
        reason = " ".join(judged.reason.split())[:reason_chars]
        items.append(f"- {_sentence(req.description)} Problem: {_sentence(reason)}")
    fix = (
        "Rewrite your answer to fix these problems:\n"
        + "\n".join(items)
        + "\nReply with the rewritten answer only."
    )
    return (*base, Message("assistant", candidate), Message("user", fix))


def focus_messages(
    base: tuple[Message, ...],
    failing: Sequence[tuple[Requirement, Judged]],
    *,
    style: str = "system",
    max_items: int = 3,
) -> tuple[Message, ...]:
    """The first prompt again, with the requirements an earlier answer missed stated
    where the model cannot overlook them; the earlier answer itself is not sent (so the
    call costs what a sample costs, not what a revision of a long answer costs).

    `style`: ``before`` puts them ahead of the request ("First note: ..."), ``after``
    behind it ("Important: ..."), ``system`` in a system message."""
    if style not in FOCUS_STYLES:
        raise ValueError(f"focus style must be one of {', '.join(FOCUS_STYLES)}, not {style!r}")
    rules = list(dict.fromkeys(_sentence(req.description) for req, _ in failing))[:max_items]
    if not rules:
        return base
    msgs = list(base)
    last = msgs[-1]
    if style == "system":
        text = "Follow these rules exactly:\n" + "\n".join(f"- {r}" for r in rules)
        if msgs[0].role == "system":
            msgs[0] = Message("system", f"{msgs[0].content.rstrip()}\n\n{text}")
        else:
            msgs.insert(0, Message("system", text))
        return tuple(msgs)
    listed = " ".join(rules)
    if style == "before":
        msgs[-1] = Message(last.role, f"Important: {listed}\n\n{last.content.strip()}")
    else:
        msgs[-1] = Message(last.role, f"{last.content.rstrip()}\n\nImportant: {listed}")
    return tuple(msgs)
