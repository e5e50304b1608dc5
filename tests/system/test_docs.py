"""The protocol document's examples are valid messages (the document cannot drift from the code)."""

from __future__ import annotations

import json
import re

from edge_agent.protocol import decode
from tests.support import ROOT

DOC = ROOT / "docs" / "protocol.md"


def test_every_json_example_in_the_protocol_document_decodes() -> None:
    blocks = re.findall(r"```json\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) >= 7
    kinds = set()
    for block in blocks:
        message = decode(block.encode())
        kinds.add(json.loads(block)["type"])
        assert message.to_dict()["type"] == json.loads(block)["type"]
    assert kinds == {"schedule", "manifest", "alert", "status", "heartbeat", "delivery", "playback", "chunk_request",
                     "refused", "command", "live_start", "live_stop"}


def test_the_receiver_guide_documents_every_agent_setting() -> None:
    from dataclasses import fields, is_dataclass

    from edge_agent.config import AgentConfig

    guide = (DOC.parent / "edge.md").read_text(encoding="utf-8")

    def names(cls: type, prefix: str = "") -> list[str]:
        out = []
        for f in fields(cls):
            kind = f.default_factory() if callable(f.default_factory) else None  # type: ignore[misc]
            if kind is not None and is_dataclass(kind):
                out += names(type(kind), f"{prefix}{f.name}.")
            else:
                out.append(prefix + f.name)
        return out

    missing = [name for name in names(AgentConfig) if f"`{name}`" not in guide]
    assert not missing, f"docs/edge.md does not document {missing}"


def test_the_protocol_document_names_every_refusal_reason_a_receiver_reports() -> None:
    from edge_agent.protocol.signing import REFUSAL_REASONS

    text = DOC.read_text(encoding="utf-8")
    missing = [reason for reason in REFUSAL_REASONS if f"| `{reason}` |" not in text]
    assert not missing, f"docs/protocol.md's refusal table lacks {missing}"
