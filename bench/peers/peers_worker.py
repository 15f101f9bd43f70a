"""The peers' side of the peers benchmark: DSPy's BestOfN and Refine, optillm's bon.

Runs in the peers' own environment (``bench/peers/.venv``, made by ``setup.sh``), never in
cadenza's. `run.py` starts it and talks to it in JSON lines:

    stdin:  {"id", "arm", "key", "prompt", "base_url", "score_url", "max_tokens"}
    stdout: {"id", "response", "error", "detail"}

``base_url`` is the counting proxy's address for this arm and prompt (``.../t/<tag>/v1``):
every model call goes there. ``score_url`` is the proxy's ``/score``: the reward, cadenza's
exact IFEval checks on the prompt's instructions, computed by the driver.

Arms (N from the name: ``dspy_bon4``, ``dspy_refine4``, ``optillm_bon4``; ``optillm_bon``
is optillm's default n = 3):

- ``dspy_bonN``: ``dspy.BestOfN(Respond(), N, reward, threshold=1.0)``;
- ``dspy_refineN``: ``dspy.Refine(Respond(), N, reward, threshold=1.0)``;
- ``optillm_bonN``: optillm's ``best_of_n_sampling("", prompt, client, model, n,
  {"max_tokens": ...})``, unchanged, loaded from the installed package's ``bon.py``
  without running the package's ``__init__`` (see `load_optillm_bon`).

DSPy talks to the server through its own ``dspy.LM`` (``openai/<model>`` with
``api_base``): DSPy 3.4 has a native engine for OpenAI-compatible servers, so LiteLLM is
not installed at all. Prompts go through `PlainAdapter` (DSPy's ChatAdapter and
JSONAdapter templates break a 135M model).
"""

from __future__ import annotations

import argparse
import contextvars
import importlib.util
import json
import os
import sys
import threading
import traceback
import types
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

# DSPy fetches LiteLLM's model-price map from the network on first use unless told not
# to; the bundled snapshot is enough (and the benchmark must not reach the network).
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "true")

MODEL = "smollm2"

_inputs: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "inputs", default=None
)
_task = threading.local()


# -- the reward ---------------------------------------------------------------------------


