"""Prometheus metrics as a monitoring stack sees them: the web process's /metrics counts the fleet by state (in
total and per commune), open alarms and deliveries; each worker serves its own (reports stored, broadcasts
dispatched, broker links, leadership). Read with Prometheus's own text parser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

from broadcaster.domain.alarms import raise_alarm
from broadcaster.ops.broker import free_port
from tests.support.env import Env, wait_until


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def test_the_web_process_counts_the_fleet_for_prometheus(env: Env) -> None:
    env.start_worker()
    env.start_agent("loa-01")  # loa-02 has no receiver: offline
    broadcast = env.broadcast("Thông báo lịch họp dân.", targets=["loa-01"])
    wait_until(lambda: env.device_states(broadcast["id"]) == {"loa-01": "played"}, timeout=60)
    with env.db.session() as session:
        raise_alarm(session, "loa-02", "offline", "không nghe thấy cụm loa 10 phút")
    answer = env.client.get("/metrics")
    assert answer.status_code == 200 and answer.mimetype == "text/plain"
    found = samples(answer.get_data(as_text=True))
    with env.db.session() as session:
        from broadcaster.db import Area, Device

        clusters = session.query(Device).count()
        commune = session.query(Area).filter_by(name="Xã Thử").one()
        in_commune = sum(1 for d in session.query(Device) if d.village and d.village.parent_id == commune.id)
    assert value(found, "loaxa_clusters", state="online") == 1, "the one receiver running"
    assert value(found, "loaxa_clusters", state="offline") == clusters - 1
    assert value(found, "loaxa_area_clusters", area="Xã Thử", area_id=str(commune.id), level="commune",
                 state="online") == 1
    assert sum(v for (name, labels), v in found.items()
               if name == "loaxa_area_clusters" and ("area", "Xã Thử") in labels) == in_commune > 1
    assert value(found, "loaxa_alarms_open", kind="offline") == 1
    assert value(found, "loaxa_deliveries", state="played") == 1
    assert value(found, "process_resident_memory_bytes") > 0


def test_metrics_are_not_for_everyone(env: Env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert env.client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 403, \
        "through the proxy, without a token: refused"
    assert env.client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 403
    token = tmp_path / "metrics-token"
    token.write_text("bi-mat-cua-prometheus\n")
    env.config.metrics.token_file = str(token)
    assert env.client.get("/metrics").status_code == 403, "with a token configured, even from here"
    assert env.client.get("/metrics", headers={"Authorization": "Bearer sai"}).status_code == 403
    assert env.client.get("/metrics", headers={"Authorization": "Bearer bi-mat-cua-prometheus"}).status_code == 200


def test_a_worker_serves_what_it_does(env: Env) -> None:
    port = free_port()
    env.config.metrics.worker_port = port
    env.start_worker()
    env.start_agent("loa-01")
    broadcast = env.broadcast("Khẩn cấp: nước lũ lên nhanh.", targets=["loa-01"], priority="emergency")
    wait_until(lambda: env.device_states(broadcast["id"]) == {"loa-01": "played"}, timeout=60)

    def scraped() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        return samples(requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text)

    wait_until(lambda: value(scraped(), "loaxa_reports_total", kind="evt/playback") >= 2, timeout=20)
    found = scraped()
    assert value(found, "loaxa_dispatch_seconds_count", priority="emergency") >= 1
    assert value(found, "loaxa_publish_seconds_count", what="alert") >= 1
    assert value(found, "loaxa_render_seconds_count") >= 1
    assert value(found, "loaxa_broker_connected", link="leader") == 1
    assert value(found, "loaxa_worker_leading") == 1
    assert value(found, "loaxa_ingest_wait_seconds_count") >= 2


CONFIG = Path(__file__).resolve().parents[3] / "config"


def test_the_alert_rules_are_valid_and_fire_when_they_should() -> None:
    """promtool (Prometheus's own checker) on the rules, their unit tests (loaxa-alerts.test.yml: a commune with
    silent clusters, a commune all silent, no leader, refused messages) and the example scrape config."""
    promtool = shutil.which("promtool")
    assert promtool, "scripts/test installs Debian's prometheus for promtool"
    folder = CONFIG / "prometheus"
    for args in (["check", "rules", "loaxa-alerts.yml"], ["test", "rules", "loaxa-alerts.test.yml"],
                 ["check", "config", "--syntax-only", "prometheus.example.yml"]):
        done = subprocess.run([promtool, *args], cwd=folder, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr


def test_the_rules_and_the_grafana_dashboard_use_only_metrics_we_export(env: Env) -> None:
    from broadcaster.ops import metrics

    exported = {family.name for registry in (metrics.WORKER, metrics.fleet_registry(env.db.sessions))
                for family in registry.collect()}
    board = json.loads((CONFIG / "grafana" / "loaxa-dashboard.json").read_text(encoding="utf-8"))
    expressions = [target["expr"] for panel in board["panels"] for target in panel["targets"]]
    rules = (CONFIG / "prometheus" / "loaxa-alerts.yml").read_text(encoding="utf-8")
    used = set(re.findall(r"\b((?:loaxa|process)_[a-z_]+)", " ".join(expressions) + rules))
    unknown = {name for name in used if re.sub(r"_(total|bucket|count|sum)$", "", name) not in exported}
    assert not unknown, f"not exported: {unknown}"
    assert len(board["panels"]) >= 8 and all(panel["targets"] for panel in board["panels"])
