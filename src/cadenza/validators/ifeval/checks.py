"""One deterministic check per IFEval instruction id, with IFEval's strict semantics.

The pass/fail logic is ported from IFEval (Zhou et al. 2023,
google-research ``instruction_following_eval/instructions.py`` and
``instructions_util.py``, Copyright Google LLC, Apache License 2.0; see NOTICE).
Where IFEval only answers pass/fail, these checks also give a graded score in
0..1 and a short reason a model can act on. Whether a check passes is IFEval's
decision, unchanged; the score and the reason are added on top.

Differences from the original, all outside the pass/fail decision on IFEval's data:

- A missing argument is an error here (IFEval draws a random one instead).
- Language detection is seeded (IFEval's is not, so it can vary between runs).
- Text arguments (keywords, forbidden words, section and postscript markers) are
  matched literally. IFEval pastes them into regular expressions; none of its own
  arguments contains a character special to a regular expression (``P.S.`` and
  ``P.P.S`` have patterns of their own, kept), so its results are the same, and a
  request cannot smuggle in a pattern that takes exponential time.

Each check takes the response and its arguments as validated by `spec.parse_kwargs`.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Mapping
from functools import lru_cache

from ..base import Verdict
from .args import Params
from .language import detect_language, language_name, language_probabilities
from .tokenizers import count_sentences, count_words, word_tokenize

__all__ = ["CHECKS", "CONSTRAINED_RESPONSE_OPTIONS", "CheckFn", "literal", "literal_word"]

_MAX_REASON = 199

# IFEval's fixed options (instructions.py).
CONSTRAINED_RESPONSE_OPTIONS = ("My answer is yes.", "My answer is no.", "My answer is maybe.")


@lru_cache(maxsize=512)
def literal(text: str, flags: int = re.IGNORECASE) -> re.Pattern[str]:
    """`text` as a pattern that matches it literally (linear time, whatever it holds)."""
    return re.compile(re.escape(text), flags)


@lru_cache(maxsize=512)
def literal_word(text: str) -> re.Pattern[str]:
    """`text` as a whole word (``\\b`` on both sides, as IFEval), case-insensitive."""
    return re.compile(r"\b" + re.escape(text) + r"\b", re.IGNORECASE)


_SPACES = re.compile(r"\s+")


def _quote(text: str, limit: int = 40, *, tail: bool = False) -> str:
    """`text` on one line, cut to `limit` characters (keeping its end if `tail`), quoted."""
    flat = _SPACES.sub(" ", text).strip()
    if len(flat) > limit:
        flat = "..." + flat[-limit:].lstrip() if tail else flat[:limit].rstrip() + "..."
    return f"'{flat}'"


def _around(text: str, index: int, width: int = 18) -> str:
    start, end = max(0, index - width), min(len(text), index + width + 1)
    flat = _SPACES.sub(" ", text[start:end])
    return "'" + ("..." if start > 0 else "") + flat + ("..." if end < len(text) else "") + "'"


def _plural(n: int, noun: str, plural: str | None = None) -> str:
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def _times(n: int) -> str:
    return _plural(n, "time")


def _verdict(score: float, reason: str) -> Verdict:
    if len(reason) > _MAX_REASON:
        reason = reason[: _MAX_REASON - 3].rstrip() + "..."
    return Verdict(min(1.0, max(0.0, score)), reason)


def _fail(score: float, reason: str) -> Verdict:
    """A failing verdict: its score stays below 1 whatever the arithmetic says."""
    return _verdict(min(score, 0.99), reason)


def _compare(n: int, relation: str, threshold: int, have: str) -> Verdict:
    """IFEval's two relations: 'less than' is n < threshold, 'at least' is n >= threshold."""
    if relation == "at least":
        if n >= threshold:
            return _verdict(1.0, f"{have} (at least {threshold})")
        return _fail(n / threshold, f"{have}, need at least {threshold}")
    if n < threshold:
        return _verdict(1.0, f"{have} (fewer than {threshold})")
    return _fail(
        (threshold - 1) / n if threshold >= 1 else 0.0, f"{have}, need fewer than {threshold}"
    )


