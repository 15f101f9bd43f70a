"""A GBNF grammar run by lark's Earley parser, so tests can ask which texts it accepts.

Covers the GBNF that cadenza writes (and most of llama.cpp's): rules ``name ::= ...`` one
a line, string literals and character classes with ``\\x``, ``\\u``, ``\\U``, ``\\n``,
``\\t``, ``\\\\``, ``\\"`` escapes, groups, ``|`` (an empty alternative too), ``* + ?``
and ``{m}``, ``{m,}``, ``{m,n}``. Each literal and class becomes a regular-expression
terminal, so lark matches the text character by character as llama.cpp does.
"""

from __future__ import annotations

import re

from lark import Lark
from lark.exceptions import LarkError

__all__ = ["GbnfMatcher"]

_ESC = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "[": "[", "]": "]", "-": "-"}
_HEX = {"x": 2, "u": 4, "U": 8}


def _char(src: str, i: int) -> tuple[str, int]:
    if src[i] != "\\":
        return src[i], i + 1
    kind = src[i + 1]
    if kind in _HEX:
        n = _HEX[kind]
        return chr(int(src[i + 2 : i + 2 + n], 16)), i + 2 + n
    return _ESC[kind], i + 2


def _regex_char(c: str) -> str:
    if c in "\n\t\r":
        return {"\n": "\\n", "\t": "\\t", "\r": "\\r"}[c]
    if c.isascii() and not c.isalnum():
        return "\\" + c if c != " " else c
    return c


def _terminal(pattern: str) -> str:
    return "/" + pattern + "/"  # every "/" in it is escaped by _regex_char


def _tokens(rhs: str) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(rhs):
        c = rhs[i]
        if c.isspace():
            i += 1
        elif c == '"':
            text, i = "", i + 1
            while rhs[i] != '"':
                ch, i = _char(rhs, i)
                text += ch
            out.append(_terminal("".join(_regex_char(ch) for ch in text)))
            i += 1
        elif c == "[":
            i += 1
            negated = rhs[i] == "^"
            i += negated
            parts = []
            while rhs[i] != "]":
                lo, i = _char(rhs, i)
                if rhs[i] == "-" and rhs[i + 1] != "]":
                    hi, i = _char(rhs, i + 1)
                    parts.append(f"{_regex_char(lo)}-{_regex_char(hi)}")
                else:
                    parts.append(_regex_char(lo))
            i += 1
            out.append(_terminal("[" + ("^" if negated else "") + "".join(parts) + "]"))
        elif c == "{" and out and out[-1].startswith("/"):
            # a bounded repetition of one literal or class: one terminal, as in a regex
            # (lark's dynamic lexer refuses terminals that match the empty text)
            j = rhs.index("}", i)
            lo, _, hi = rhs[i + 1 : j].partition(",")
            low = max(1, int(lo))
            bounds = f"{{{low},{hi}}}" if _ else f"{{{low}}}"
            out[-1] = "/(?:" + out[-1][1:-1] + ")" + bounds + "/"
            if int(lo) == 0:
                out[-1] = "(" + out[-1] + ")?"
            i = j + 1
        elif c == "{":
            j = rhs.index("}", i)
            bounds = rhs[i + 1 : j].split(",")
            lo = int(bounds[0])
            if len(bounds) == 1:
                out.append(f"~ {lo}")
            elif bounds[1].strip() == "":
                out.append(f"~ {lo} STAR")
            else:
                out.append(f"~ {lo}..{int(bounds[1])}")
            i = j + 1
        elif c in "()|*+?":
            out.append(c)
            i += 1
        else:
            m = re.match(r"[A-Za-z0-9-]+", rhs[i:])
            assert m, f"cannot read {rhs[i:]!r}"
            out.append("r_" + m.group(0).replace("-", "_").lower())
            i += m.end()
    return out


def _lark_rhs(tokens: list[str]) -> str:
    # Empty alternatives (``a ::= | "x"``) become an optional group.
    text = " ".join(tokens)
    alts = [a.strip() for a in _top_alternatives(tokens)]
    if any(not a for a in alts):
        text = "(" + " | ".join(a for a in alts if a) + ")?"
    # ``x ~ m STAR`` (from {m,}) -> ``x ~ m x*`` needs the item: expand on groups/atoms.
    while " STAR" in text:
        before, _, after = text.partition(" STAR")
        item_end = before.rindex(" ~ ")
        item = _last_item(before[:item_end])
        text = before + " " + item + "*" + after
    return text


def _top_alternatives(tokens: list[str]) -> list[str]:
    alts, depth, cur = [], 0, list[str]()
    for t in tokens:
        if t == "(":
            depth += 1
        elif t == ")":
            depth -= 1
        if t == "|" and depth == 0:
            alts.append(" ".join(cur))
            cur = []
        else:
            cur.append(t)
    alts.append(" ".join(cur))
    return alts


def _last_item(text: str) -> str:
    if text.endswith(")"):
        depth = 0
        for i in range(len(text) - 1, -1, -1):
            depth += {")": 1, "(": -1}.get(text[i], 0)
            if depth == 0:
                return text[i:]
    return text.split()[-1]


class GbnfMatcher:
    """Whether a GBNF grammar (start rule ``root``) accepts a whole text."""

    def __init__(self, gbnf: str) -> None:
        lines = []
        for raw in gbnf.splitlines():
            if not raw.strip() or raw.lstrip().startswith("#"):
                continue
            name, _, rhs = raw.partition("::=")
            lines.append(f"r_{name.strip().replace('-', '_').lower()}: {_lark_rhs(_tokens(rhs))}")
        self.lark_grammar = "\n".join(lines)
        self.parser = Lark(self.lark_grammar, start="r_root", parser="earley", lexer="dynamic")

    def accepts(self, text: str) -> bool:
        try:
            self.parser.parse(text)
        except LarkError:
            return False
        return True
