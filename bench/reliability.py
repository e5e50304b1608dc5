"""Run the resilience suite and print docs/reliability.md's table from what each test counted.

    .venv/bin/python -m bench.reliability            # SQLite; with TEST_DATABASE_URL, PostgreSQL as well

Each fault test records what it tried and its counts (lost, duplicated, crashes, server errors and more) through
the ``tally`` fixture of tests/resilience/conftest.py; a row's last column is the command that reproduces it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

COUNTS = ("lost", "duplicated", "crashes", "server_errors")


def rows(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def table(records: list[dict[str, object]]) -> str:
    lines = ["| test | what was tried | lost | duplicated | crashes | 5xx | other counts | outcome | reproduce |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in sorted(records, key=lambda r: str(r["test"])):
        test = str(row["test"])
        name = test.split("::", 1)[1]
        others = ", ".join(f"{k} {v}" for k, v in row.items()
                           if k not in (*COUNTS, "test", "tried", "outcome"))
        lines.append(f"| {name} | {row['tried']} | " + " | ".join(str(row.get(k, 0)) for k in COUNTS)
                     + f" | {others} | {row.get('outcome')} | `scripts/test '{test}'` |")
    return "\n".join(lines)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "tally.jsonl"
        env = {**os.environ, "LOAXA_RELIABILITY": str(out)}
        command = [sys.executable, "-m", "pytest", "-q", "-n", "4", "--dist", "loadgroup", "tests/resilience"]
        code = subprocess.call(command, env=env)
        print(table(rows(out)) if out.exists() else "no test recorded a tally")
    return code


if __name__ == "__main__":
    sys.exit(main())
