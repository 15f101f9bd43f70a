"""Answers from sources: a run's file and web searches, the passages it shows the model,
and the checks that its answer cites them and keeps to them.

tools.py      `ToolSet`: a run's `FileSearch` / `WebSearch` and the library and searcher
retriever.py  `Retriever`: the searches, multi-hop follow-ups, the passages chosen; trace nodes
hops.py       names in passages that lead to the next passage (multi-hop, no model)
evidence.py   `Evidence`: what was found and shown, with short ids (``P1``); `data_sources`
prompts.py    the answer prompt (passages, question, how to answer) and short answers
spans.py      what a short factual question asks for; candidate answers cut out of passages
choose.py     `Extract`: the model chooses among those candidates under a grammar
citations.py  reading ``[P1]`` citations, sentence by sentence
checks.py     the built-in validators ``cites_sources`` and ``grounded``
"""

from .checks import cites_sources, grounded
from .citations import cited_labels, cited_sentences, strip_citations
from .evidence import Evidence, Found, Source
from .retriever import RetrievalSettings, Retriever
from .tools import Tool, ToolSet

__all__ = [
    "Evidence",
    "Found",
    "RetrievalSettings",
    "Retriever",
    "Source",
    "Tool",
    "ToolSet",
    "cited_labels",
    "cited_sentences",
    "cites_sources",
    "grounded",
    "strip_citations",
]
