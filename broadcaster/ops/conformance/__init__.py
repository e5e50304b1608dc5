"""The conformance kit: a receiver under test (ours or anyone's, in any language) against a real server and broker.

    python -m broadcaster.ops.conformance --receiver 'python -m edge_agent.cli --config {config}'

The kit sets up, in a work folder of its own, a mosquitto with one device (``kit-01``), a SQLite database, a
signing key, the server's worker and its web API; starts the receiver command; and then drives the public API
as an operator would, watching what the receiver reports over MQTT and what the server stores. It prints one
``PASS <check>`` or ``FAIL <check>: <expected, seen>`` line per check, then ``N passed, M failed``; the exit
code is 0 only when every check passed. docs/conformance.md is the guide for third parties.

The receiver command is a template, split like a shell would (``shlex``), each argument then filled in with
``str.format``: {host} {port} {device_id} {password} {password_file} {root} {trusted_key} {config} {workdir}
(see PLACEHOLDERS). ``{config}`` is an agent.toml in our edge agent's format, for convenience.
"""

from broadcaster.ops.conformance.checks import Kit
from broadcaster.ops.conformance.cli import main

__all__ = ["Kit", "main"]