def _exactly(n: int, target: int, have: str) -> Verdict:
    if n == target:
        return _verdict(1.0, f"{have} (exactly {target})")
    return _fail(min(n, target) / max(n, target), f"{have}, need exactly {target}")


# --------------------------------------------------------------------------- the checks
# Each takes the response and its validated kwargs and returns a Verdict whose
# pass/fail is IFEval's check_following(response).


def _no_comma(response: str, p: Params) -> Verdict:
    n = response.count(",")
    if n == 0:
        return _verdict(1.0, "no commas")
    return _fail(
        1 / (1 + n),
        f"{_plural(n, 'comma')} found, e.g. in {_around(response, response.index(','))}; "
        "use no commas at all",
    )


def _number_words(response: str, p: Params) -> Verdict:
    n = count_words(response)
    return _compare(n, p["relation"], p["num_words"], _plural(n, "word"))


def _number_sentences(response: str, p: Params) -> Verdict:
    n = count_sentences(response)
    return _compare(n, p["relation"], p["num_sentences"], _plural(n, "sentence"))


def _number_paragraphs(response: str, p: Params) -> Verdict:
    target: int = p["num_paragraphs"]
    parts = re.split(r"\s?\*\*\*\s?", response)
    count = len(parts)
    nonempty = sum(1 for part in parts if part.strip())
    for index, part in enumerate(parts):
        if not part.strip():
            if index in (0, len(parts) - 1):
                count -= 1
            else:
                ratio = min(nonempty, target) / max(nonempty, target, 1)
                return _fail(
                    0.5 * ratio,
                    f"empty paragraph between two *** dividers (after paragraph {index}); "
                    f"need {target} non-empty paragraphs separated by single *** lines",
                )
    return _exactly(count, target, f"{_plural(count, 'paragraph')} separated by ***")


_FIRST_WORD_PUNCTUATION = frozenset({".", ",", "?", "!", "'", '"'})


def _first_word(paragraph: str) -> str:
    word = paragraph.split()[0].strip().lstrip("'").lstrip('"')
    out = []
    for letter in word:
        if letter in _FIRST_WORD_PUNCTUATION:
            break
        out.append(letter.lower())
    return "".join(out)


def _nth_paragraph_first_word(response: str, p: Params) -> Verdict:
    target: int = p["num_paragraphs"]
    nth: int = p["nth_paragraph"]
    wanted: str = p["first_word"]
    paragraphs = re.split(r"\n\n", response)
    count = sum(1 for paragraph in paragraphs if paragraph.strip())
    word: str | None = None
    if nth <= count:
        paragraph = paragraphs[nth - 1].strip()
        if paragraph:
            word = _first_word(paragraph)
    count_ok, word_ok = count == target, word == wanted
    if count_ok and word_ok:
        return _verdict(
            1.0, f"{_plural(count, 'paragraph')}; paragraph {nth} starts with {wanted!r}"
        )
    problems = []
    if not count_ok:
        problems.append(
            f"{_plural(count, 'paragraph')} (separated by blank lines), need exactly {target}"
        )
    if word is None:
        problems.append(f"no paragraph {nth} to start with {wanted!r}")
    elif not word_ok:
        problems.append(f"paragraph {nth} starts with {word!r}, must start with {wanted!r}")
    ratio = min(count, target) / max(count, target, 1)
    return _fail(0.5 * ratio + 0.5 * word_ok, "; ".join(problems))


def _existence(response: str, p: Params) -> Verdict:
    keywords: list[str] = p["keywords"]
    missing = [k for k in keywords if not literal(k).search(response)]
    if not missing:
        return _verdict(1.0, "includes " + ", ".join(_quote(k, 30) for k in keywords))
    return _fail(
        (len(keywords) - len(missing)) / len(keywords),
        "missing keywords: " + ", ".join(_quote(k, 30) for k in missing),
    )


