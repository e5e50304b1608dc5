"""Property-based fuzzing (hypothesis) of every MQTT payload parser on both sides: arbitrary bytes and valid
messages with fields deleted, retyped or stretched. A parser either returns a message or refuses with
ProtocolError; the worker's ingestion and the receiver's handlers never raise. For the receiver, mutated messages
are also signed with the trusted key, so they get past the signature into validation and the schedule logic."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from broadcaster.delivery.worker import Worker
from edge_agent.agent import Agent
from edge_agent.protocol import Message, ProtocolError, Repeat, Schedule, ScheduleEntry, Topics, decode
from edge_agent.protocol.signing import Verifier
from edge_agent.sinks import FileSink
from tests.support.env import Env
from tests.support.faults import Tally
from tests.support.messages import ASSET, MESSAGES, NOW

FUZZ = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=40)
    | st.sampled_from(["", "2026-11-22T06:00:00Z", "2026-11-22", "emergency", "loa-01", ASSET, "played", "x" * 600]),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=12,
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every field and list item inside ``value``, as a path of keys and indexes."""
    if prefix:
        yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, (*prefix, index))


@st.composite
def mutated(draw: st.DrawFn, originals: list[dict[str, Any]]) -> dict[str, Any]:
    """A valid message with one to three fields anywhere in it deleted or replaced by anything, the rest left
    valid, so that the mutation reaches the code past the first checks."""
    data = copy.deepcopy(draw(st.sampled_from(originals)))
    for path in draw(st.lists(st.sampled_from(list(paths(data))), min_size=1, max_size=3, unique=True)):
        parent: Any = data
        try:
            for part in path[:-1]:
                parent = parent[part]
            if isinstance(parent, dict) != isinstance(path[-1], str):
                continue  # an earlier mutation made a list a dict (or back): JSON has no such object
            if isinstance(parent, dict) and draw(st.booleans()):
                del parent[path[-1]]
            else:
                parent[path[-1]] = draw(json_values)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation took this path away
    return data


RECURRING = Schedule("loa-01", NOW, [ScheduleEntry(
    9, ASSET, "Bản tin sáng", "priority", None, NOW, 300, "http://127.0.0.1:8000/live", 600,
    repeat=Repeat([1, 3, 5], ["06:30", "17:00"], date(2026, 11, 23), date(2026, 12, 31), [date(2026, 12, 24)]))])
EVERY = [*MESSAGES, RECURRING]
KINDS = sorted({type(m) for m in EVERY}, key=lambda kind: kind.TYPE)
ORIGINALS = [m.to_dict() for m in EVERY]
payloads = st.binary(max_size=300) | mutated(ORIGINALS).map(lambda d: json.dumps(d).encode())


def refuses_cleanly(parse: Any, payload: bytes) -> bool:
    """True when ``parse`` accepted the payload, False when it refused it with ProtocolError; anything else
    propagates and fails the test."""
    try:
        parse(payload)
        return True
    except ProtocolError:
        return False


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.TYPE)
def test_every_decoder_accepts_or_refuses_with_a_reason(kind: type[Message]) -> None:
    mine = [m.to_dict() for m in EVERY if isinstance(m, kind)]

    @FUZZ
    @given(payload=st.binary(max_size=200) | mutated(mine).map(lambda d: json.dumps(d).encode()))
    def parse(payload: bytes) -> None:
        refuses_cleanly(kind.from_bytes, payload)
        refuses_cleanly(decode, payload)

    parse()


@FUZZ
@given(data=mutated(ORIGINALS) | st.dictionaries(st.text(max_size=6), json_values, max_size=4))
def test_signature_checks_refuse_anything_unsigned_with_a_reason(data: dict[str, Any]) -> None:
    verifier = Verifier([])
    try:
        verifier.verify("loaxa/dev/loa-01/schedule", data, NOW)
    except ProtocolError:
        return
    raise AssertionError("an unsigned message was accepted")


def test_the_worker_stores_or_refuses_every_report_and_never_raises(env: Env, tally: Tally) -> None:
    worker = Worker(env.config, env.db)  # not started: ingest() is what the ingest thread calls
    topics = Topics(env.config.mqtt.topic_root)
    kinds = ["status", "hb", "evt/delivery", "evt/playback", "evt/refused", "req", "evt/other"]
    tried = 0

    @FUZZ
    @given(kind=st.sampled_from(kinds), device=st.sampled_from(["loa-01", "nobody"]), payload=payloads)
    def ingest(kind: str, device: str, payload: bytes) -> None:
        nonlocal tried
        tried += 1
        worker.ingest(topics.status(device).replace("/status", f"/{kind}"), payload)

    crashes = 0
    try:
        ingest()
    except Exception:
        crashes = 1
        raise
    finally:
        worker.link.stop()
        tally(tried=f"{tried} generated reports on the {len(kinds)} topics the worker reads", crashes=crashes)
    listed = env.client.get("/api/v1/devices", headers=env.auth)
    tally(server_errors=int(listed.status_code >= 500))
    assert listed.status_code == 200, "the server still answers after all of it"


def test_the_receiver_refuses_or_applies_every_message_and_never_raises(env: Env, tally: Tally) -> None:
    config = env.agent_config("loa-01")
    agent = Agent(config, FileSink(config.played_dir, realtime=False))  # not started: _handle is its worker
    topics = Topics(env.config.mqtt.topic_root)
    schedule, command, manifest = topics.schedule("loa-01"), topics.command("loa-01"), topics.manifest(ASSET)
    alert = topics.alert("a1")
    signer = env.config.signer()
    by_topic = {schedule: [m.to_dict() for m in EVERY if m.TYPE == "schedule"],
                command: [m.to_dict() for m in EVERY if m.TYPE == "command"],
                manifest: [m.to_dict() for m in EVERY if m.TYPE == "manifest"],
                alert: [m.to_dict() for m in EVERY if m.TYPE == "alert"]}
    tried = 0

    # A first valid schedule, so that the receiver is fetching ASSET and reads its manifest and chunk topics.
    valid: Message = MESSAGES[0]
    agent._handle(schedule, signer.sign(schedule, {**valid.to_dict(), "device": "loa-01", "groups": ["a1"]},
                                        timedelta(days=1)))
    assert ASSET in agent.fetches and agent.groups == ["a1"]
    topics_read = [schedule, command, manifest, topics.chunk(ASSET, 0), topics.chunk(ASSET, 7), alert,
                   topics.group_chunk("a1", ASSET, 0)]

    @FUZZ
    @given(topic=st.sampled_from(topics_read),
           signed=st.booleans(), data=st.data())
    def handle(topic: str, signed: bool, data: st.DataObject) -> None:
        nonlocal tried
        tried += 1
        if signed and topic in by_topic:
            message = data.draw(mutated(by_topic[topic]))
            try:
                payload = signer.sign(topic, message, timedelta(days=1))
            except ValueError:  # an infinity or a NaN: no signer makes it, so no receiver meets it signed
                assume(False)
        else:
            payload = data.draw(payloads)
        agent._handle(topic, payload)

    crashes = 0
    try:
        handle()
    except Exception:
        crashes = 1
        raise
    finally:
        agent.link.stop()
        agent.store.close()
        tally(tried=f"{tried} generated messages (half of them signed with the trusted key) on the "
                    f"{len(topics_read)} kinds of topic a receiver reads", crashes=crashes)
