"""Regional brokers, measured: run tests/network/test_regions.py (a central mosquitto, two regional ones bridged
to it, each in a network namespace of its own, real receivers behind each region) and print what each of its
tests measured: the bytes the central host sent over each region's link for a province-wide emergency, and
how long a region took to catch up after a cut bridge, a killed regional broker and a central broker down.

    sudo PYTHONPATH=$PWD .venv/bin/python -m bench.regions      # root: the tests build network namespaces

Region a has 2 receivers, region b has 3: were the centre to send a copy per receiver, b's bytes would be half
as much again as a's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "regions.jsonl"
        env = dict(os.environ, LOAXA_REGIONS=str(path))
        run = subprocess.run([sys.executable, "-m", "pytest", "tests/network/test_regions.py", "-q",
                              "-p", "no:cacheprovider"], env=env, capture_output=True, text=True)
        if run.returncode != 0 or not path.exists():
            print(run.stdout[-3000:], run.stderr[-2000:], sep="\n")
            return 1
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    for row in rows:
        figure = row.pop("figure")
        if figure == "emergency":
            audio = row["audio_bytes"]
            print(f"emergency to the province: {audio} bytes of audio; the centre sent region a (2 receivers) "
                  f"{row['sent_to_a']} bytes ({row['sent_to_a'] / audio:.2f} x the audio), region b (3 receivers) "
                  f"{row['sent_to_b']} bytes ({row['sent_to_b'] / audio:.2f} x); click to all 5 played: "
                  f"{row['seconds_to_all_played']} s")
        else:
            print(f"{figure}: " + ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in row.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
