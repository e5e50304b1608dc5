"""JSON for the API (and the pages' scripts): bulletins, broadcasts, devices and groups as the API answers them."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import Session, object_session

from broadcaster.db import Broadcast, Bulletin, Delivery, Device, DeviceGroup, DeviceHealth, utcnow
from edge_agent.protocol import Repeat
from edge_agent.protocol.fields import format_time

MAX_PLAYS_SHOWN = 500
"""A recurring broadcast's plays shown with it, newest first."""


def device_json(device: Device, health: DeviceHealth | None = None) -> dict[str, Any]:
    return {
        "health": json.loads(health.reported) if health else None,
        "clock_skew_s": health.clock_skew_s if health else None,
        "id": device.id,
        "name": device.name,
        "village": device.village.name if device.village else None,
        "online": device.online,
        "last_seen": format_time(device.last_seen),
        "volume": device.volume,
        "now_playing": device.now_playing,
        "version": device.version,
    }


def broadcast_head(broadcast: Broadcast) -> dict[str, Any]:
    """What a broadcast is, without any cluster's state."""
    return {
        "id": broadcast.id,
        "bulletin_id": broadcast.bulletin_id,
        "title": broadcast.bulletin.title,
        "priority": broadcast.priority,
        "play_at": format_time(broadcast.play_at),
        "state": broadcast.state,
        "error": broadcast.error,
        "asset": broadcast.asset_id,
        "relay": {"url": broadcast.relay.url, "window_s": broadcast.relay.window_s} if broadcast.relay else None,
        "repeat": _repeat_json(broadcast.repeat()),
        "created_at": format_time(broadcast.created_at),
        "sent_at": format_time(broadcast.sent_at),
        "programme_id": broadcast.programme_id,
    }


def broadcast_json(broadcast: Broadcast) -> dict[str, Any]:
    return {
        **broadcast_head(broadcast),
        "devices": [
            {"device_id": device_id, "state": state, "started_at": format_time(started),
             "finished_at": format_time(finished), "error": error}
            for device_id, state, started, finished, error in _deliveries(broadcast)
        ],
        "live": live_json(broadcast) if broadcast.live is not None else None,
        "plays": [
            {
                "device_id": p.device_id,
                "occurrence": format_time(p.occurrence),
                "state": p.state,
                "started_at": format_time(p.started_at),
                "finished_at": format_time(p.finished_at),
                "error": p.error,
            }
            for p in broadcast.plays[:MAX_PLAYS_SHOWN]
        ],
    }


def live_json(broadcast: Broadcast) -> dict[str, Any]:
    """A live broadcast: who speaks, how it goes, its recording and transcript, and each cluster's real
    listening span."""
    live = broadcast.live
    assert live is not None
    recording = broadcast.bulletin.recording
    seconds = ((live.ended_at or utcnow()) - live.started_at).total_seconds() if live.started_at else 0.0
    return {
        "broadcast_id": broadcast.id, "session": live.session, "state": live.state,
        "title": broadcast.bulletin.title, "priority": broadcast.priority, "speaker": live.speaker.username,
        "max_minutes": live.max_s // 60, "options": json.loads(live.options),
        "created_at": format_time(live.created_at), "started_at": format_time(live.started_at),
        "ended_at": format_time(live.ended_at), "seconds": round(seconds, 1), "error": live.error,
        "bulletin_id": broadcast.bulletin_id, "recording": live.asset_id,
        "transcript": recording.transcript if recording is not None else None,
        "playing": sum(d.state == "playing" for d in broadcast.deliveries),
        "devices": [{"device_id": d.device_id, "name": d.device.name, "state": d.state,
                     "started_at": format_time(d.started_at), "finished_at": format_time(d.finished_at),
                     "error": d.error} for d in broadcast.deliveries],
    }


def _repeat_json(repeat: Repeat | None) -> dict[str, Any] | None:
    if repeat is None:
        return None
    data = repeat.to_dict()
    del data["v"], data["type"]
    return data


def bulletin_json(bulletin: Bulletin) -> dict[str, Any]:
    recording = bulletin.recording
    return {
        "id": bulletin.id,
        "kind": "recording" if recording else "text",
        "title": bulletin.title,
        "text": bulletin.text,
        "language": recording.language if recording else "vi",
        "duration_s": recording.duration_s if recording else None,
        "transcript": recording.transcript if recording else None,
        "state": bulletin.state,
        "stage": bulletin.stage(),
        "area_id": bulletin.area_id,
        "review_comment": bulletin.review_comment,
        "voice": bulletin.voice,
        "speed": bulletin.speed or 1.0,
        "request": json.loads(bulletin.request) if bulletin.request else None,
        "created_by": bulletin.created_by,
        "created_at": format_time(bulletin.created_at),
        "submitted_at": format_time(bulletin.submitted_at),
        "approved_by": bulletin.approved_by,
        "approved_at": format_time(bulletin.approved_at),
        "updated_at": format_time(bulletin.updated_at),
    }


def group_json(group: DeviceGroup) -> dict[str, Any]:
    return {"id": group.id, "name": group.name, "area_id": group.area_id,
            "devices": sorted(m.device_id for m in group.members)}


def _deliveries(broadcast: Broadcast) -> Any:
    """Each cluster's part of a broadcast as plain rows, in cluster order: a province's five thousand are read as
    tuples, not built as objects (unless they are loaded already)."""
    session = object_session(broadcast)
    if session is None or "deliveries" in broadcast.__dict__:
        return [(d.device_id, d.state, d.started_at, d.finished_at, d.error) for d in broadcast.deliveries]
    return (session.query(Delivery.device_id, Delivery.state, Delivery.started_at, Delivery.finished_at,
                          Delivery.error).filter(Delivery.broadcast_id == broadcast.id).order_by(Delivery.device_id))


def broadcast_summaries(session: Session, broadcasts: list[Broadcast]) -> list[dict[str, Any]]:
    """Each broadcast as in :func:`broadcast_json`, but with how many clusters are in each state instead of
    every cluster's row: a list stays small whatever the size of the fleet (one query for all the counts)."""
    ids = [b.id for b in broadcasts]
    counts: dict[int, dict[str, int]] = {i: {} for i in ids}
    if ids:
        rows = (session.query(Delivery.broadcast_id, Delivery.state, func.count())
                .filter(Delivery.broadcast_id.in_(ids)).group_by(Delivery.broadcast_id, Delivery.state))
        for broadcast_id, state, n in rows:
            counts[broadcast_id][state] = n
    return [{**broadcast_head(b), "targets": sum(counts[b.id].values()), "counts": counts[b.id]} for b in broadcasts]
