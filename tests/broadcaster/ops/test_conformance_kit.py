"""The conformance kit (python -m broadcaster.ops.conformance, docs/conformance.md), run as a third party runs it:
against our own receiver it passes every check; against a receiver that never connects, or exits at once, it
fails quickly, names the receiver's log, and leaves no process behind."""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
from pathlib import Path

from broadcaster.ops.conformance import Kit
from tests.support import ROOT

REPO = ROOT
PYTHON = shlex.quote(sys.executable)


Run = subprocess.CompletedProcess[str]


def run_kit(receiver: str, workdir: Path, *options: str, timeout: float = 240) -> tuple[Run, float]:
    """The kit's run, and how long it took (s)."""
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "broadcaster.ops.conformance", "--receiver", receiver,
                             "--workdir", str(workdir), *options],
                            cwd=REPO, capture_output=True, text=True, timeout=timeout)
    return result, time.monotonic() - started


def check_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(("PASS ", "FAIL "))]


def number_of_checks(tmp_path: Path) -> int:
    return len(Kit([], tmp_path, 1.0).checks())  # a Kit starts nothing until setup()


def test_our_receiver_passes_every_check(tmp_path: Path) -> None:
    result, took = run_kit(f"{PYTHON} -m edge_agent.cli --config {{config}}", tmp_path / "run")
    lines = check_lines(result.stdout)
    checks = number_of_checks(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(lines) == checks and all(line.startswith("PASS ") for line in lines), result.stdout
    assert result.stdout.splitlines()[-1] == f"{checks} passed, 0 failed"
    assert not (tmp_path / "run").exists(), "a run where everything passed leaves nothing behind (no --keep)"
    print(f"the kit took {took:.0f} s against our receiver")


def leftover_processes(marker: str) -> list[str]:
    """Command lines of live processes that carry ``marker``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if marker in text:
            found.append(text)
    return found


def test_a_receiver_that_never_connects_fails_quickly_and_is_stopped(tmp_path: Path) -> None:
    marker = f"never-connects-{tmp_path.name}"
    receiver = f'{PYTHON} -c "import time; time.sleep(600)" {marker}'
    result, took = run_kit(receiver, tmp_path / "run", "--step-timeout", "5", timeout=120)
    lines = check_lines(result.stdout)
    checks = number_of_checks(tmp_path)
    assert result.returncode != 0
    assert lines[0].startswith("FAIL comes online: expected a retained status 'online'"), result.stdout
    assert len(lines) == checks and all(line.startswith("FAIL ") for line in lines), result.stdout
    assert all("never came online" in line for line in lines[1:]), "the other checks fail at once, saying why"
    assert result.stdout.splitlines()[-1] == f"0 passed, {checks} failed"
    assert took < 60, f"a receiver that never connects must not hold the kit up ({took:.0f} s)"
    assert leftover_processes(marker) == [], "the receiver under test was stopped"


def test_a_receiver_that_exits_is_reported_with_its_log(tmp_path: Path) -> None:
    receiver = f"{PYTHON} -c \"print('receiver under test: giving up'); raise SystemExit(3)\""
    result, _ = run_kit(receiver, tmp_path / "run", "--step-timeout", "20", timeout=120)
    assert result.returncode != 0
    assert "FAIL comes online: the receiver exited with code 3" in result.stdout, result.stdout
    log = tmp_path / "run" / "receiver.log"
    assert f"# receiver output: {log}" in result.stdout, "the output names the receiver's log file"
    assert "receiver under test: giving up" in log.read_text(), "kept for inspection after a failure"
    assert "#   receiver under test: giving up" in result.stdout, "and its last lines are shown"
