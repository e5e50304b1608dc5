"""The MQTT transport, kept behind publish/subscribe/stop so domain code never imports paho."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

logger = logging.getLogger(__name__)

MessageHandler = Callable[[str, bytes], None]
Ack = Callable[[], None]
AckedHandler = Callable[[str, bytes, Ack], None]
"""A handler on a ``manual_ack`` link: it calls ``ack`` once the message is safely stored (from any thread)."""


@dataclass
class Will:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


class Link:
    """One MQTT connection that reconnects by itself and restores its subscriptions.

    ``on_message`` runs on paho's network thread: keep it short (put work on a queue).

    With ``manual_ack``, ``on_message`` is an :data:`AckedHandler`: a QoS 1 message is acknowledged to the
    broker only when the handler's ``ack`` is called, so a process killed before it stored the message gets
    it again from its persistent session (``clean_session=False``) on the next connection.
    """

    def __init__(
        self,
        client_id: str,
        host: str,
        port: int,
        username: str | None,
        password: str | None,
        on_message: MessageHandler | AckedHandler,
        *,
        keepalive: int = 30,
        will: Will | None = None,
        clean_session: bool = True,
        on_connect: Callable[[], None] | None = None,
        ca_file: str | None = None,
        manual_ack: bool = False,
    ) -> None:
        self.host, self.port, self.keepalive = host, port, keepalive
        self._on_message_cb = on_message
        self._on_connect_cb = on_connect
        self._subscriptions: dict[str, int] = {}
        self._lock = threading.Lock()
        self.connected = threading.Event()
        self.ready = threading.Event()
        """Set once the broker has acknowledged our subscriptions after a (re)connection."""
        self._ready_mid: int | None = None
        self._pending: set[int] = set()
        """Message ids of subscriptions sent on this connection and not yet acknowledged by the broker."""
        self._acked_early: set[int] = set()
        """Acknowledgements that came before ``subscribe`` had noted their message id as pending."""
        self._manual_ack = manual_ack
        self._generation = 0
        """Counts connections: a message id is only meaningful on the connection that delivered it."""
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=clean_session,
            protocol=mqtt.MQTTv311,
            manual_ack=manual_ack,
        )
        if ca_file:
            # TLS, checking the broker's certificate against this CA and its host name.
            self.client.tls_set(ca_certs=ca_file)
        if username:
            self.client.username_pw_set(username, password)
        if will:
            self.client.will_set(will.topic, will.payload, qos=will.qos, retain=will.retain)
        # Unbounded in-memory queue of QoS 1 publishes while the link is down.
        self.client.max_queued_messages_set(0)
        # Exponential backoff (paho doubles the delay up to the maximum), with bounds drawn at random per
        # client: after a broker restart a whole fleet does not knock at the same instants.
        self.client.reconnect_delay_set(min_delay=random.randint(1, 3), max_delay=random.randint(30, 60))
        self.client.on_connect = self._handle_connect
        self.client.on_disconnect = self._handle_disconnect
        self.client.on_message = self._handle_message
        self.client.on_subscribe = self._handle_subscribe

    def start(self) -> None:
        self.client.connect_async(self.host, self.port, keepalive=self.keepalive)
        self.client.loop_start()

    def stop(self, final: tuple[str, bytes] | None = None) -> None:
        """Optionally publish one last retained message (e.g. ``offline``), then disconnect."""
        if final is not None and self.connected.is_set():
            info = self.client.publish(final[0], final[1], qos=1, retain=True)
            info.wait_for_publish(timeout=2)
        self.client.disconnect()
        self.client.loop_stop()

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            logger.warning("publish to %s refused locally: %s", topic, mqtt.error_string(info.rc))

    def subscribe(self, topic: str, qos: int = 1) -> None:
        with self._lock:
            self._subscriptions[topic] = qos
        if self.connected.is_set():
            rc, mid = self.client.subscribe(topic, qos)
            if rc == mqtt.MQTT_ERR_SUCCESS and mid is not None:
                with self._lock:
                    if mid in self._acked_early:  # the broker answered before we got here (a fast broker)
                        self._acked_early.discard(mid)
                    else:
                        self._pending.add(mid)

    def settled(self) -> bool:
        """Connected, and every subscription asked for so far is acknowledged: messages published from now
        on under any of them reach us."""
        with self._lock:
            return self.ready.is_set() and not self._pending

    @property
    def generation(self) -> int:
        """How many connections this link has made: a new one re-subscribed everything at once."""
        return self._generation

    def subscriptions(self) -> list[str]:
        with self._lock:
            return list(self._subscriptions)

    def unsubscribe(self, topic: str) -> None:
        with self._lock:
            self._subscriptions.pop(topic, None)
        if self.connected.is_set():
            self.client.unsubscribe(topic)

    def _handle_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            # Not connected: do not pretend we are (paho retries by itself).
            logger.error("broker %s:%d refused the connection: %s", self.host, self.port, reason_code)
            return
        logger.info("connected to broker %s:%d", self.host, self.port)
        self._generation += 1
        self.connected.set()  # before reading the subscriptions: one asked for from now on is sent by itself
        with self._lock:
            self._pending.clear()  # a new connection: everything is subscribed again below, as one request
            self._acked_early.clear()
            subs = list(self._subscriptions.items())
        if subs:
            self._ready_mid = client.subscribe(subs)[1]
        else:
            self.ready.set()
        if self._on_connect_cb is not None:
            try:
                self._on_connect_cb()
            except Exception:
                logger.exception("on_connect hook failed")

    def _handle_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        if self.connected.is_set():
            logger.warning("disconnected from broker: %s", reason_code)
        self.connected.clear()
        self.ready.clear()
        with self._lock:
            self._pending.clear()  # resubscribed as a whole on the next connection

    def _handle_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        with self._lock:
            if mid in self._pending:
                self._pending.discard(mid)
            elif mid != self._ready_mid:
                self._acked_early.add(mid)
        if mid == self._ready_mid:
            refused = [code for code in reason_codes if code.is_failure]
            if refused:
                logger.error("broker refused %d subscription(s): check the ACL for this user", len(refused))
            self.ready.set()

    def _handle_message(self, client, userdata, message) -> None:
        try:
            if self._manual_ack:
                cast(AckedHandler, self._on_message_cb)(message.topic, message.payload, self._acker(message))
            else:
                cast(MessageHandler, self._on_message_cb)(message.topic, message.payload)
        except Exception:
            logger.exception("message handler failed for %s", message.topic)

    def _acker(self, message: mqtt.MQTTMessage) -> Ack:
        generation, mid, qos = self._generation, message.mid, message.qos

        def ack() -> None:
            # After a reconnection the broker sends the message again, under its own acknowledgement: an id
            # from the old connection could name another message on the new one, so it is not sent.
            if qos > 0 and generation == self._generation and self.connected.is_set():
                self.client.ack(mid, qos)
        return ack
