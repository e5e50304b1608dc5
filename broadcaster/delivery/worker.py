"""The worker process: renders queued broadcasts, distributes them over MQTT, stores what devices report,
and runs periodic housekeeping with APScheduler.

Several may run. One at a time, the leader (:mod:`broadcaster.delivery.leader`), renders, signs and publishes,
runs the housekeeping and stores the reports, acknowledging each to the broker only once committed; the
others stand by and take over, reports' session included, when it goes. (With ``mqtt.shared_subscriptions``
every worker stores reports, the broker dealing them out: see docs/scale.md before turning it on.) The
database is the source of truth; a worker keeps no state that a restart would lose.

This class only wires the parts together and holds the two MQTT links and the leadership: what is sent is
``publisher`` (signed publishing) and ``dispatch`` (queued broadcasts, run when ``wake`` says something was
stored, and every ``worker.dispatch_poll_s`` in case a wake was lost); what comes back is ``ingest``; the
periodic look for silence and missing reports is ``sweep``; the CAP feeds are polled by ``feeds``;
alarms reach people by ``broadcaster.notify``.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.orm import Session

from broadcaster.assets import AssetStore
from broadcaster.config import ServerConfig
from broadcaster.database import DB_DOWN, Database
from broadcaster.db import utcnow
from broadcaster.delivery.dispatch import Dispatcher
from broadcaster.delivery.feeds import poll_feeds
from broadcaster.delivery.ingest import Ingest
from broadcaster.delivery.leader import Leadership, leadership_for
from broadcaster.delivery.live import LiveServer
from broadcaster.delivery.publisher import Publisher
from broadcaster.delivery.sweep import sweep as sweep_once
from broadcaster.delivery.transcribe import transcribe_next
from broadcaster.delivery.wake import WakeChannel
from broadcaster.notify.dispatch import Notifier
from broadcaster.ops import metrics
from edge_agent.link import Link
from edge_agent.protocol import Topics

logger = logging.getLogger(__name__)

LEAD_CHECK_S = 1.0
"""How often the leader checks it still leads, and a standby tries to take the lead."""
SWEEP_S = 10
"""How often the leader sweeps for silent devices and missing reports."""
TRANSCRIBE_S = 20
"""How often the leader looks for recordings without a transcript (where the recognizer is installed)."""
FEEDS_S = 15
"""How often the leader looks for CAP feeds due a poll (each feed has its own interval, 30 s at least)."""


def share_group(server_password: str | None) -> str:
    """The shared-subscription group of the workers' report links: the broker gives each report to one member.

    Named from the server's MQTT password, which every worker has and no receiver: mosquitto 2.0 lets any user
    join any group, and a receiver that joined the workers' group would be dealt its share of every device's
    reports and, not allowed to read them, lose them (a third of them with two workers, docs/reliability.md)."""
    digest = hashlib.sha256(b"loaxa share group\n" + (server_password or "").encode("utf-8")).hexdigest()
    return f"w{digest[:24]}"


def _not_busy(record: logging.LogRecord) -> bool:
    return "maximum number of running instances reached" not in record.getMessage()


class Worker:
    def __init__(self, config: ServerConfig, db: Database, name: str | None = None) -> None:
        """``name`` tells apart the workers of one deployment (their MQTT client ids); one worker needs none."""
        self.config = config
        self.db = db
        self.name = name
        self.client_id = f"{config.mqtt.client_id}-{name}" if name else config.mqtt.client_id
        self.topics = Topics(config.mqtt.topic_root)
        self._stop = threading.Event()
        self._database_down = threading.Event()
        self.leadership: Leadership = leadership_for(db)
        self.leading = threading.Event()
        self.shared = config.mqtt.shared_subscriptions
        self.woken = threading.Event()
        """Set when dispatch should run now: something was stored (``wake``), or the leader's link connected."""
        self.wake = WakeChannel(db, self.woken, self._stop)
        self.publisher = Publisher(config, db, self._leader_link())
        self.dispatcher = Dispatcher(config, db, self.publisher)
        self.ingester = Ingest(config, db, self.publisher, self._stop)
        self.live = LiveServer(config, db, self.publisher)
        self.notifier = Notifier(config, db)
        self.reports = self._reports_link()
        self.scheduler = BackgroundScheduler(timezone="UTC")
        self._ingest_thread = threading.Thread(target=self.ingester.loop, name="ingest", daemon=True)
        self._lead_thread = threading.Thread(target=self._lead_loop, name="lead", daemon=True)
        self._dispatch_thread = threading.Thread(target=self._dispatch_loop, name="dispatch", daemon=True)
        self._halt = threading.Event()
        """Set when the worker stops: no dispatch starts after it."""

    @property
    def link(self) -> Link:
        """The leader's link: what is signed goes out on it."""
        return self.publisher.link

    @property
    def store(self) -> AssetStore:
        return self.publisher.store

    def _reports_link(self) -> Link:
        """The reports, kept by the broker in a persistent session until acknowledged, i.e. stored.

        Shared subscriptions: each worker has a session of its own, and the broker deals the reports out.
        Otherwise the leader alone stores them, in the one session of the deployment (the same client id
        whichever worker leads): a worker that takes the lead takes over that session, with what the broker
        kept for it and what the last leader had not acknowledged."""
        client_id = f"{self.client_id}-reports" if self.shared else f"{self.config.mqtt.client_id}-reports"
        link = Link(client_id, self.config.mqtt.host, self.config.mqtt.port, self.config.mqtt.username,
                    self.config.mqtt_password(), self.ingester.received, clean_session=False,
                    ca_file=self.config.mqtt.ca_file, manual_ack=True)
        share = f"$share/{share_group(self.config.mqtt_password())}/" if self.shared else ""
        for topic in self.topics.report_subscriptions():
            link.subscribe(f"{share}{topic}")
        return link

    def _leader_link(self) -> Link:
        """The leader's connection: it publishes what is signed, and takes the devices' requests for audio
        (not shared: only the leader publishes). A clean session: a standby must not collect requests."""
        link = Link(
            self.client_id, self.config.mqtt.host, self.config.mqtt.port, self.config.mqtt.username,
            self.config.mqtt_password(), lambda topic, payload: self.ingester.received(topic, payload, lambda: None),
            on_connect=self._connected, ca_file=self.config.mqtt.ca_file)
        link.subscribe(self.topics.chunk_requests())
        return link

    def _connected(self) -> None:
        self.dispatcher.resync.set()
        self.woken.set()

    def start(self) -> None:
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        # A dispatch that runs past its interval (a long render) is normal; the skipped tick is not news.
        logging.getLogger("apscheduler.scheduler").addFilter(_not_busy)
        if self.shared:
            self.reports.start()
        self._ingest_thread.start()
        self.scheduler.add_job(self._guarded, "interval", args=[self.sweep], seconds=SWEEP_S, id="sweep",
                               max_instances=1, coalesce=True)
        self.scheduler.add_job(self._guarded, "interval", args=[self.poll_feeds], seconds=FEEDS_S, id="feeds",
                               max_instances=1, coalesce=True)
        if self.config.notify.enabled:
            # One job writes down what is due, one per channel sends it: a channel that hangs holds up no other.
            every = self.config.notify.interval_s
            self.scheduler.add_job(self._guarded, "interval", args=[self.notify], seconds=every, id="notify",
                                   max_instances=1, coalesce=True)
            for channel in self.notifier.transports:
                self.scheduler.add_job(self._guarded, "interval", args=[lambda c=channel: self.notify_by(c)],
                                       seconds=every, id=f"notify-{channel}", max_instances=1, coalesce=True)
        if self.config.speech.transcripts:
            self.scheduler.add_job(self._guarded, "interval", args=[self.transcribe], seconds=TRANSCRIBE_S,
                                   id="transcribe", max_instances=1, coalesce=True)
        self.scheduler.start()
        self._serve_metrics()
        self._try_to_lead()
        self._lead_thread.start()
        self._dispatch_thread.start()
        logger.info("worker started as %s; broker %s:%d; %s", self.client_id, self.config.mqtt.host,
                    self.config.mqtt.port, "leading" if self.leading.is_set() else "standing by")

    def _serve_metrics(self) -> None:
        """This worker's own metrics, for Prometheus (``[metrics] worker_port``; worker N at port + N - 1)."""
        settings = self.config.metrics
        if not settings.worker_port:
            return
        port = settings.worker_port + (int(self.name) - 1 if self.name and self.name.isdigit() else 0)
        try:
            metrics.serve_worker(settings.worker_host, port, {"leader": lambda: self.link,
                                                             "reports": lambda: self.reports}, self.leading)
        except OSError as exc:
            logger.error("worker metrics not served on %s:%d: %s", settings.worker_host, port, exc)

    # the parts' work, run by the scheduler on the leader (and by tests) ----------------------------------

    def dispatch(self) -> None:
        self.dispatcher.dispatch()

    def _dispatch_loop(self) -> None:
        """Dispatch when woken, else every ``dispatch_poll_s``. The flag is cleared before the round: a wake
        that comes during a round makes another one right after it, so no wake falls between two rounds."""
        while not (self._halt.is_set() or self._stop.is_set()):
            self.woken.wait(self.config.worker.dispatch_poll_s)
            self.woken.clear()
            if self._halt.is_set() or self._stop.is_set():
                return
            try:
                self._guarded(self.dispatch)
            except Exception:  # as the scheduler did for its jobs: said, and the next round tries again
                logger.exception("dispatch failed")

    def sweep(self) -> None:
        self.publisher.save_signing_state()
        sweep_once(self.config, self.db)

    def poll_feeds(self) -> None:
        poll_feeds(self.config, self.db)

    def notify(self) -> None:
        self.notifier.plan()

    def notify_by(self, channel: str) -> None:
        self.notifier.send(channel)

    def transcribe(self) -> None:
        while self.leading.is_set() and transcribe_next(self.config, self.db):
            pass

    def ingest(self, topic: str, payload: bytes, received_at: datetime | None = None) -> None:
        """Store one report; ``received_at`` is when the broker handed it over (for the clock check)."""
        self.ingester.store([(topic, payload, received_at or utcnow(), lambda: None)])

    def publish_schedule(self, session: Session, device_id: str) -> None:
        self.publisher.publish_schedule(session, device_id)

    # leadership ------------------------------------------------------------------------------------

    def _lead_loop(self) -> None:
        while not self._stop.wait(LEAD_CHECK_S if self.leading.is_set() else LEAD_CHECK_S * random.uniform(1, 2)):
            if self.leading.is_set():
                if not self.leadership.holds():
                    logger.error("worker %s lost the lead (database unreachable?): standing by", self.client_id)
                    self._step_down()
            else:
                self._try_to_lead()

    def _try_to_lead(self) -> None:
        if not self.leadership.acquire():
            return
        try:
            with self.db.session() as session:
                self.publisher.resume_signing(session)
        except DB_DOWN:
            self.leadership.release()
            return
        self.link.start()
        if not self.shared:
            self.reports.start()
        self.leading.set()
        self.wake.open()
        self.woken.set()
        self.live.start()
        logger.warning("worker %s leads: it renders, signs and publishes", self.client_id)

    def _step_down(self) -> None:
        self.leading.clear()
        self.wake.close()
        self.live.stop()
        with self.dispatcher.lock:  # a dispatch under way finishes first
            self.link.stop()
            self.publisher.link = self._leader_link()  # whatever the old one still queued is not sent by a standby
        if not self.shared:
            # Let the next leader have the reports' session (unacknowledged reports go with it).
            self.reports.stop()
            self.reports = self._reports_link()
        self.leadership.release()

    def _guarded(self, job: Callable[[], None]) -> None:
        """Run a periodic job if this worker leads; while the database is away, say so once (not a traceback
        every tick) and let the next tick try again: queued work waits in the database, nothing is lost."""
        if not self.leading.is_set():
            return
        try:
            job()
        except DB_DOWN as exc:
            if not self._database_down.is_set():
                self._database_down.set()
                logger.error("database unavailable (%s); dispatch and sweep wait for it", exc.__class__.__name__)
            return
        if self._database_down.is_set():
            self._database_down.clear()
            logger.warning("database answering again; dispatch and sweep carry on")

    def stop(self, drain_s: float = 5.0) -> None:
        """Stop the jobs, leave the reports' group, store what is already in the inbox (for up to ``drain_s``),
        then disconnect.

        Reports left unstored are not lost: they were never acknowledged, so the broker keeps them in this
        worker's session and hands them to the next start."""
        self._halt.set()
        self.woken.set()
        if self._dispatch_thread.is_alive():
            self._dispatch_thread.join()  # a dispatch under way finishes first
        self.scheduler.shutdown(wait=True)
        self.wake.close()
        try:
            if self.leading.is_set():
                self.publisher.save_signing_state()
        except DB_DOWN:
            logger.warning("could not save the signing sequence; the next start skips ahead anyway")
        if self.shared:
            # Leave the group first, so the broker hands new reports to the other workers (a killed worker
            # stays in it: its share waits in its session until it starts again, as systemd makes it). One
            # worker keeps its subscriptions: what comes while it is away waits in its session.
            for topic in self.reports.subscriptions():
                self.reports.unsubscribe(topic)
        inbox = self.ingester.inbox
        deadline = time.monotonic() + drain_s
        while self._ingest_thread.is_alive() and inbox.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.05)
        if inbox.unfinished_tasks:
            logger.warning("stopping with %d report(s) not stored: the broker hands them over at the next start",
                           inbox.unfinished_tasks)
        self._stop.set()
        self._ingest_thread.join(timeout=5)
        if self._lead_thread.is_alive():
            self._lead_thread.join(timeout=5)
        self.reports.stop()
        if self.leading.is_set():
            self.leading.clear()
            self.live.stop()
            self.link.stop()
            self.leadership.release()
