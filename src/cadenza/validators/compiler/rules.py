"""The rule table: which wording compiles to which check, with which arguments.

Each `Rule` row says, for one check:

- ``find``: phrases that must all be present (each is claimed where it occurs);
- ``read``: a reader that gets the check's arguments (and claims the words it used);
- ``also``: phrases claimed if present (they add nothing, e.g. "in English");
- ``unless``: phrases that stop the row (e.g. "highlight" for numbered sections);
- ``vocab``: words the row may leave anywhere (its own nouns and verbs);
- ``examples``: requirements the row must compile (tests/test_compiler.py checks
  that each compiles to this row's check, and nothing else does).

A row matches when its phrases and reader succeed; the match stands only if every
word it did not claim is filler or in its vocabulary (the residue guard, `explains`).
Exactly one check must stand, else the requirement is ambiguous and goes to the judge.

To add wording for an existing check, add a phrase to its row (or a word to its
vocabulary, if the word can never change what is asked) and an example; to add a check,
register its validator and add a row. Run ``bench/compiler_recall.py`` before and after:
recall may only rise, and wrong checks must stay at zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import readers as r
from .phrases import Phrases
from .text import CompiledCheck, Match, Span, Text, explains, words

__all__ = ["RULES", "Rule", "read_one"]


@dataclass(frozen=True)
class Rule:
    """One row of the table: wording that compiles to one check."""

    name: str
    check: str
    find: tuple[Phrases, ...] = ()
    read: r.Reader | None = None
    also: tuple[Phrases, ...] = ()
    unless: Phrases | None = None
    vocab: frozenset[str] = frozenset()
    examples: tuple[str, ...] = ()

    def match(self, t: Text) -> Match | None:
        """What this row finds in `t` (before the residue guard), or None."""
        if self.unless is not None and self.unless.spans(t):
            return None
        spans: list[Span] = []
        for p in self.find:
            found = p.spans(t)
            if not found:
                return None
            spans += found
        args: dict[str, Any] = {}
        if self.read is not None:
            read = self.read(t)
            if read is None:
                return None
            args, spans = read.args, spans + read.spans
        for p in self.also:
            spans += p.spans(t)
        return Match(CompiledCheck(self.check, args, self.name), tuple(spans), self.vocab)


def read_one(t: Text) -> CompiledCheck | None:
    """The one check the whole of `t` asks for, or None."""
    found = [m.check for rule in RULES if (m := rule.match(t)) is not None and explains(t, m)]
    if not found or any(
        (c.validator, c.args) != (found[0].validator, found[0].args) for c in found
    ):
        return None
    return found[0]


# --------------------------------------------------------------------------------------
# Phrases shared by several rows.

IN_ENGLISH = Phrases(raw=[r"(?:\band\s+)?\b(?:in\s+)?english(?:\s+language)?\b(?:\s*,?\s*and\b)?"])
EXAMPLE_WORDS = words("e g i eg ie for example instance such as like")
FREQUENCY_VOCAB = words(
    "appear appears appearing occur occurs show shows up be used mentioned repeated include "
    "mention repeat say contain feature"
)
LENGTH_VOCAB = words("long length stay within")
JSON_VOCAB = words(
    "wrap wrapped format formatted formatting valid only structured parseable parsable pure raw "
    "proper properly well-formed enclose enclosed encode encoded document"
)
# The JSON check accepts a ```json fence but does not require one: only wording that
# allows a fence is claimed ("in a code block" alone would ask for more than the check).
CODE_BLOCK_FINE = Phrases(
    "[(a|the)] [markdown] code (block|fence) is (fine|ok|okay|allowed)",
    "you (can|may) use [markdown] (ticks|backticks|a code block) [such as]",
    raw=[r"(?<!`)```(?!`)"],
)

# --------------------------------------------------------------------------------------
# Punctuation and letter case.

NO_COMMAS = Phrases(
    # "do not use any commas", "never put a single comma", "I don't want to see commas"
    "{NEG} [to] [use|include|put|add|write|have|contain|type|insert|want [to (see|have|find)]] "
    "{DETS}commas?",
    # "no commas", "skip the commas", "avoid using commas", "free of commas"
    "(no|zero|omit|skip|drop|leave out|avoid [using]|without [using]|free (of|from)|refrain "
    "from [using|[the] use of]) {DETS}commas?",
    "commas? (are|is) (not (allowed|permitted)|forbidden|prohibited|banned)",
    "comma~free",
    "commas?: (none|zero|0)",
)
CAPS = "(capital letters?|capitalized letters|capitals|caps|upper~cased? [letters?|characters?])"
LOWERCASE = Phrases(
    # "lowercase only", "in all lowercase letters", "entirely lower-case"
    "[only|exclusively|entirely|solely|strictly] [in] [all~]lower~cased? [letters?|characters?"
    "|text|format] [only]",
    "(only|in) [all] small letters [only]",
    "small letters only",
    # "no capital letters", "do not use any uppercase letters"
    "(no|without [using|any]|{NEG} [to] (use|include|contain|have) [any]|avoid [using] [any]) "
    "(capital|capitalized|upper~case) [letters?|characters?|words?] [[are|is] (allowed|permitted"
    "|used)]",
    "{NEG} capitali(s|z)e [anything|any (words?|letters?)]",
)
ALL_CAPITALS = Phrases(
    # a global word is needed: "use capital letters" may mean proper capitalisation
    f"[in] all {CAPS} [only]",
    f"(only|exclusively|entirely|solely|strictly) [in] [all] {CAPS} [only]",
    f"in {CAPS} [only]",
    f"{CAPS} only",
    "block (capitals|letters)",
    "no lower~case [letters?|characters?] [[are|is] (allowed|permitted)]",
)

# --------------------------------------------------------------------------------------
# Formats.

JSON = Phrases("json")
TITLE = Phrases("title")
TWO_RESPONSES = Phrases(
    "(two|2) [different|distinct|separate] (responses|answers|replies|versions [of the "
    "(answer|response)])"
)
SIX_ASTERISKS = Phrases("(six|6) asterisks? [symbols?]", raw=[r"(?<!\*)\*{6}(?!\*)"])
DIVIDER = Phrases(raw=[r"(?<!\*)\*\*\*(?!\*)"])
EACH_OTHER = Phrases("(from|with) each other")
SEPARATED = Phrases("(separated|separate|divided|split) (by|with|using)")
SECTION_WORDING = Phrases(
    "mark [the] (beginning|start) of (each|every) (section|part)",
    "(each|every) [one|section|part] (starting|beginning|begins|starts|labell?ed|marked|headed|"
    "titled|numbered) [with]",
    "(begin|start|mark|label) (each|every) [one|section|part] [with]",
    "(divide|divided|split|organize|organise|organized|organised|structure|structured|break) "
    "[up] [it|(your|the) (answer|response|reply|text)] (into|in)",
    "and so on",
    raw=[r"\betc\b\.?"],
)
HIGHLIGHT = Phrases(raw=[r"\bhighlight"])

# --------------------------------------------------------------------------------------
# THE TABLE. Rows are tried in order; the order does not matter for the result.

RULES: tuple[Rule, ...] = (
    # -- punctuation ----------------------------------------------------------------
    Rule(
        "no_commas",
        "punctuation:no_comma",
        find=(NO_COMMAS,),
        vocab=words("anywhere entirely"),
        examples=("Do not use any commas", "Commas are not allowed.", "Skip the commas."),
    ),
    # -- letter case ----------------------------------------------------------------
    Rule(
        "all_lowercase",
        "change_case:english_lowercase",
        find=(LOWERCASE,),
        also=(IN_ENGLISH,),
        examples=("Write everything in lower case.", "no capital letters", "Don't capitalize."),
    ),
    Rule(
        "all_capitals",
        "change_case:english_capital",
        find=(ALL_CAPITALS,),
        also=(IN_ENGLISH,),
        examples=("Respond in ALL CAPS", "Capital letters only", "No lowercase letters."),
    ),
    Rule(
        "capital_word_count",
        "change_case:capital_word_frequency",
        read=r.capital_words,
        vocab=FREQUENCY_VOCAB | words("put emphasize emphasise"),
        examples=("Use at least 3 words in all caps", "fewer than four all-caps words"),
    ),
    # -- start and end --------------------------------------------------------------
    Rule(
        "ends_with_phrase",
        "startend:end_checker",
        read=r.end_phrase,
        also=(r.NOTHING_AFTER,),
        examples=("End with the phrase 'Any questions?'", "Sign off with 'Cheers, Ana'"),
    ),
    Rule(
        "wrapped_in_double_quotes",
        "startend:quotation",
        read=r.wrapped_in_quotes,
        vocab=words("pair"),
        examples=("Wrap your entire response in double quotation marks",),
    ),
    # -- formats --------------------------------------------------------------------
    Rule(
        "json_output",
        "detectable_format:json_format",
        find=(JSON,),
        also=(CODE_BLOCK_FINE,),
        vocab=JSON_VOCAB,
        examples=("Format your answer as valid JSON", "Output JSON only."),
    ),
    Rule(
        "json_object",
        "json:object",
        find=(JSON,),
        read=r.json_keys,
        also=(CODE_BLOCK_FINE,),
        vocab=JSON_VOCAB,
        examples=("Return JSON with key 'capital'", "Reply with a JSON object."),
    ),
    Rule(
        "title_in_angle_brackets",
        "detectable_format:title",
        find=(TITLE,),
        read=r.title_brackets,
        vocab=words(
            "title titled contain contains include includes add give has with wrapped wrap "
            "enclosed enclose inside within surrounded between put placed place double angular "
            "angle brackets bracket markers"
        )
        | EXAMPLE_WORDS,
        examples=("Give your poem a title in double angle brackets, like <<title>>",),
    ),
    Rule(
        "bullet_count",
        "detectable_format:number_bullet_lists",
        read=r.bullets,
        vocab=words(
            "bullet bullets point points bulleted list markdown contain include have format "
            "items item"
        )
        | EXAMPLE_WORDS,
        examples=("Exactly 3 bullet points", "a bulleted list of 5 items"),
    ),
    Rule(
        "placeholder_count",
        "detectable_content:number_placeholders",
        read=r.placeholders,
        vocab=words(
            "placeholder placeholders contain include have add insert represented denoted marked "
            "shown indicated inside within enclosed wrapped square brackets bracket an is"
        )
        | EXAMPLE_WORDS,
        examples=("At least 2 placeholders in square brackets, like [address]",),
    ),
    Rule(
        "highlight_count",
        "detectable_format:number_highlighted_sections",
        find=(HIGHLIGHT,),
        read=r.highlights,
        vocab=words(
            "highlight highlighted highlighting highlights markdown asterisks asterisk format "
            "formatting include"
        )
        | EXAMPLE_WORDS,
        examples=("Highlight at least 3 sections with markdown, i.e. *highlighted section*",),
    ),
    Rule(
        "numbered_sections",
        "detectable_format:multiple_sections",
        read=r.sections,
        also=(SECTION_WORDING,),
        unless=HIGHLIGHT,
        vocab=words("section sections part parts numbered") | EXAMPLE_WORDS,
        examples=("4 sections, each starting with SECTION X",),
    ),
    Rule(
        "paragraphs_with_dividers",
        "length_constraints:number_paragraphs",
        find=(DIVIDER,),
        read=r.Exactly(r"paragraphs?", "num_paragraphs"),
        also=(EACH_OTHER,),
        vocab=words(
            "paragraph paragraphs separated separate separating divided divide split delimited "
            "markdown divider dividers separator separators between are horizontal rule rules "
            "symbol symbols contain include into"
        ),
        examples=("4 paragraphs separated by ***",),
    ),
    Rule(
        "paragraph_first_word",
        "length_constraints:nth_paragraph_first_word",
        read=r.paragraph_first_word,
        also=(
            EACH_OTHER,
            Phrases("paragraphs and only paragraphs", "as if it (was|were)", "in python"),
        ),
        vocab=words("paragraph paragraphs separated separate split divided by where and"),
        examples=("2 paragraphs split by a blank line; paragraph 2 must start with 'However'",),
    ),
    Rule(
        "two_responses",
        "combination:two_responses",
        find=(TWO_RESPONSES, SIX_ASTERISKS),
        also=(
            SEPARATED,
            EACH_OTHER,
            Phrases("(responses|answers) and only (responses|answers)", "between them"),
        ),
        vocab=words("responses answers"),
        examples=("Give two different responses separated by ******",),
    ),
    Rule(
        "yes_no_maybe",
        "detectable_format:constrained_response",
        read=r.yes_no_maybe,
        vocab=words("answer respond reply one following options option choose from exactly"),
        examples=(
            "Answer with one of ('My answer is yes.', 'My answer is no.', 'My answer is maybe.')",
        ),
    ),
    # -- content --------------------------------------------------------------------
    Rule(
        "postscript",
        "detectable_content:postscript",
        read=r.postscript_marker,
        vocab=words(
            "add adding include including append write postscript postscripts post-script post "
            "script start starting starts begin beginning begins with at end explicitly marked "
            "labeled labelled finish conclude close after main body"
        ),
        examples=("Add a postscript starting with P.S.", "end with a P.P.S"),
    ),
    Rule(
        "keywords_included",
        "keywords:existence",
        read=r.keywords_included,
        vocab=words("somewhere into"),
        examples=("Include the keywords rock and roll", "mention 'Paris' and 'Rome'"),
    ),
    Rule(
        "keywords_forbidden",
        "keywords:forbidden_words",
        read=r.keywords_forbidden,
        vocab=words("anywhere"),
        examples=("Do not mention the words apple, banana", "avoid the word 'very'"),
    ),
    Rule(
        "keyword_count",
        "keywords:frequency",
        read=r.keyword_count,
        vocab=FREQUENCY_VOCAB,
        examples=("Use the word 'banana' at least 3 times",),
    ),
    Rule(
        "letter_count",
        "keywords:letter_frequency",
        read=r.letter_count,
        vocab=FREQUENCY_VOCAB,
        examples=("The letter q should appear at least 5 times", "do not use the letter e"),
    ),
    # -- length ---------------------------------------------------------------------
    Rule(
        "word_count",
        "length_constraints:number_words",
        read=r.Bound(
            r"words?",
            "relation",
            "num_words",
            subject=r"(?:total\s+)?word\s+count|number\s+of\s+words|word\s+limit",
            least=1,
        ),
        vocab=LENGTH_VOCAB,
        examples=("At least 300 words", "50 words or less", "word count must not exceed 200"),
    ),
    Rule(
        "sentence_count",
        "length_constraints:number_sentences",
        read=r.Bound(
            r"sentences?",
            "relation",
            "num_sentences",
            subject=r"(?:total\s+)?sentence\s+count|number\s+of\s+sentences",
            least=1,
            one_is_exact=True,
        ),
        vocab=LENGTH_VOCAB,
        examples=("In fewer than 5 sentences", "in a single sentence"),
    ),
    # -- language -------------------------------------------------------------------
    Rule(
        "response_language",
        "language:response_language",
        read=r.language,
        also=(r.NO_OTHER_LANGUAGE,),
        vocab=words("only language exclusively solely purely speak"),
        examples=("Respond in French", "your answer must be in German", "Hindi only"),
    ),
)
