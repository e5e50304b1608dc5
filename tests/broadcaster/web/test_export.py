"""The door for other systems (docs/integration.md): an integration account made with the CLI gets a token that
reads the clusters with their areas and state, statistics per area and period, the schedule and what aired, in
its own areas only, and can change nothing, nor log in to the pages."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from broadcaster.ops.bootstrap import ensure_area
from tests.support.env import Env, wait_until
from tests.support.web import csrf


def integration_token(env: Env, tmp_path: Path, area: str = "Xã Thử") -> str:
    """Made as an administrator would: ``broadcaster users add ... --role integration``."""
    config = tmp_path / "server.toml"
    config.write_text(f'database_url = "{env.db.engine.url.render_as_string(False)}"\n'
                      f'data_dir = "{tmp_path}"\n', encoding="utf-8")
    made = subprocess.run([sys.executable, "-m", "broadcaster.cli", "users", "add", "so-tttt", "--config",
                           str(config), "--role", "integration", "--area", area],
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    found = re.search(r"read-only API token, shown this once: (\S+)", made.stdout)
    assert found, made.stdout
    return found.group(1)


def test_another_system_reads_the_fleet_and_its_statistics_and_changes_nothing(env: Env, tmp_path: Path) -> None:
    env.start_worker()
    env.start_agent("loa-01")
    broadcast = env.broadcast("Thông báo lịch tiêm phòng.", targets=["loa-01"])
    wait_until(lambda: env.device_states(broadcast["id"]) == {"loa-01": "played"}, timeout=60)
    with env.db.session() as session:  # a commune it is not given
        other = ensure_area(session, "Xã Bên", "commune")
        ensure_area(session, "Thôn Bên", "village", other)
    auth = {"Authorization": f"Bearer {integration_token(env, tmp_path)}"}

    clusters = env.client.get("/api/v1/export/clusters", headers=auth).get_json()
    by_id = {c["id"]: c for c in clusters}
    assert by_id["loa-01"]["state"] == "online" and by_id["loa-01"]["areas"]["commune"]["name"] == "Xã Thử"
    assert by_id["loa-01"]["areas"]["village"]["name"] == "Thôn 1"

    stats = env.client.get("/api/v1/export/statistics?level=commune", headers=auth).get_json()
    assert [a["name"] for a in stats["areas"]] == ["Xã Thử"], "only its own commune"
    commune = stats["areas"][0]
    assert (commune["planned"], commune["played"], commune["not_played"]) == (1, 1, 0)
    assert commune["clusters"] == len(clusters) and commune["minutes"] > 0
    villages = env.client.get("/api/v1/export/statistics?level=village", headers=auth).get_json()["areas"]
    assert {v["name"]: v["played"] for v in villages}["Thôn 1"] == 1
    assert env.client.get("/api/v1/export/statistics?level=xa", headers=auth).status_code == 422
    # The schedule and what aired are the calendar and the playback log.
    assert env.client.get("/api/v1/calendar", headers=auth).status_code == 200
    played = env.client.get("/api/v1/playback", headers=auth).get_json()
    assert [(r["device_id"], r["state"]) for r in played] == [("loa-01", "played")]

    # It changes nothing, not even what every person may.
    for method, path, body in (("post", "/bulletins", {"title": "x", "text": "y"}),
                               ("post", "/tokens", {"name": "thêm"}),
                               ("put", "/devices/loa-01/volume", {"volume": 5}),
                               ("post", f"/broadcasts/{broadcast['id']}/stop", None)):
        answer = env.client.open(f"/api/v1{path}", method=method, json=body, headers=auth)
        assert answer.status_code == 403 and answer.get_json()["error"]["code"] == "read_only", (path, answer.json)


def test_an_integration_account_has_no_pages(env: Env, tmp_path: Path) -> None:
    integration_token(env, tmp_path)
    with env.db.session() as session:
        from broadcaster.ops.bootstrap import ensure_user

        ensure_user(session, "so-tttt", "mat khau du dai 123", roles=("integration",),
                    areas=(ensure_area(session, "Xã Thử", "commune"),))
    page = env.client.get("/login").get_data(as_text=True)
    answer = env.client.post("/login", data={"csrf_token": csrf(page), "username": "so-tttt",
                                             "password": "mat khau du dai 123"})
    assert answer.status_code != 302 and "dành cho hệ thống khác" in answer.get_data(as_text=True)
