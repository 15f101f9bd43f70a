"""Responses for the IFEval dev rows, and the checks' results on them, for a golden test.

The golden file holds the rows too, so the test needs nothing outside the repository.
`responses(row)` builds, deterministically, about forty responses per dev row out of the
row's own prompt and arguments (keywords in other cases and inside other words, section
markers, postscripts, end phrases, bullets, highlights, titles, JSON, other languages,
...), so that every check passes on some and fails on others. `results(rows)` scores them
with `score_response` and `check_instruction`. The golden file was written by the checks
as they were verified against lm-eval-harness's IFEval (0 mismatches), before they were
split into modules and before user arguments stopped being regular expressions:

    .venv/bin/python tests/ifeval_golden.py  # rewrites tests/data/ifeval_dev_golden.json

Only rewrite it when a change of a check's result is intended.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import sys
from pathlib import Path
from typing import Any

from cadenza.validators.ifeval import check_instruction, score_response

DEV_JSONL = Path("/work/shared/benchmarks/ifeval/dev.jsonl")
GOLDEN = Path(__file__).resolve().parent / "data" / "ifeval_dev_golden.json"

_OTHER_LANGUAGES = (
    "el perro corre muy rápido por la calle y luego descansa en la casa",
    "der Hund läuft sehr schnell durch die Straße und schläft dann im Haus",
    "यह एक परीक्षण वाक्य है जो हिंदी में लिखा गया है",
    "これは日本語で書かれたテストの文章です",
    "Это тестовое предложение, написанное по-русски",
)
_FIXED = (
    "My answer is yes.",
    "My answer is maybe",
    '{"name": "value", "items": [1, 2, 3]}',
    '```json\n{"key": "value"}\n```',
    "<<A Title Here>>",
    "<< >>",
    "[address] and [name]",
    "*highlighted part*",
    "**bold part**",
    "* first item",
    "- second item",
    "1. numbered item",
    "NASA and the USA said OK",
    "a, b, c",
    "1,000 people",
    '"quoted words"',
    "P.S. a note",
    "p.p.s another note",
    "PS: short",
    "Section 1",
    "SECTION 2",
    "***",
    "******",
    "...",
    "Mr. Smith went to Washington. He arrived at 5 p.m. on Jan. 3rd.",
)
_SEPARATORS = (" ", "\n", "\n\n", "\n\n***\n\n", "\n******\n", ". ", ", ")


def _arg_strings(kwargs: list[dict[str, Any] | None]) -> list[str]:
    out: list[str] = []
    for kw in kwargs:
        for name, value in (kw or {}).items():
            if isinstance(value, str) and name not in ("relation", "let_relation"):
                out.append(value)
            elif isinstance(value, list):
                out.extend(v for v in value if isinstance(v, str))
    return out


def _variants(text: str) -> list[str]:
    return [
        text,
        text.upper(),
        text.lower(),
        text.capitalize(),
        text + "s",
        "un" + text,
        f"*{text}*",
        f"{text}, {text}",
        f"{text}\n{text}",
    ]


def _targeted(kwargs: list[dict[str, Any] | None]) -> list[str]:
    """Responses shaped after the row's arguments, near the line between pass and fail."""
    out = [" ".join([s] * 3) for s in _OTHER_LANGUAGES]
    out += ['{"answer": "short"}', '```JSON\n["a", "b"]\n```', "{not json}"]
    for kw in kwargs:
        kw = {k: v for k, v in (kw or {}).items() if v is not None}
        n = int(kw.get("num_paragraphs") or kw.get("num_sections") or 3)
        first = str(kw.get("first_word") or "Then")
        splitter = str(kw.get("section_spliter") or "Section")
        for count in (n - 1, n, n + 1):
            paragraphs = [f"{first} comes paragraph {i}." for i in range(1, count + 1)]
            out.append("\n\n".join(paragraphs))
            out.append("\n***\n".join(paragraphs))
            out.append("\n\n".join(f"{splitter} {i}\n{p}" for i, p in enumerate(paragraphs, 1)))
    return out


def responses(row: dict[str, Any]) -> list[str]:
    """About fifty responses for one dev row, the same ones on every call."""
    rng = random.Random(int(row["key"]))
    prompt: str = row["prompt"]
    words = re.findall(r"\w+", prompt) or ["word"]
    fragments = list(_FIXED) + list(_OTHER_LANGUAGES)
    for arg in _arg_strings(row["kwargs"]):
        fragments.extend(_variants(arg))
        if re.fullmatch(r"[A-Za-z]+", arg):
            fragments.extend(f"{arg} {n}" for n in range(1, 6))
    out = ["", "   ", prompt, prompt.upper(), prompt.lower(), f'"{prompt}"']
    out += _targeted(row["kwargs"])
    for _ in range(28):
        pieces: list[str] = []
        for _ in range(rng.randint(1, 14)):
            if rng.random() < 0.45:
                n = rng.randint(1, 25)
                sentence = " ".join(rng.choice(words) for _ in range(n))
                pieces.append(sentence + rng.choice([".", "!", "?", "", "."]))
            else:
                pieces.append(rng.choice(fragments))
        text = ""
        for piece in pieces:
            text += (rng.choice(_SEPARATORS) if text else "") + piece
        roll = rng.random()
        if roll < 0.1:
            text = text.upper()
        elif roll < 0.2:
            text = text.lower()
        elif roll < 0.27:
            text = f'"{text}"'
        if rng.random() < 0.12:
            text = prompt + "\n\n" + text
        if rng.random() < 0.1:
            text = rng.choice(_OTHER_LANGUAGES) + " " + rng.choice(_OTHER_LANGUAGES)
        out.append(text)
    return out


def results(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per row: the row itself, [strict, loose] per instruction per response, and a
    digest of the strict verdicts' scores and reasons (so a changed reason shows up)."""
    golden: dict[str, Any] = {}
    for row in rows:
        ids, kwargs, prompt = row["instruction_id_list"], row["kwargs"], row["prompt"]
        flags: list[list[list[bool]]] = []
        digest = hashlib.sha256()
        for response in responses(row):
            scored = score_response(prompt, response, ids, kwargs)
            flags.append([[strict, loose] for _, strict, loose in scored])
            for iid, kw in zip(ids, kwargs, strict=True):
                v = check_instruction(iid, response, kw, prompt=prompt)
                digest.update(f"{iid}\0{v.score:.6f}\0{v.reason}\0".encode())
        golden[str(row["key"])] = {"row": row, "results": flags, "verdicts": digest.hexdigest()}
    return golden


def load_rows() -> list[dict[str, Any]]:
    return [json.loads(line) for line in DEV_JSONL.read_text().splitlines() if line.strip()]


if __name__ == "__main__":
    GOLDEN.parent.mkdir(exist_ok=True)
    data = results(load_rows())
    GOLDEN.write_text(json.dumps(data, separators=(",", ":"), sort_keys=True) + "\n")
    sys.stdout.write(f"wrote {GOLDEN} ({len(data)} rows)\n")
