"""JSON API under /api/v1, one module per subject (base.py: the blueprint, errors, authentication, bodies).
Importing this package adds every operation to ``bp``."""

from broadcaster.web.api import (  # noqa: F401
    accounts,
    broadcasts,
    bulletins,
    calendar,
    cap,
    export,
    fleet,
    live,
    notifications,
    operations,
    speech,
)
from broadcaster.web.api.base import bp, error, http_error
from broadcaster.web.api.operations import event_stream

__all__ = ["bp", "error", "event_stream", "http_error"]
