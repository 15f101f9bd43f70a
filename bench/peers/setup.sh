#!/usr/bin/env bash
# Build the peers' own environment, bench/peers/.venv, apart from cadenza's .venv:
#   bash bench/peers/setup.sh        (or: make peers-env)
# DSPy and optillm live only here; cadenza's dependencies never include them (nor LiteLLM).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"
python="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
# 1. DSPy's run-time dependencies, pinned exactly (no LiteLLM, no torch).
"$venv/bin/python" -m pip install --quiet -r "$here/requirements.txt"
# 2. The peers themselves, checked against their recorded hashes, without their
#    declared dependencies (DSPy's LiteLLM, optillm's torch, transformers, ...).
"$venv/bin/python" -m pip install --quiet --no-deps --require-hashes -r "$here/requirements-peers.txt"
# 3. Check what must and must not be there, and that the peers load as run.py loads them.
cd "$here" && LITELLM_LOCAL_MODEL_COST_MAP=true "$venv/bin/python" -c "
import importlib.util, sys
for banned in ('litellm', 'torch', 'transformers'):
    if importlib.util.find_spec(banned) is not None:
        sys.exit(banned + ' is installed in the peers environment: it must not be')
import dspy, peers_worker as worker
worker.load_optillm_bon()
worker.plain_adapter_class()
assert 'litellm' not in sys.modules, 'DSPy imported LiteLLM'
print('peers environment ready: DSPy', dspy.__version__, '+ optillm bon; no LiteLLM, no torch')
"
