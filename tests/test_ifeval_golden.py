"""The IFEval checks give the same results as the verified ones on the dev rows.

The golden file was written by the checks that were compared with lm-eval-harness's IFEval
(0 mismatches); see tests/ifeval_golden.py for the responses and how to rewrite it.
"""

from __future__ import annotations

import json

from ifeval_golden import GOLDEN, results


def test_checks_match_the_golden_results_on_the_dev_rows() -> None:
    golden = json.loads(GOLDEN.read_text())
    assert len(golden) == 133
    now = results([entry["row"] for entry in golden.values()])
    changed = [
        key
        for key, entry in golden.items()
        if now[key]["results"] != entry["results"] or now[key]["verdicts"] != entry["verdicts"]
    ]
    assert not changed, f"results or verdicts changed for dev rows {changed[:10]}"
