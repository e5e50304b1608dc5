"""The query parameters of the API's operations, for the OpenAPI document (broadcaster/web/openapi.py)."""

from __future__ import annotations

from typing import Any

from broadcaster.domain.rollup import FILTERS

J = dict[str, Any]
STR = {"type": "string"}
DATE = {"type": "string", "format": "date"}

AREA = {"name": "area", "in": "query", "description": "an area id: its clusters and those below it",
        "schema": {"type": "integer", "minimum": 1}}
VIEW = [AREA, {"name": "state", "in": "query",
               "schema": {"enum": list(FILTERS)}},
        {"name": "q", "in": "query", "description": "words of the name or the id", "schema": STR},
        {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100_000}},
        {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}}]
QUERIES: dict[tuple[str, str], list[J]] = {
    ("get", "/dashboard"): VIEW, ("get", "/events"): VIEW, ("get", "/dashboard/areas"): [AREA],
    ("get", "/calendar"): [
        {"name": "from", "in": "query", "schema": DATE},
        {"name": "to", "in": "query", "schema": DATE},
        AREA, {"name": "device", "in": "query", "description": "one cluster's device id", "schema": STR},
    ],
    ("get", "/export/statistics"): [
        {"name": "from", "in": "query", "schema": DATE},
        {"name": "to", "in": "query", "schema": DATE},
        {"name": "level", "in": "query", "schema": {"enum": ["province", "district", "commune", "village"]}},
    ],
    ("get", "/cap/alerts"): [
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}}],
    ("get", "/broadcasts"): [
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
        {"name": "before", "in": "query", "description": "the id of the last broadcast of the previous page",
         "schema": {"type": "integer", "minimum": 1}},
    ],
}
