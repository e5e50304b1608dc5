"""Request helpers shared by the API and the pages."""

from __future__ import annotations

from flask import current_app, g
from sqlalchemy.orm import Session

from broadcaster.config import ServerConfig
from broadcaster.db import Database


def db() -> Session:
    """This request's database session (committed when the request ends without error)."""
    if "db" not in g:
        database: Database = current_app.extensions["broadcaster"]["db"]
        g.db = database.sessions()
    session: Session = g.db
    return session


def config() -> ServerConfig:
    cfg: ServerConfig = current_app.extensions["broadcaster"]["config"]
    return cfg
