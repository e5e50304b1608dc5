"""``python -m broadcaster.ops.conformance``: the kit's command line (docs/conformance.md)."""

from __future__ import annotations

import argparse
import logging
import shlex
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from broadcaster.ops.conformance.checks import Kit
from broadcaster.ops.conformance.common import PLACEHOLDERS

logger = logging.getLogger("broadcaster.ops.conformance")


def parse_template(command: str) -> list[str]:
    """The receiver command split into arguments; ValueError naming a placeholder the kit does not know."""
    parts = shlex.split(command)
    if not parts:
        raise ValueError("the receiver command is empty")
    for part in parts:
        try:
            part.format(**dict.fromkeys(PLACEHOLDERS, ""))
        except (KeyError, IndexError) as exc:
            raise ValueError(f"unknown placeholder {exc} in {part!r}; known: "
                             f"{', '.join('{' + p + '}' for p in PLACEHOLDERS)} (write {{{{ and }}}} for a brace)"
                             ) from None
    return parts


def work_folder(wanted: str | None) -> Path:
    """The run's folder: ``wanted`` (created; refused if it holds anything, so the kit never removes what it
    did not make), or a new temporary folder."""
    if wanted is None:
        return Path(tempfile.mkdtemp(prefix="loaxa-conformance-"))
    path = Path(wanted).resolve()
    if path.exists() and any(path.iterdir()):
        raise ValueError(f"--workdir {path} is not empty")
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def tail(path: Path, lines: int = 20) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
    except OSError:
        return []


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m broadcaster.ops.conformance",
                                     description="Check a receiver against a real server and broker "
                                                 "(docs/conformance.md).")
    parser.add_argument("--receiver", required=True, metavar="COMMAND",
                        help="the receiver to test, a command template with placeholders {host} {port} {device_id} "
                             "{password} {password_file} {root} {trusted_key} {config} {workdir}")
    parser.add_argument("--workdir", metavar="DIR", help="folder for this run (absent or empty); default: a new "
                                                         "temporary folder")
    parser.add_argument("--step-timeout", type=float, default=60.0, metavar="SECONDS",
                        help="how long each step waits for the receiver (default 60)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder even when every check passed")
    args = parser.parse_args(argv)
    try:
        template = parse_template(args.receiver)
        workdir = work_folder(args.workdir)
    except ValueError as exc:
        print(f"conformance: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(filename=str(workdir / "server.log"), level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    signal.signal(signal.SIGTERM, _interrupt)
    print(f"# Loa xã conformance kit: receiver {args.receiver!r}", flush=True)
    print(f"# work folder {workdir}", flush=True)
    kit = Kit(template, workdir, args.step_timeout)
    interrupted = False
    started = time.monotonic()
    try:
        kit.setup()
        kit.run()
    except KeyboardInterrupt:
        interrupted = True
        print("# interrupted: stopping the receiver, the worker and the broker", flush=True)
    except Exception as exc:
        logger.exception("setup failed")
        kit.failed += 1
        print(f"FAIL set up the server and the broker: {exc}", flush=True)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        kit.close()
    passed, failed = kit.passed, kit.failed
    if failed or interrupted:
        print(f"# receiver output: {kit.log_path} (last lines below); server log: {workdir / 'server.log'}")
        for line in tail(kit.log_path):
            print(f"#   {line}")
    if args.keep or failed or interrupted:
        print(f"# work folder kept: {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"# took {time.monotonic() - started:.0f} s")
    print(f"{passed} passed, {failed} failed", flush=True)
    if interrupted:
        return 130
    return 0 if failed == 0 else 1