def _frequency(response: str, p: Params) -> Verdict:
    keyword: str = p["keyword"]
    n = len(literal(keyword).findall(response))
    return _compare(n, p["relation"], p["frequency"], f"{_quote(keyword, 30)} appears {_times(n)}")


def _forbidden_words(response: str, p: Params) -> Verdict:
    found = []
    total = 0
    for word in p["forbidden_words"]:
        n = len(literal_word(word).findall(response))
        if n:
            found.append(f"{_quote(word, 30)} ({_times(n)})")
            total += n
    if not found:
        return _verdict(1.0, "none of the forbidden words appear")
    return _fail(1 / (1 + total), "these words must not appear: " + ", ".join(found))


def _letter_frequency(response: str, p: Params) -> Verdict:
    letter: str = p["letter"]
    n = Counter(response.lower())[letter]
    return _compare(
        n, p["let_relation"], p["let_frequency"], f"letter {letter!r} appears {_times(n)}"
    )


def _number_bullet_lists(response: str, p: Params) -> Verdict:
    stars = re.findall(r"^\s*\*[^\*].*$", response, flags=re.MULTILINE)
    dashes = re.findall(r"^\s*-.*$", response, flags=re.MULTILINE)
    n = len(stars) + len(dashes)
    return _exactly(n, p["num_bullets"], f"{_plural(n, 'bullet point')} ('* ' or '- ' lines)")


def _constrained_response(response: str, p: Params) -> Verdict:
    value = response.strip()
    for option in CONSTRAINED_RESPONSE_OPTIONS:
        if option in value:
            return _verdict(1.0, f"contains {option!r}")
    return _fail(
        0.0,
        "must contain one of: " + ", ".join(repr(o) for o in CONSTRAINED_RESPONSE_OPTIONS),
    )


def _number_highlighted_sections(response: str, p: Params) -> Verdict:
    n = 0
    for highlight in re.findall(r"\*[^\n\*]*\*", response):
        if highlight.strip("*").strip():
            n += 1
    for highlight in re.findall(r"\*\*[^\n\*]*\*\*", response):
        if highlight.removeprefix("**").removesuffix("**").strip():
            n += 1
    target: int = p["num_highlights"]
    have = f"{_plural(n, 'highlighted section')} (*like this*)"
    if n >= target:
        return _verdict(1.0, f"{have} (at least {target})")
    return _fail(n / target, f"{have}, need at least {target}")


@lru_cache(maxsize=128)
def _section_splitter(splitter: str) -> re.Pattern[str]:
    return re.compile(r"\s?" + re.escape(splitter) + r"\s?\d+\s?")


def _multiple_sections(response: str, p: Params) -> Verdict:
    splitter: str = p["section_spliter"]
    sections = _section_splitter(splitter).split(response)
    n = len(sections) - 1
    target: int = p["num_sections"]
    have = f"{_plural(n, 'section')} marked '{splitter} X'"
    if n >= target:
        return _verdict(1.0, f"{have} (at least {target})")
    return _fail(n / target, f"{have}, need at least {target}")


def _json_format(response: str, p: Params) -> Verdict:
    value = (
        response.strip()
        .removeprefix("```json")
        .removeprefix("```Json")
        .removeprefix("```JSON")
        .removeprefix("```")
        .removesuffix("```")
        .strip()
    )
    try:
        json.loads(value)
    except json.JSONDecodeError as exc:
        return _fail(
            0.0,
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}; "
            "output only the JSON (a ``` block is fine)",
        )
    except (ValueError, RecursionError):
        return _fail(0.0, "not valid JSON; output only the JSON (a ``` block is fine)")
    return _verdict(1.0, "valid JSON")