def score(response: str) -> float:
    """Share of this prompt's IFEval instructions met (cadenza's exact checks, strict)."""
    payload = json.dumps({"key": _task.key, "response": response}).encode()
    request = urllib.request.Request(
        _task.score_url, data=payload, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        return float(json.load(answer)["share"])


def ifeval_reward(args: dict[str, Any], pred: Any) -> float:
    """1.0 when the response meets every instruction of the prompt; else the share met."""
    return score(pred.response or "")


# -- DSPy -----------------------------------------------------------------------------------


def dspy_program(arm: str) -> Any:
    import dspy

    class Respond(dspy.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.respond = dspy.Predict("prompt -> response")

        def forward(self, prompt: str) -> Any:
            return self.respond(prompt=prompt)

    n = _n(arm)
    if arm.startswith("dspy_bon"):
        return dspy.BestOfN(Respond(), N=n, reward_fn=ifeval_reward, threshold=1.0)
    return dspy.Refine(Respond(), N=n, reward_fn=ifeval_reward, threshold=1.0)


def plain_adapter_class() -> type:
    import dspy
    import json_repair
    from dspy.utils.exceptions import AdapterParseError

    class PlainAdapter(dspy.Adapter):  # type: ignore[misc]
        """One plain user message in; the whole reply out.

        - A signature whose instructions DSPy wrote itself (a plain ``prompt ->
          response``) sends its first input's value verbatim; any other input follows
          after a blank line as ``<its description>: <value>`` (Refine's hint reads "A
          hint to the module from an earlier run: ...").
        - A signature with its own instructions (Refine's ``OfferFeedback``) sends the
          instructions, then each input as ``<name>:`` and its value.
        - Every ``str`` output field gets the whole reply. A ``dict`` field gets the reply
          parsed as a JSON object when it is one; otherwise, when an input names the
          modules (Refine's ``module_names``), each of them gets the whole reply (Refine
          reads it as its advice to that module). Other types are parsed as JSON.
        """

        def __call__(self, lm: Any, lm_kwargs: Any, signature: Any, demos: Any, inputs: Any) -> Any:
            token = _inputs.set(dict(inputs))
            try:
                return super().__call__(lm, lm_kwargs, signature, demos, inputs)
            finally:
                _inputs.reset(token)

        def format(self, signature: Any, demos: Any, inputs: dict[str, Any]) -> list[Any]:
            fields = list(signature.input_fields.items())
            own = _own_instructions(signature)
            parts = [own] if own else []
            for i, (name, field) in enumerate(fields):
                value = inputs.get(name, "")
                text = value if isinstance(value, str) else json.dumps(value, default=str)
                if own:
                    parts.append(f"{name}:\n{text}")
                elif i == 0:
                    parts.append(text)
                else:
                    desc = (field.json_schema_extra or {}).get("desc") or name
                    parts.append(f"{desc}: {text}")
            return [{"role": "user", "content": "\n\n".join(parts)}]

        def parse(self, signature: Any, completion: str) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for name, field in signature.output_fields.items():
                kind = getattr(field.annotation, "__origin__", field.annotation)
                if field.annotation is str:
                    out[name] = completion
                    continue
                parsed = json_repair.loads(completion)
                if kind is dict and not isinstance(parsed, dict):
                    modules = _module_names(_inputs.get() or {})
                    if modules:
                        parsed = dict.fromkeys(modules, completion)
                if kind is dict and isinstance(parsed, dict):
                    out[name] = {str(k): str(v) for k, v in parsed.items()}
                    continue
                raise AdapterParseError(
                    adapter_name="PlainAdapter",
                    signature=signature,
                    lm_response=completion,
                    message=f"cannot read a {field.annotation} from the reply",
                )
            return out

    return PlainAdapter


def _own_instructions(signature: Any) -> str:
    """The signature's instructions, unless DSPy generated them from the field names."""
    text = (signature.instructions or "").strip()
    if text.startswith("Given the fields"):
        return ""
    return text


def _module_names(inputs: dict[str, Any]) -> list[str]:
    value = inputs.get("module_names")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return [str(v) for v in value] if isinstance(value, list) else []


def run_dspy(task: dict[str, Any], adapter: Any) -> dict[str, Any]:
    import dspy

    lm = dspy.LM(
        f"openai/{MODEL}",
        api_base=task["base_url"],
        api_key="local",
        max_tokens=task["max_tokens"],
        cache=False,
    )
    with dspy.context(lm=lm, adapter=adapter):
        pred = dspy_program(task["arm"])(prompt=task["prompt"])
    response = "" if pred is None else (pred.response or "")
    return {"response": response, "detail": {"all_attempts_failed": pred is None}}


# -- optillm ---------------------------------------------------------------------------------


def load_optillm_bon() -> Callable[..., tuple[str, int]]:
    """optillm's ``best_of_n_sampling``, from the installed ``optillm/bon.py``, unchanged.

    ``bon.py`` starts with ``import optillm`` and ``from optillm import
    conversation_logger``. The package's ``__init__`` imports torch, transformers,
    LiteLLM and more (none installed here), so it is not run: a bare module object named
    ``optillm`` whose ``__path__`` is the installed package's folder stands in for the
    package, ``conversation_logger`` (standard library only) is imported from that
    folder as usual, and ``bon.py`` is executed as ``optillm.bon``.
    """
    spec = importlib.util.find_spec("optillm")  # finds the folder; runs nothing
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("optillm is not installed in this environment: run setup.sh")
    folder = Path(next(iter(spec.submodule_search_locations)))
    package = types.ModuleType("optillm")
    package.__path__ = [str(folder)]
    package.__file__ = None
    sys.modules["optillm"] = package
    module_spec = importlib.util.spec_from_file_location("optillm.bon", folder / "bon.py")
    assert module_spec is not None and module_spec.loader is not None
    bon = importlib.util.module_from_spec(module_spec)
    sys.modules["optillm.bon"] = bon
    module_spec.loader.exec_module(bon)
    return bon.best_of_n_sampling  # type: ignore[no-any-return]


def run_optillm(task: dict[str, Any], best_of_n: Callable[..., tuple[str, int]]) -> dict[str, Any]:
    import openai

    client = openai.OpenAI(base_url=task["base_url"], api_key="local")
    n = _n(task["arm"])
    # As optillm's server calls it for a request with no system message.
    text, completion_tokens = best_of_n(
        "", task["prompt"], client, MODEL, n, {"max_tokens": task["max_tokens"]}
    )
    client.close()
    return {"response": text, "detail": {"bon_completion_tokens": completion_tokens, "n": n}}


def _n(arm: str) -> int:
    stem = arm.rstrip("0123456789")
    if stem == arm:
        if arm == "optillm_bon":
            return 3  # optillm's default (--best-of-n, OPTILLM_BEST_OF_N)
        raise ValueError(f"arm {arm!r} needs its N, e.g. {arm}4")
    return int(arm[len(stem) :])


# -- the loop ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description="peers benchmark worker (see run.py)")
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    # The protocol owns the real stdout; everything the libraries print goes to stderr.
    protocol = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    import dspy

    dspy.configure_cache(enable_disk_cache=False, enable_memory_cache=False)
    adapter = plain_adapter_class()()
    best_of_n = load_optillm_bon()
    lock = threading.Lock()
    protocol.write(json.dumps({"ready": True, "dspy": dspy.__version__}) + "\n")

    def handle(task: dict[str, Any]) -> None:
        _task.key, _task.score_url = task["key"], task["score_url"]
        try:
            if task["arm"].startswith("dspy_"):
                out = run_dspy(task, adapter)
            elif task["arm"].startswith("optillm_bon"):
                out = run_optillm(task, best_of_n)
            else:
                raise ValueError(f"unknown peer arm {task['arm']!r}")
            out["error"] = None
        except Exception as exc:
            traceback.print_exc()
            out = {"response": "", "error": f"{type(exc).__name__}: {exc}", "detail": {}}
        with lock:
            protocol.write(json.dumps({"id": task["id"], **out}) + "\n")

    with ThreadPoolExecutor(max_workers=args.threads) as pool:
        for line in sys.stdin:
            if line.strip():
                pool.submit(handle, json.loads(line))


if __name__ == "__main__":
    main()
