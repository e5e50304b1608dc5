"""What every channel shares: the message handed to a transport and the error a transport raises."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Outgoing:
    """One message for one address: ``data`` is the JSON a webhook receives."""

    id: int
    address: str
    title: str
    body: str
    data: dict[str, object]


class SendError(Exception):
    """A message was not delivered: ``retry_after`` when the other side said when to try again."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Transport(Protocol):
    one_endpoint: bool
    """Every message goes to the same service (Telegram): a "slow down" from it holds the whole channel."""

    def send(self, message: Outgoing) -> None:
        """Deliver ``message`` or raise ``SendError``; never wait longer than the channel's timeout."""