def _title(response: str, p: Params) -> Verdict:
    for title in re.findall(r"<<[^\n]+>>", response):
        if title.lstrip("<").rstrip(">").strip():
            return _verdict(1.0, f"title {_quote(title)}")
    return _fail(0.0, "no title: add one wrapped in double angular brackets, e.g. <<my title>>")


def _number_placeholders(response: str, p: Params) -> Verdict:
    found = re.findall(r"\[.*?\]", response)
    n, target = len(found), p["num_placeholders"]
    have = f"{_plural(n, 'placeholder')} in square brackets"
    if found:
        have += " (e.g. " + ", ".join(_quote(x, 20) for x in found[:2]) + ")"
    if n >= target:
        return _verdict(1.0, f"{have}, at least {target}")
    return _fail(n / target, f"{have}, need at least {target} like [address]")


_PPS = re.compile(r"p\.\s?p\.\s?s")
_PS = re.compile(r"p\.\s?s\.")


def _postscript(response: str, p: Params) -> Verdict:
    # IFEval searches for r"\s*" + marker + r".*$" (re.MULTILINE) in the lowercased
    # response: that finds a match exactly when the marker occurs, so the marker alone is
    # searched for (the leading \s* costs quadratic time on long runs of spaces).
    marker: str = p["postscript_marker"]
    if marker == "P.P.S":
        found = _PPS.search(response.lower())
    elif marker == "P.S.":
        found = _PS.search(response.lower())
    else:
        found = literal(marker.lower(), 0).search(response.lower())
    if found:
        return _verdict(1.0, f"has a postscript starting with {marker!r}")
    return _fail(0.0, f"no postscript: end with a line starting with {marker!r}")


def _capital_word_frequency(response: str, p: Params) -> Verdict:
    capitals = [word for word in word_tokenize(response) if word.isupper()]
    n = len(capitals)
    have = _plural(n, "all-capital word")
    if capitals:
        have += (
            " (e.g. " + ", ".join(_quote(w, 20) for w in list(dict.fromkeys(capitals))[:4]) + ")"
        )
        have = have if len(have) < 120 else have[:116] + "...)"
    return _compare(n, p["capital_relation"], p["capital_frequency"], have)


def _case_check(response: str, *, upper: bool) -> Verdict:
    """IFEval: ``isupper()`` / ``islower()``, and then langdetect says English (or cannot tell)."""
    kind, other = ("uppercase", "lowercase") if upper else ("lowercase", "uppercase")
    if response.isupper() if upper else response.islower():
        language = detect_language(response)
        if language in (None, "en"):
            return _verdict(1.0, f"all {kind}, English")
        return _fail(0.5, f"all {kind}, but must be English: detected {language_name(language)}")
    cased = [c for c in response if c.isupper() or c.islower()]
    if not cased:
        return _fail(0.0, f"no letters found; write English in {kind} letters")
    conforming = sum(1 for c in cased if (c.isupper() if upper else c.islower()))
    wrong = re.compile(r"\S*[a-z]\S*" if upper else r"\S*[A-Z]\S*")
    words = [w for w in _SPACES.split(response) if w and wrong.fullmatch(w)]
    if not words:  # only non-ASCII letters are off
        words = [
            w
            for w in _SPACES.split(response)
            if any((c.islower() if upper else c.isupper()) for c in w)
        ]
    return _fail(
        conforming / len(cased),
        f"{other} letters found: " + ", ".join(_quote(w, 20) for w in words[:4]),
    )


def _english_capital(response: str, p: Params) -> Verdict:
    return _case_check(response, upper=True)


def _english_lowercase(response: str, p: Params) -> Verdict:
    return _case_check(response, upper=False)


def _end_checker(response: str, p: Params) -> Verdict:
    phrase: str = p["end_phrase"]
    value = response.strip().strip('"').lower()
    if value.endswith(phrase.strip().lower()):
        return _verdict(1.0, f"ends with {phrase!r}")
    return _fail(
        0.0,
        f"ends with {_quote(response.strip(), 40, tail=True)}, must end with {phrase!r} "
        "and nothing after it",
    )


