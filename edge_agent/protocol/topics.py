"""Topic names. Device id = MQTT username = client id, characters [a-z0-9-]."""

from __future__ import annotations

import re
from dataclasses import dataclass

DEVICE_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
ASSET_ID_RE = re.compile(r"^[0-9a-f]{64}$")
GROUP_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
"""A group of devices with a standing subscription (``a<area id>``: every device in that area and below)."""
DEFAULT_ROOT = "loaxa"


def valid_device_id(device_id: str) -> bool:
    return bool(DEVICE_ID_RE.match(device_id))


def covers(granted: str, wanted: str) -> bool:
    """Whether the topic filter ``granted`` takes in all of ``wanted`` (a topic, or a filter to subscribe to):
    ``+`` in ``granted`` stands for any one level (a ``+`` too), ``#`` for the rest, itself included."""
    have, want = granted.split("/"), wanted.split("/")
    for level, mine in enumerate(have):
        if mine == "#":
            return True
        if level >= len(want) or want[level] == "#" or (mine != "+" and (mine != want[level] or want[level] == "+")):
            return False
    return len(have) == len(want)


@dataclass(frozen=True)
class Topics:
    """Builds and parses every topic under one root (``loaxa`` unless configured)."""

    root: str = DEFAULT_ROOT

    # server -> device
    def schedule(self, device_id: str) -> str:
        return f"{self.root}/dev/{device_id}/schedule"

    def command(self, device_id: str) -> str:
        return f"{self.root}/dev/{device_id}/cmd"

    def manifest(self, asset: str) -> str:
        return f"{self.root}/blob/{asset}/manifest"

    def chunk(self, asset: str, seq: int) -> str:
        return f"{self.root}/blob/{asset}/{seq}"

    def probe(self, device_id: str) -> str:
        """A topic nothing is ever published on: a receiver subscribes to it to learn, from the broker's
        acknowledgement, that the retained messages of its earlier subscriptions have all reached it."""
        return f"{self.root}/blob/probe/{device_id}"

    def blob_all(self, asset: str) -> str:
        return f"{self.root}/blob/{asset}/+"

    # server -> every device of a group (an emergency reaches a whole area in one publish)
    def group(self, group: str) -> str:
        """A device's standing subscription to one of its groups."""
        return f"{self.root}/grp/{group}/#"

    def alert(self, group: str) -> str:
        return f"{self.root}/grp/{group}/alert"

    def group_chunk(self, group: str, asset: str, seq: int) -> str:
        return f"{self.root}/grp/{group}/blob/{asset}/{seq}"

    def live(self, group: str) -> str:
        """A live session's signed start and stop (retained)."""
        return f"{self.root}/grp/{group}/live"

    def live_audio(self, group: str) -> str:
        """A live session's signed audio packets."""
        return f"{self.root}/grp/{group}/live/audio"

    def group_of(self, topic: str) -> tuple[str, str | None, str] | None:
        """(group, None, 'alert' or 'live' or 'live/audio') or (group, asset, sequence number as text) for a
        group topic, or None."""
        parts = topic.split("/")
        if len(parts) < 4 or parts[0] != self.root or parts[1] != "grp" or not GROUP_RE.match(parts[2]):
            return None
        if len(parts) == 4 and parts[3] in ("alert", "live"):
            return parts[2], None, parts[3]
        if len(parts) == 5 and parts[3:] == ["live", "audio"]:
            return parts[2], None, "live/audio"
        if len(parts) == 6 and parts[3] == "blob" and ASSET_ID_RE.match(parts[4]) and parts[5].isdigit():
            return parts[2], parts[4], parts[5]
        return None

    # device -> server
    def status(self, device_id: str) -> str:
        return f"{self.root}/dev/{device_id}/status"

    def heartbeat(self, device_id: str) -> str:
        return f"{self.root}/dev/{device_id}/hb"

    def event(self, device_id: str, kind: str) -> str:
        return f"{self.root}/dev/{device_id}/evt/{kind}"

    def request(self, device_id: str) -> str:
        return f"{self.root}/dev/{device_id}/req"

    def chunk_requests(self) -> str:
        """Every device's requests for audio again (the server's subscription)."""
        return f"{self.root}/dev/+/req"

    # subscriptions of the server
    def report_subscriptions(self) -> list[str]:
        """Every device's status, heartbeats and events (what the workers store)."""
        return [self.status("+"), self.heartbeat("+"), self.event("+", "+")]

    def report_of(self, topic: str) -> tuple[str, str] | None:
        """(device id, kind) for what a device sent: kind ``status``, ``hb``, ``req`` or ``evt/<name>``."""
        parts = topic.split("/")
        if len(parts) < 4 or parts[0] != self.root or parts[1] != "dev" or not valid_device_id(parts[2]):
            return None
        kind = "/".join(parts[3:])
        if kind in ("status", "hb", "req") or (len(parts) == 5 and parts[3] == "evt" and parts[4]):
            return parts[2], kind
        return None

    # who may reach what: the broker's rules (mosquitto's ACL file, the embedded broker) are read from here
    def device_access(self, device_id: str) -> list[tuple[str, str]]:
        """(``read`` or ``write``, topic filter) for everything a device may reach: its own schedule and
        commands, its own reports, and every asset and group (audio and alerts are public, and signed).
        ``device_id`` may be mosquitto's ``%u``."""
        return [
            ("read", self.schedule(device_id)),
            ("read", self.command(device_id)),
            ("write", self.status(device_id)),
            ("write", self.heartbeat(device_id)),
            ("write", self.event(device_id, "#")),
            ("write", self.request(device_id)),
            ("read", f"{self.root}/blob/#"),
            ("read", f"{self.root}/grp/#"),
        ]

    def device_of(self, topic: str) -> str | None:
        """The device id in a ``<root>/dev/<id>/...`` topic, or None."""
        parts = topic.split("/")
        if len(parts) >= 4 and parts[0] == self.root and parts[1] == "dev" and valid_device_id(parts[2]):
            return parts[2]
        return None

    def blob_of(self, topic: str) -> tuple[str, str] | None:
        """(asset, 'manifest' or sequence number as text) for a blob topic, or None."""
        parts = topic.split("/")
        if len(parts) == 4 and parts[0] == self.root and parts[1] == "blob" and ASSET_ID_RE.match(parts[2]):
            return parts[2], parts[3]
        return None
