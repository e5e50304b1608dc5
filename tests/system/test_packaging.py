"""The receiver installs and runs without the server's dependencies."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support import ROOT

BLOCK = """
import sys
BLOCKED = {"flask", "apscheduler", "sqlalchemy", "pydub", "ffmpeg", "waitress", "amqtt", "werkzeug",
           "broadcaster"}
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"the agent must not import {name}")
        return None
sys.meta_path.insert(0, Blocker())
import edge_agent.agent, edge_agent.cli, edge_agent.sinks, edge_agent.protocol
sys.argv = ["edge-agent", "--config", sys.argv[1], "--check-config"]
sys.exit(edge_agent.cli.main())
"""


def test_agent_runs_without_server_dependencies(tmp_path: Path) -> None:
    config = tmp_path / "agent.toml"
    config.write_text('device_id = "loa-01"\ntrusted_keys = ["x/DEua5ZOKtAWlFVrXDvG8U8gcyT0+sSGBqUZ+vt5/Y="]\n')
    result = subprocess.run([sys.executable, "-c", BLOCK, str(config)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "configuration OK" in result.stdout


def test_base_dependencies_are_the_agent_alone() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    # MQTT, and Ed25519 to check that orders come from the server: nothing of the server's stack.
    assert [d.split(">")[0].split("<")[0] for d in project["dependencies"]] == ["paho-mqtt", "cryptography"]
    assert project["scripts"] == {"broadcaster": "broadcaster.cli:main", "edge-agent": "edge_agent.cli:main"}


def test_the_server_and_the_receiver_say_the_version_the_package_has() -> None:
    import tomllib

    import broadcaster
    import edge_agent

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert broadcaster.__version__ == edge_agent.__version__ == project["version"]