def _quotation(response: str, p: Params) -> Verdict:
    value = response.strip()
    if len(value) > 1 and value[0] == '"' and value[-1] == '"':
        return _verdict(1.0, "wrapped in double quotes")
    ends = (value[:1] == '"') + (value[-1:] == '"' and len(value) > 1)
    return _fail(
        ends / 2,
        f'must be wrapped in double quotes ("..."); starts with {_quote(value[:12], 12)} '
        f"and ends with {_quote(value[-12:], 12, tail=True)}",
    )


def _two_responses(response: str, p: Params) -> Verdict:
    valid: list[str] = []
    parts = response.split("******")
    for index, part in enumerate(parts):
        if not part.strip():
            if index not in (0, len(parts) - 1):
                return _fail(0.0, "empty response between two ****** separators")
        else:
            valid.append(part)
    if len(valid) != 2:
        return _fail(
            0.0,
            f"{_plural(len(valid), 'response')} separated by ******, need exactly 2",
        )
    if valid[0].strip() == valid[1].strip():
        return _fail(0.5, "the two responses are identical; make them different")
    return _verdict(1.0, "two different responses separated by ******")


def _repeat_prompt(response: str, p: Params) -> Verdict:
    wanted = p["prompt_to_repeat"].strip().lower()
    value = response.strip().lower()
    if value.startswith(wanted):
        return _verdict(1.0, "starts by repeating the request word for word")
    same = 0
    for a, b in zip(value, wanted, strict=False):
        if a != b:
            break
        same += 1
    where = (
        "at the very start"
        if same == 0
        else f"after {_quote(response.strip()[:same], 30, tail=True)}"
    )
    return _fail(
        same / len(wanted),
        f"must start by repeating the request word for word, then answer; differs {where}",
    )


def _response_language(response: str, p: Params) -> Verdict:
    wanted: str = p["language"]
    ranked = language_probabilities(response)
    if ranked is None:  # IFEval counts an undetectable language as followed
        return _verdict(1.0, "language could not be detected; counted as followed")
    detected = ranked[0][0] if ranked else "unknown"
    if detected == wanted:
        return _verdict(1.0, f"in {language_name(wanted)}")
    prob = dict(ranked).get(wanted, 0.0)
    return _fail(
        prob,
        f"detected {language_name(detected)}, the whole response must be in "
        f"{language_name(wanted)}",
    )


CheckFn = Callable[[str, Params], Verdict]

CHECKS: Mapping[str, CheckFn] = {
    "punctuation:no_comma": _no_comma,
    "length_constraints:number_words": _number_words,
    "length_constraints:number_sentences": _number_sentences,
    "length_constraints:number_paragraphs": _number_paragraphs,
    "length_constraints:nth_paragraph_first_word": _nth_paragraph_first_word,
    "keywords:existence": _existence,
    "keywords:frequency": _frequency,
    "keywords:forbidden_words": _forbidden_words,
    "keywords:letter_frequency": _letter_frequency,
    "detectable_format:number_bullet_lists": _number_bullet_lists,
    "detectable_format:constrained_response": _constrained_response,
    "detectable_format:number_highlighted_sections": _number_highlighted_sections,
    "detectable_format:multiple_sections": _multiple_sections,
    "detectable_format:json_format": _json_format,
    "detectable_format:title": _title,
    "detectable_content:number_placeholders": _number_placeholders,
    "detectable_content:postscript": _postscript,
    "change_case:capital_word_frequency": _capital_word_frequency,
    "change_case:english_capital": _english_capital,
    "change_case:english_lowercase": _english_lowercase,
    "startend:end_checker": _end_checker,
    "startend:quotation": _quotation,
    "combination:two_responses": _two_responses,
    "combination:repeat_prompt": _repeat_prompt,
    "language:response_language": _response_language,
}
"""IFEval's instruction ids, in IFEval's order, and their checks."""
