"""Which language a response is in: langdetect, seeded (IFEval's is not, so it could
vary between runs), and the language codes IFEval names."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import Any

__all__ = [
    "LANGDETECT_CODES",
    "LANGUAGE_CODES",
    "detect_language",
    "language_name",
    "language_probabilities",
]

# IFEval's language names (instructions_util.py).
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
LANGDETECT_CODES = frozenset(
    re.split(
        r"\s+",
        "af ar bg bn ca cs cy da de el en es et fa fi fr gu he hi hr hu id it ja kn ko lt lv "
        "mk ml mr ne nl no pa pl pt ro ru sk sl so sq sv sw ta te th tl tr uk ur vi zh-cn zh-tw",
    )
)

_lang_lock = threading.Lock()
_lang_factory: list[Any] = []


def language_probabilities(text: str) -> list[tuple[str, float]] | None:
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
    ranked = language_probabilities(text)
    if ranked is None:
        return None
    return ranked[0][0] if ranked else "unknown"


def language_name(code: str) -> str:
    name = LANGUAGE_CODES.get(code)
    return f"{name} ('{code}')" if name else f"'{code}'"
