"""Prometheus metrics: what an operations stack watches without opening the dashboard.

Two kinds. The fleet, read from the database when Prometheus asks (the web process's ``/metrics``): clusters by
state, in total and per area (province, district, commune), open alarms by kind, deliveries by state. And what a
worker does, counted as it happens in that worker (each serves its own, ``[metrics] worker_port``): reports
stored and how long they waited, broadcasts from creation to sent, how long rendering and publishing take, whether
its broker links are up and whether it leads. ``config/prometheus/`` has alert rules for the same alarms the
dashboard raises, and ``config/grafana/`` a dashboard.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func
from sqlalchemy.orm import Session

from broadcaster.db import Alarm, Area, Delivery, Device, utcnow
from broadcaster.domain.areas import ancestry
from broadcaster.domain.dashboard import DEVICE_STATES_ALL, fleet_states
from broadcaster.domain.lifecycle import FINAL_DELIVERY_STATES

WORKER = CollectorRegistry()
"""A worker's own counters (a process registry, so a test's second worker in one process starts at zero only
in its own process; the figures are per process, as Prometheus scrapes them)."""

ProcessCollector(registry=WORKER)  # memory, CPU and open files of the worker

REPORTS = Counter("loaxa_reports_total", "Reports from receivers stored, by kind (hb, status, evt/playback...)",
                  ["kind"], registry=WORKER)
INGEST_WAIT = Histogram("loaxa_ingest_wait_seconds", "From a report reaching this worker to its commit",
                        buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60), registry=WORKER)
INGEST_QUEUE = Gauge("loaxa_ingest_queue", "Reports received and not yet stored", registry=WORKER)
DISPATCH = Histogram("loaxa_dispatch_seconds", "From a broadcast's creation to its being sent to the receivers",
                     ["priority"], buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300), registry=WORKER)
RENDER = Histogram("loaxa_render_seconds", "Rendering a broadcast's audio (one rendered before takes next to nothing)",
                   buckets=(0.5, 1, 2, 5, 10, 20, 60, 120, 300), registry=WORKER)
PUBLISH = Histogram("loaxa_publish_seconds", "Publishing to the broker: an alert, schedules, an asset's chunks",
                    ["what"], buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10), registry=WORKER)
BROKER = Gauge("loaxa_broker_connected", "1 while this worker's MQTT link is connected", ["link"], registry=WORKER)
LEADING = Gauge("loaxa_worker_leading", "1 while this worker leads (renders, signs, publishes)", registry=WORKER)

LEVELS = ("province", "district", "commune")
"""Area levels the fleet is counted at (villages are many; their clusters are in the dashboard)."""


class FleetCollector(Collector):
    """The fleet as the database has it, read at each scrape (a few grouped queries, whatever the fleet's size)."""

    def __init__(self, sessions: Callable[[], Session]) -> None:
        self.sessions = sessions

    def collect(self) -> Iterator[GaugeMetricFamily]:
        session = self.sessions()
        try:
            yield from self._collect(session)
        finally:
            session.close()

    def _collect(self, session: Session) -> Iterator[GaugeMetricFamily]:
        states = fleet_states(session)
        total = GaugeMetricFamily("loaxa_clusters", "Loudspeaker clusters by state", labels=["state"])
        for state in DEVICE_STATES_ALL:
            total.add_metric([state], sum(1 for s in states.values() if s == state))
        yield total
        areas = {a.id: a for a in session.query(Area)}
        villages = dict(session.query(Device.id, Device.village_id).all())
        parent_of = {a.id: a.parent_id for a in areas.values()}
        counts: dict[tuple[int, str], int] = {}
        for device_id, state in states.items():
            for area_id in ancestry(villages.get(device_id), parent_of):
                if areas[area_id].kind in LEVELS:
                    counts[(area_id, state)] = counts.get((area_id, state), 0) + 1
        per_area = GaugeMetricFamily("loaxa_area_clusters", "Clusters by state in each province, district and "
                                     "commune", labels=["area", "area_id", "level", "state"])
        for area_id, area in sorted(areas.items()):
            if area.kind in LEVELS:
                for state in DEVICE_STATES_ALL:
                    per_area.add_metric([area.name, str(area_id), area.kind, state], counts.get((area_id, state), 0))
        yield per_area
        alarms = GaugeMetricFamily("loaxa_alarms_open", "Alarms neither cleared nor acknowledged, by kind",
                                   labels=["kind"])
        for kind, count in (session.query(Alarm.kind, func.count()).filter(Alarm.cleared_at.is_(None),
                                                                         Alarm.acked_at.is_(None))
                            .group_by(Alarm.kind)):
            alarms.add_metric([kind], count)
        yield alarms
        deliveries = GaugeMetricFamily("loaxa_deliveries", "Deliveries under way, and those that ended in the last "
                                       "24 h, by state", labels=["state"])
        since = utcnow() - timedelta(days=1)
        for state, count in (session.query(Delivery.state, func.count())
                             .filter((Delivery.state.notin_(FINAL_DELIVERY_STATES)) | (Delivery.updated_at >= since))
                             .group_by(Delivery.state)):
            deliveries.add_metric([state], count)
        yield deliveries


def fleet_registry(sessions: Callable[[], Session]) -> CollectorRegistry:
    """The web process's: the fleet, and the process itself (memory, CPU)."""
    registry = CollectorRegistry()
    registry.register(FleetCollector(sessions))
    ProcessCollector(registry=registry)
    return registry


def _connected(link: Callable[[], Any]) -> Callable[[], float]:
    return lambda: 1.0 if link().connected.is_set() else 0.0


def serve_worker(host: str, port: int, links: dict[str, Any], leading: threading.Event) -> None:
    """This worker's metrics on ``host:port`` (a thread of the standard library's HTTP server); the broker and
    leadership gauges follow the worker's own state at each scrape."""
    for name, link in links.items():
        BROKER.labels(name).set_function(_connected(link))
    LEADING.set_function(lambda: 1.0 if leading.is_set() else 0.0)
    start_http_server(port, addr=host, registry=WORKER)
