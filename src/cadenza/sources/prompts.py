"""What the model sees when it answers from passages, and how a short answer is cut out.

Plain on purpose, like every cadenza prompt: the passages as plain text under their short
ids, the question, and one line saying what to write. Small models copy the form of an
example better than they follow a description -- so well that an example *answer* gets
copied (measured: "like: Paris [P1]" made the embedded model answer "Paris"), so the
short-answer line shows none; the others show the form of a citation.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..models.base import Message
from .citations import cited_labels, strip_citations
from .evidence import Source

__all__ = [
    "answer_messages",
    "has_lead",
    "is_polar_question",
    "passages_block",
    "short_answer",
]

_POLAR = re.compile(
    r"^\s*(?:are|is|was|were|do|does|did|can|could|has|have|had|will|would|should|may|might)\b",
    re.IGNORECASE,
)


def is_polar_question(question: str) -> bool:
    """Whether the question asks for yes or no ("Are both ... ?", "Was X ... ?")."""
    return bool(_POLAR.match(question)) and " or " not in question.lower()


def passages_block(sources: Sequence[Source]) -> str:
    return "\n\n".join(s.prompt_text for s in sources)


def answer_messages(
    question: str,
    sources: Sequence[Source],
    *,
    style: str = "short",
    base: Sequence[Message] = (),
) -> tuple[Message, ...]:
    """The conversation for an answer from `sources`: `base` (the user's turns, system
    prompt first) with the last user turn replaced by passages + question + how to
    answer."""
    block = passages_block(sources)
    example = sources[0].label if sources else "P1"
    if not sources:
        ask = "Nothing was found to answer from; say so in one short sentence."
    elif style == "short" and is_polar_question(question):
        ask = f"Answer yes or no, then cite the passage, like: yes [{example}]"
    elif style == "short":
        # No example answer: the embedded model copied "Paris" from "like: Paris [P1]"
        # (F1 0.02 on 20 HotpotQA questions; 0.07 with this wording, 0.13 once cut short).
        ask = (
            "Answer with a short phrase copied from the passages, then the id of the "
            "passage in brackets."
        )
    else:
        ask = (
            "Answer from the passages. After each sentence, cite the passage it comes "
            f"from, like [{example}]."
        )
    turn = f"{block}\n\nQuestion: {question}\n{ask}" if block else f"Question: {question}\n{ask}"
    msgs = list(base)
    if msgs and msgs[-1].role == "user":
        msgs[-1] = Message("user", turn)
    else:
        msgs.append(Message("user", turn))
    return tuple(msgs)


_LEADS = re.compile(
    r"^(?:(?:the\s+)?(?:short\s+)?(?:answer|response)(?:\s+to\s+(?:the|this)\s+question)?"
    r"\s*(?:is|:)\s*:?|question\s*:)\s*",
    re.IGNORECASE,
)


def has_lead(text: str) -> bool:
    """Whether an answer starts with "The answer is", "Answer:" or "Question:" (an echo of
    the prompt), or runs over more than one line: not the phrase alone."""
    body = strip_citations(text).strip()
    return bool(_LEADS.match(body)) or "\n" in body


_COPULA = re.compile(
    r"\b(?:is|was|are|were|be|been|became|becomes|has been|had been|held|served as|"
    r"holds|called|named|known as)\b",
    re.IGNORECASE,
)


def short_answer(text: str, question: str, *, max_words: int = 8) -> str | None:
    """A short answer cut out of a longer one, keeping its words and citations: the
    first line; "The answer is: X" -> X; a sentence restating the question ("The
    company that ... is headquartered in Mumbai") -> what follows the last linking verb
    whose left side restates the question. None when nothing shorter can be cut safely.
    """
    labels = cited_labels(text)
    first = next((line for line in text.splitlines() if strip_citations(line).strip()), "")
    body = strip_citations(first).strip()
    body = _LEADS.sub("", body).strip()
    # the first sentence only
    m = re.search(r"(?<=[^\s.][^\s.])[.!?](?:\s|$)", body)
    if m:
        body = body[: m.start()]
    body = body.strip(" .,:;\"'")
    if not body:
        return None
    if is_polar_question(question):
        w = body.split()[0].lower().strip(",.!") if body.split() else ""
        if w in ("yes", "no"):
            body = w
    words = body.split()
    if len(words) > max_words:
        asked = {w.lower().strip(",.?\"'") for w in question.split()}
        cut = None
        for mm in _COPULA.finditer(body):
            left = [w.lower().strip(",.?\"'") for w in body[: mm.start()].split()]
            if left and sum(w in asked for w in left) / len(left) >= 0.5:
                cut = mm.end()
        if cut is not None:
            rest = body[cut:].strip(" ,:;")
            rest = re.sub(r"^(?:the|a|an)\s+", "", rest, flags=re.IGNORECASE)
            if rest:
                body = rest
        words = body.split()
        if len(words) > max_words:
            return None
    cites = "".join(f"[{lab}]" for lab in labels[:2])
    out = f"{body} {cites}".strip()
    return out if out != text.strip() else None
