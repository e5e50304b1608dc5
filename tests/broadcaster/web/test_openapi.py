"""/api/v1/openapi.json describes every route of the API, and real answers match its schemas."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
from referencing import Registry, Resource

from tests.support.env import Env


def document(env: Env) -> dict[str, Any]:
    response = env.client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc: dict[str, Any] = response.get_json()
    assert doc["openapi"].startswith("3.1")
    return doc


def test_every_route_is_documented_and_every_documented_route_exists(env: Env) -> None:
    doc = document(env)
    documented = {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops}
    routed = set()
    for rule in env.app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.endpoint != "api.openapi_document":
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule[len("/api/v1"):])
            routed |= {(m, path) for m in rule.methods or () if m not in ("HEAD", "OPTIONS")}
    assert routed - documented == set(), "routes missing from openapi.py"
    assert documented - routed == set(), "openapi.py describes routes that do not exist"


def test_answers_match_the_documented_schemas(env: Env) -> None:
    doc = document(env)
    registry: Registry = Registry().with_resource("urn:api", Resource.from_contents(
        {**doc, "$schema": "https://json-schema.org/draft/2020-12/schema"}))

    def check(method: str, path: str, template: str, json: Any = None, status: int | None = None) -> Any:
        response = env.client.open(f"/api/v1{path}", method=method, json=json, headers=env.auth)
        answer = response.get_json(silent=True)
        operation = doc["paths"][template][method.lower()]
        code = str(status or response.status_code)
        assert code in operation["responses"], f"{method} {path}: {code} is not documented"
        content = operation["responses"][code].get("content", {}).get("application/json")
        if content is not None:
            schema = _resolve_refs(content["schema"])
            jsonschema.validate(answer, schema, registry=registry, cls=jsonschema.Draft202012Validator)
        return answer

    bulletin = check("POST", "/bulletins", "/bulletins", {"title": "Họp", "text": "Họp dân 8h."})
    check("GET", "/bulletins", "/bulletins")
    check("POST", f"/bulletins/{bulletin['id']}/approve", "/bulletins/{bulletin_id}/approve")
    request = {"bulletin_id": bulletin["id"], "targets": ["loa-01"],
               "repeat": {"weekdays": [1, 2], "times": ["07:00"]}}
    check("POST", "/broadcasts/check", "/broadcasts/check", request)
    broadcast = check("POST", "/broadcasts", "/broadcasts", request)
    check("GET", f"/broadcasts/{broadcast['id']}", "/broadcasts/{broadcast_id}")
    check("GET", "/broadcasts", "/broadcasts")
    for path in ("/devices", "/dashboard", "/alarms", "/areas", "/me", "/tokens", "/users", "/audit", "/lexicon",
                 "/calendar", "/reports/airtime", "/playback", "/emergency/templates", "/health"):
        check("GET", path, path)
    check("POST", "/tokens", "/tokens", {"name": "máy tính"})
    check("PUT", "/devices/loa-01/volume", "/devices/{device_id}/volume", {"volume": 40})
    error = check("POST", "/broadcasts", "/broadcasts", {"bulletin_id": bulletin["id"], "targets": ["nope"]})
    assert error["error"]["code"] == "unknown_target"
    check("GET", "/bulletins/999999", "/bulletins/{bulletin_id}")


def _resolve_refs(schema: Any) -> Any:
    """Point the document's local references at the registered document."""
    if isinstance(schema, dict):
        return {k: (f"urn:api{v}" if k == "$ref" and v.startswith("#") else _resolve_refs(v))
                for k, v in schema.items()}
    if isinstance(schema, list):
        return [_resolve_refs(item) for item in schema]
    return schema
