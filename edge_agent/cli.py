"""``edge-agent``: run a village receiver."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from edge_agent.agent import Agent
from edge_agent.amplifier import AmplifierError
from edge_agent.config import load_config, make_amplifier
from edge_agent.settings import ConfigError
from edge_agent.sinks import AlsaSink, AudioSink, FileSink


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="edge-agent", description=__doc__)
    parser.add_argument("--config", type=Path, help="agent TOML file (see config/agent.example.toml)")
    parser.add_argument("--audio", choices=["alsa", "file"], help="override audio.sink")
    parser.add_argument("--check-config", action="store_true", help="validate the config and exit")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        config = load_config(args.config)
        if args.audio:
            config.audio.sink = args.audio
    except ConfigError as exc:
        print(f"edge-agent: bad configuration: {exc}", file=sys.stderr)
        return 2
    if args.check_config:
        print("configuration OK")
        return 0
    sink: AudioSink
    if config.audio.sink == "file":
        sink = FileSink(config.played_dir, volume=config.audio.volume)
    else:
        sink = AlsaSink(config.audio.alsa_device, volume=config.audio.volume)
    try:
        amplifier = make_amplifier(config.amplifier)
    except AmplifierError as exc:
        print(f"edge-agent: {exc}", file=sys.stderr)
        return 2
    agent = Agent(config, sink, amplifier=amplifier)
    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: done.set())
    agent.start()
    try:
        done.wait()
    finally:
        agent.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
