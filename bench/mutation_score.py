"""Print the score of the last `make mutation` run, per module, from mutmut's result files.

Caught = killed + timeout (a mutant that makes the tests hang is detected). "No tests" counts as
not caught. Mutants not checked (outside the run's targets, or the run was stopped) are left out
and counted separately. Survivors are listed so they can be judged in docs/benchmarks.md.
"""

from __future__ import annotations

import fnmatch
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

from mutmut.stats import status_by_exit_code

ROOT = Path(__file__).resolve().parent.parent


def main(targets: list[str]) -> int:
    """``targets``: the run's mutant-name patterns (as given to `mutmut run`); all when empty."""
    metas = sorted((ROOT / "mutants").rglob("*.py.meta"))
    if not metas:
        print("No mutation results: run `make mutation` first.")
        return 1
    per_module: dict[str, Counter[str]] = defaultdict(Counter)
    survivors: list[str] = []
    for meta in metas:
        data = json.loads(meta.read_text())
        for name, code in data.get("exit_code_by_key", {}).items():
            if targets and not any(fnmatch.fnmatch(name, pattern) for pattern in targets):
                continue
            status = status_by_exit_code[code]
            module = name.split(".x")[0].split(".xǁ")[0]
            per_module[module][status] += 1
            if status in ("survived", "no tests"):
                survivors.append(f"{name}: {status}")
    total: Counter[str] = Counter()
    print(f"{'module':45} {'checked':>8} {'caught':>7} {'score':>6}")
    for module, counts in sorted(per_module.items()):
        total.update(counts)
        caught = counts["killed"] + counts["timeout"] + counts["caught by type check"]
        checked = sum(v for k, v in counts.items() if k != "not checked")
        if checked:
            print(f"{module:45} {checked:8d} {caught:7d} {100 * caught / checked:5.1f}%")
    caught = total["killed"] + total["timeout"] + total["caught by type check"]
    checked = sum(v for k, v in total.items() if k != "not checked")
    if checked:
        print(f"{'all':45} {checked:8d} {caught:7d} {100 * caught / checked:5.1f}%")
    print(f"not checked (run stopped before them): {total['not checked']}")
    print("\nSurvivors:")
    for line in survivors:
        print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
