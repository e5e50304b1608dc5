"""The protocol document's examples are valid messages (the document cannot drift from the code)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from edge_agent.protocol import decode

DOC = Path(__file__).resolve().parent.parent / "docs" / "protocol.md"


def test_every_json_example_in_the_protocol_document_decodes() -> None:
    blocks = re.findall(r"```json\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) >= 7
    kinds = set()
    for block in blocks:
        message = decode(block.encode())
        kinds.add(json.loads(block)["type"])
        assert message.to_dict()["type"] == json.loads(block)["type"]
    assert kinds == {"schedule", "manifest", "status", "heartbeat", "delivery", "playback", "chunk_request",
                     "refused", "command"}
