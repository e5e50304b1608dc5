"""The officers' pages, one module per subject (base.py: the blueprint, labels, refusals, login). Importing this
package adds every page to ``bp`` (the blueprint named ``ui``)."""

from broadcaster.web.pages import (  # noqa: F401
    admin,
    broadcasts,
    bulletins,
    calendar,
    cap,
    fleetmap,
    live,
    notifications,
    operations,
    public,
    session,
    writing,
)
from broadcaster.web.pages.base import bp
from broadcaster.web.pages.errors import error_page

__all__ = ["bp", "error_page"]
