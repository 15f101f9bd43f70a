"""Typed results: ask for JSON that matches a schema or a Python type, get a validated value.

    result = cadenza.run("Extract the person", output_type=Person)   # or a JSON Schema dict
    result.output          # a Person, or None when no answer matched
    result.result          # the answer's text

spec.py         `OutputSpec`: the output type, how an answer is checked and repaired
schema.py       JSON Schema validation (jsonschema, declared draft, formats, RE2 patterns)
parse.py        strict JSON reading; Markdown fences
constraint.py   the schema sent to a decoding engine, tightened when answers run long
requirement.py  the ``output_schema`` requirement, the constraint per call, the value
"""

# requirement.py is imported where a run needs it: it depends on the task, which
# depends on OutputSpec.
from .schema import SchemaProblem
from .spec import OutputCheck, OutputSpec

__all__ = ["OutputCheck", "OutputSpec", "SchemaProblem"]
