"""The OpenAPI 3.1 document of /api/v1, served at /api/v1/openapi.json. A test checks that every route of the
API is described here and that real answers match these schemas, so the document cannot drift."""

from __future__ import annotations

from typing import Any

from broadcaster import __version__
from broadcaster.domain.calendar import STATES as CALENDAR_STATES
from broadcaster.domain.cap.policy import CERTAINTIES, PRIORITY_CHOICES, SEVERITIES, URGENCIES
from broadcaster.domain.emergency import MAX_REPEATS, templates
from broadcaster.speech.normalize import MARK_KINDS
from broadcaster.web.openapi_queries import QUERIES

J = dict[str, Any]


def obj(required: list[str] | None = None, **props: J) -> J:
    schema: J = {"type": "object", "properties": props}
    if required:
        schema["required"] = required
    return schema


def ref(name: str) -> J:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: J) -> J:
    return {"anyOf": [schema, {"type": "null"}]}


def array(items: J) -> J:
    return {"type": "array", "items": items}


STR, INT, NUM, BOOL = {"type": "string"}, {"type": "integer"}, {"type": "number"}, {"type": "boolean"}
TARGETS = {
    "type": "array", "minItems": 1,
    "items": {"type": "string", "pattern": "^(all|area:[0-9]+|group:[0-9]+|[a-z0-9][a-z0-9-]{0,62})$"},
    "description": "Whom it is for, as a union: \"all\" (every cluster in your areas), \"area:<id>\" (every "
                   "cluster of that area and of the areas below it), \"group:<id>\" (a group's members) or a "
                   "cluster's device id. Outside your areas: 403 out_of_scope; unknown: 422 unknown_target.",
}
TIME = {"type": "string", "format": "date-time"}
N_STR, N_INT, N_NUM, N_TIME = nullable(STR), nullable(INT), nullable(NUM), nullable(TIME)
SPEED = nullable({"type": "number", "minimum": 0.7, "maximum": 1.5,
                  "description": "How fast it is read, times the voice's own (null: 1)"})

SCHEMAS: dict[str, J] = {
    "Error": obj(["error"], error=obj(["code", "message"], code=STR, message=STR, field=STR,
                                      details=array({"type": "object"}))),
    "Bulletin": obj(["id", "kind", "title", "state"], id=INT, kind={"enum": ["text", "recording"]}, title=STR,
                    text=STR, language=STR, duration_s=N_NUM, transcript=N_STR,
                    state={"enum": ["draft", "submitted", "approved", "rejected"]},
                    stage={"enum": ["draft", "submitted", "approved", "rejected", "scheduled", "aired"]},
                    area_id=N_INT,
                    review_comment=N_STR, voice=N_STR, speed=NUM, request=nullable(ref("WriterRequest")),
                    created_by=INT, created_at=TIME, submitted_at=N_TIME, approved_by=N_INT, approved_at=N_TIME,
                    updated_at=N_TIME, broadcast_id=N_INT),
    "WriterRequest": obj(targets=TARGETS, priority={"enum": ["normal", "priority"]}, play_at=N_TIME,
                         repeat=nullable(ref("Repeat"))),
    "Repeat": obj(["weekdays", "times"], weekdays=array({"type": "integer", "minimum": 1, "maximum": 7}),
                  times=array({"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"}),
                  start={"type": "string", "format": "date"}, until=nullable({"type": "string", "format": "date"}),
                  skip=array({"type": "string", "format": "date"}), tz=STR),
    "Broadcast": obj(["id", "bulletin_id", "priority", "state", "devices"], id=INT, bulletin_id=INT, title=STR,
                     priority={"enum": ["normal", "priority", "emergency"]}, play_at=N_TIME, state=STR, error=N_STR,
                     asset=N_STR, relay=nullable(obj(url=STR, window_s=INT)), repeat=nullable(ref("Repeat")),
                     created_at=TIME, sent_at=N_TIME, programme_id=N_INT, live=nullable(ref("Live")),
                     devices=array(obj(["device_id", "state"], device_id=STR, state=STR, started_at=N_TIME,
                                       finished_at=N_TIME, error=N_STR)),
                     plays=array(obj(device_id=STR, occurrence=TIME, state=STR, started_at=N_TIME,
                                     finished_at=N_TIME, error=N_STR))),
    "BroadcastSummary": obj(["id", "bulletin_id", "priority", "state", "targets", "counts"], id=INT,
                            bulletin_id=INT, title=STR, priority={"enum": ["normal", "priority", "emergency"]},
                            play_at=N_TIME, state=STR, error=N_STR, asset=N_STR,
                            relay=nullable(obj(url=STR, window_s=INT)), repeat=nullable(ref("Repeat")),
                            created_at=TIME, sent_at=N_TIME, programme_id=N_INT, targets=INT,
                            counts={"type": "object", "additionalProperties": INT}),
    "BroadcastRequest": obj(["bulletin_id", "targets"], bulletin_id=INT,
                            targets=TARGETS, priority={"enum": ["normal", "priority", "emergency"]},
                            play_at=N_TIME, relay=nullable(obj(url=STR, window_s=INT)),
                            repeat=nullable(ref("Repeat"))),
    "Device": obj(["id", "name", "online"], id=STR, name=STR, village=N_STR, online=BOOL, last_seen=N_TIME,
                  volume=N_INT, now_playing=N_INT, version=N_STR, health=nullable({"type": "object"}),
                  clock_skew_s=N_NUM),
    "AreaRef": obj(["id", "name", "kind"], id=INT, name=STR, kind=STR),
    "AreaCounts": obj(["clusters"], **{k: INT for k in ("clusters", "online", "offline", "playing", "off", "failed",
                                                         "failed_today", "alarms", "low_signal")},
                      emergency_reach={"type": ["object", "null"]}),
    "DashboardRow": obj(["id", "state"], id=STR, name=STR, village=N_STR,
                        state={"enum": ["online", "offline", "playing", "failed", "off"]}, last_seen=N_TIME,
                        volume=N_INT, amplifier=N_STR, cpu_temp_c=N_NUM, link_quality=N_INT,
                        now_playing=nullable(obj(id=INT, title=N_STR)), alarms=INT, lat=N_NUM, lon=N_NUM,
                        last_played=nullable(obj(title=STR, finished_at=N_TIME))),
    "Alarm": obj(["id", "device_id", "kind", "message"], id=INT, device_id=STR, device=STR, kind=STR, message=STR,
                 raised_at=TIME, cleared_at=N_TIME, acked_at=N_TIME),
    "Area": obj(["id", "name", "kind"], id=INT, name=STR, kind=STR, parent_id=N_INT, voice=N_STR,
                airtime=obj(allowed_from=STR, allowed_to=STR, max_session_min=N_INT, max_sessions_per_day=N_INT,
                            set_on_area=N_INT)),
    "User": obj(["id", "username", "roles"], id=INT, username=STR,
                roles=array({"enum": ["admin", "editor", "approver", "operator", "integration"]}), areas=array(INT),
                locked=BOOL,
                created_at=TIME),
    "Notifications": obj(
        ["email", "webhook_url", "telegram_chat_id", "severity", "areas", "quiet_from", "quiet_to", "daily_summary",
         "channels", "recent"],
        email=STR, webhook_url=STR, telegram_chat_id=STR, severity={"enum": ["warning", "critical"]},
        areas=array(INT), quiet_from=STR, quiet_to=STR, daily_summary=BOOL,
        channels=array({"enum": ["email", "webhook", "telegram"]}),
        recent=array(obj(["id", "channel", "state", "attempts"], id=INT, subject=STR, channel=STR, level=INT,
                         title=STR, state={"enum": ["pending", "sending", "sent", "failed"]}, attempts=INT,
                         error=N_STR, created_at=TIME, sent_at=N_TIME))),
    "Token": obj(["id", "name"], id=INT, name=STR, created_at=TIME, last_used_at=N_TIME, token=STR),
    "CalendarItem": obj(["broadcast_id", "title", "kind", "start", "end", "state", "clusters", "overlaps"],
                        broadcast_id=INT, title=STR,
                        kind={"enum": ["one-off", "weekly", "relay", "emergency", "live"]},
                        priority={"enum": ["normal", "priority", "emergency"]}, start=TIME, end=TIME,
                        state={"enum": list(CALENDAR_STATES)}, programme_id=N_INT,
                        clusters=array(obj(["device_id", "name"], device_id=STR, name=STR)),
                        overlaps=array(obj(["broadcast_id", "title", "start", "end", "clusters"], broadcast_id=INT,
                                           title=STR, start=TIME, end=TIME, clusters=array(STR)))),
    "CalendarDay": obj(["date", "items", "airtime"], date={"type": "string", "format": "date"},
                       items=array(ref("CalendarItem")),
                       airtime=array(obj(["from", "to", "areas"], **{"from": STR, "to": STR, "areas": array(STR)}))),
    "ReportRow": obj(["planned", "device_id", "state"], planned=STR, device_id=STR, device=STR, village=STR,
                     broadcast_id=INT, title=STR, priority=STR, state=STR, started_at=STR, finished_at=STR,
                     minutes=NUM, error=STR),
    "Group": obj(["id", "name", "devices"], id=INT, name=STR, area_id=N_INT, devices=array(STR)),
    "LexiconEntry": obj(["id", "word", "reading"], id=INT, word=STR, reading=STR),
    "Live": obj(["broadcast_id", "session", "state", "devices"], broadcast_id=INT, session=STR,
                state={"enum": ["ready", "live", "stopping", "ended", "failed"]}, title=STR,
                priority={"enum": ["normal", "priority", "emergency"]}, speaker=STR, max_minutes=INT,
                options={"type": "object"}, created_at=TIME, started_at=N_TIME, ended_at=N_TIME, seconds=NUM,
                error=N_STR, bulletin_id=INT, recording=N_STR, transcript=N_STR, playing=INT,
                devices=array(obj(["device_id", "state"], device_id=STR, name=STR, state=STR, started_at=N_TIME,
                                  finished_at=N_TIME, error=N_STR))),
    "Voice": obj(["name", "label", "natural", "available"], name=STR, label=STR, engine=STR,
                 region=nullable({"enum": ["north", "central", "south"]}),
                 gender=nullable({"enum": ["female", "male"]}), natural=BOOL, available=BOOL, problem=N_STR),
    "CapPart": obj(["language", "priority", "source", "devices"], language=STR,
                   priority={"enum": ["normal", "priority", "emergency"]}, title=STR, text=STR,
                   source={"enum": ["vietnamese", "recording", "built", "held"]}, devices=array(STR), areas=STR,
                   play_at=N_TIME, expires=N_TIME, bulletin_id=N_INT, broadcast_ids=array(INT), recording=N_STR,
                   recording_s=NUM),
    "CapResult": obj(["identifier", "aired", "outcome", "reason"], id=N_INT, identifier=STR, sender=STR,
                     aired=BOOL, outcome=STR, reason=STR, detail=STR, priority=N_STR, play_at=N_TIME,
                     stopped=array(INT), parts=array(ref("CapPart")), matched=array(STR), unmatched=array(STR),
                     ambiguous=array(STR), warnings=array(STR), signed_by=N_STR, bulletin=ref("Bulletin"),
                     broadcasts=array(ref("Broadcast"))),
    "CapAlert": obj(["id", "identifier", "sender", "outcome", "reason"], id=INT, identifier=STR, sender=STR,
                    sent=N_TIME, status=STR, msg_type=STR, scope=STR, event=STR, outcome=STR, reason=STR,
                    detail=STR, priority=N_STR, expires=N_TIME, play_at=N_TIME, parts=array(ref("CapPart")),
                    matched=array(STR), unmatched=array(STR), ambiguous=array(STR), warnings=array(STR),
                    stopped=array(INT), original_text=STR, bulletin_id=N_INT, broadcast_ids=array(INT),
                    signed_by=N_STR, feed_id=N_INT, received_at=TIME, broadcasts=array(ref("Broadcast"))),
    "CapIssuer": obj(["id", "name", "senders"], id=INT, name=STR, senders=array(STR), certificates=array(STR),
                     require_signature=BOOL, hold_for_approval=BOOL,
                     language_fallback={"enum": ["build", "hold"]}),
    "CapFeed": obj(["id", "url"], id=INT, url=STR, issuer_id=N_INT, poll_every_s=INT, active=BOOL,
                   last_polled_at=N_TIME, last_success_at=N_TIME, last_error=N_STR, last_error_at=N_TIME,
                   entries_seen=INT, alerts_imported=INT, healthy=BOOL),
    "CapRule": obj(["urgency", "severity", "certainty", "priority"],
                   urgency=array({"enum": list(URGENCIES)}), severity=array({"enum": list(SEVERITIES)}),
                   certainty=array({"enum": list(CERTAINTIES)}), priority={"enum": list(PRIORITY_CHOICES)}),
    "CapMapping": obj(["rules"], rules=array(ref("CapRule")), default=array(ref("CapRule"))),
    "Geocode": obj(["id", "value_name", "value", "area_id"], id=INT, value_name=STR, value=STR, area_id=INT),
    "Mark": obj(["kind", "text", "readings"],
                kind={"type": "string", "enum": list(MARK_KINDS)}, text=STR,
                readings=array(STR)),
}


def body(schema: J, kind: str = "application/json") -> J:
    return {"required": True, "content": {kind: {"schema": schema}}}


def answer(code: int, schema: J | None, what: str, kind: str = "application/json") -> J:
    response: J = {"description": what}
    if schema is not None:
        response["content"] = {kind: {"schema": schema}}
    return {str(code): response}


ERR = ref("Error")
ERRORS = {**answer(400, ERR, "malformed request"), **answer(401, ERR, "no or bad token"),
          **answer(403, ERR, "not allowed for your role or areas"), **answer(404, ERR, "not found here"),
          **answer(409, ERR, "conflicts with what exists (a duplicate) or with its state (e.g. not approved)"),
          **answer(413, ERR, "the request body is too large"),
          **answer(422, ERR, "a field was refused; the code and message say which and why"),
          **answer(503, ERR, "the database is not answering; try again")}

ISSUER = obj(["name", "senders"], name=STR, senders=array(STR), certificates=STR, require_signature=BOOL,
             hold_for_approval=BOOL, language_fallback={"enum": ["build", "hold"]})

# (method, path, summary, request body, success code, success schema)
OPERATIONS: list[tuple[str, str, str, J | None, int, J | None]] = [
    ("get", "/health", "Liveness", None, 200, obj(status=STR)),
    ("get", "/voices", "Voices (label, region, gender, natural or robotic, whether each speaks here) and the "
                       "one your commune's bulletins are read with", None, 200,
     obj(["voices", "default", "in_use"], voices=array(ref("Voice")), configured=STR, default=STR, in_use=STR,
         natural_available=BOOL)),
    ("put", "/areas/{area_id}/voice", "The voice an area's bulletins are read with (admins; null: the default)",
     body(obj(["voice"], voice=N_STR)), 200, obj(area_id=INT, voice=N_STR)),
    ("get", "/lexicon", "The commune's dictionary", None, 200, array(ref("LexiconEntry"))),
    ("post", "/lexicon", "Add a word and its reading", body(obj(["word", "reading"], word=STR, reading=STR)),
     201, ref("LexiconEntry")),
    ("delete", "/lexicon/{entry_id}", "Remove a word", None, 204, None),
    ("post", "/normalize", "How a text will be read, and where the reading is a guess", body(obj(["text"], text=STR)),
     200, obj(sentences=array(STR), marks=array(ref("Mark")))),
    ("post", "/preview", "Render a text as it will air (with a voice and speed), with the listening check",
     body(obj(["text"], text=STR, voice=N_STR, speed=SPEED)), 200, {"type": "object"}),
    ("get", "/assets/{asset_id}", "Encoded audio", None, 200, None),
    ("get", "/devices", "Clusters in your areas", None, 200, array(ref("Device"))),
    ("post", "/bulletins", "Write a bulletin (JSON) or upload a recording (multipart: title, language, audio)",
     {"required": True, "content": {
         "application/json": {"schema": obj(["title", "text"], title=STR, text=STR, area_id=N_INT, submit=BOOL,
                                            voice=N_STR, speed=SPEED,
                                            request=nullable(ref("WriterRequest")))},
         "multipart/form-data": {"schema": obj(["title", "audio"], title=STR, language=STR,
                                               audio={"type": "string", "format": "binary"})}}},
     201, ref("Bulletin")),
    ("get", "/bulletins", "Bulletins in your areas (?state=)", None, 200, array(ref("Bulletin"))),
    ("get", "/bulletins/{bulletin_id}", "One bulletin", None, 200, ref("Bulletin")),
    ("patch", "/bulletins/{bulletin_id}", "Edit; approved content goes back for approval",
     body(obj(title=STR, text=STR, voice=N_STR, speed=SPEED)), 200, ref("Bulletin")),
    ("post", "/bulletins/{bulletin_id}/submit", "Submit for approval", None, 200, ref("Bulletin")),
    ("post", "/bulletins/{bulletin_id}/approve", "Approve (approvers), optionally with a comment for the writer; "
     "what the writer asked for (or 'schedule') is scheduled at once (broadcast_id); 'schedule': false only approves",
     {"required": False, "content": {"application/json": {"schema": obj(
         comment=N_STR, schedule={"oneOf": [ref("WriterRequest"), {"type": "boolean", "enum": [False]},
                                            {"type": "null"}]})}}}, 200, ref("Bulletin")),
    ("post", "/bulletins/{bulletin_id}/reject", "Reject with a comment (approvers)",
     body(obj(["comment"], comment=STR)), 200, ref("Bulletin")),
    ("post", "/broadcasts", "Schedule an approved bulletin (within the air-time rules)",
     body(ref("BroadcastRequest")), 201, ref("Broadcast")),
    ("post", "/programmes", "Several approved items back to back in one session",
     body(obj(["title", "items", "targets"], title=STR,
              items=array(obj(["bulletin_id"], bulletin_id=INT, relay=nullable(obj(url=STR, window_s=INT)))),
              targets=TARGETS, priority={"enum": ["normal", "priority", "emergency"]}, play_at=N_TIME,
              repeat=nullable(ref("Repeat")))), 201,
     obj(["id", "broadcasts"], id=INT, title=STR, broadcasts=array(ref("Broadcast")))),
    ("post", "/broadcasts/check", "What the rules say and what it overlaps, without saving",
     body(ref("BroadcastRequest")), 200,
     obj(["allowed"], allowed=BOOL, devices=array(STR), breaches=array({"type": "object"}),
         overlaps=array({"type": "object"}))),
    ("get", "/broadcasts", "Recent broadcasts in your areas, a page at a time (?limit=, ?before=<id>)", None, 200,
     array(ref("BroadcastSummary"))),
    ("get", "/broadcasts/{broadcast_id}", "One broadcast and each cluster's state", None, 200, ref("Broadcast")),
    ("post", "/broadcasts/{broadcast_id}/stop", "Stop it everywhere", None, 200, ref("Broadcast")),
    ("put", "/devices/{device_id}/volume", "Set a cluster's volume", body(obj(["volume"], volume=INT)), 200,
     obj(device=STR, volume=INT, sent=BOOL)),
    ("put", "/devices/{device_id}/power", "Switch a cluster off (silent but for emergencies) or on",
     body(obj(["on"], on=BOOL)), 200, obj(device=STR, on=BOOL, sent=BOOL)),
    ("put", "/devices/{device_id}/position", "Set where a cluster stands", body(obj(lat=N_NUM, lon=N_NUM)), 200,
     obj(device=STR, lat=N_NUM, lon=N_NUM)),
    ("get", "/map", "The map: every cluster in your areas as [id, name, lat, lon, state] (state: an index into "
     "states; lat, lon null until placed) and your areas' outlines (GeoJSON); an ETag, 304 when unchanged", None,
     200, obj(["states", "clusters", "outlines"], states=array(STR), clusters=array(
         {"type": "array", "minItems": 5, "maxItems": 5, "items": {"type": ["string", "number", "null"]},
          "description": "[id (string), name (string), lat (number or null), lon (number or null), state (integer)]"}),
         outlines=array(obj(["id", "name", "kind", "geometry"], id=INT, name=STR, kind=STR,
                            geometry={"type": "object"})))),
    ("get", "/dashboard", "The live rows of an area's clusters, filtered, searched, a page at a time "
     "(X-Total-Count: how many match)", None, 200, array(ref("DashboardRow"))),
    ("get", "/dashboard/areas", "An area rolled up: the way down to it, its totals, one row per child area", None,
     200, obj(["path", "totals", "children"], area=nullable(ref("AreaRef")), path=array(ref("AreaRef")), roots=INT,
              totals=ref("AreaCounts"), emergency=nullable(obj(id=INT, title=STR)),
              children=array({"allOf": [ref("AreaRef"), ref("AreaCounts")]}))),
    ("get", "/events", "Server-Sent Events for one dashboard view: device, area, totals, alarms", None, 200, None),
    ("get", "/export/clusters", "Export: every cluster in your areas, its state and the areas above it by level",
     None, 200, array(obj(["id", "name", "state", "areas"], id=STR, name=STR, state=STR, last_seen=N_TIME,
                          lat=N_NUM, lon=N_NUM, areas={"type": "object", "additionalProperties": obj(
                              ["id", "name"], id=INT, name=STR)}))),
    ("get", "/export/statistics", "Export: planned, played, not played and minutes on air per area of ?level= "
     "(province, district, commune, village) for ?from=&to= (local dates)", None, 200,
     obj(["period", "areas"], period=obj(["from", "to"], **{"from": STR, "to": STR}),
         areas=array(obj(["area_id", "name", "level", "clusters", "planned", "played", "not_played", "minutes"],
                         area_id=INT, name=STR, level=STR, clusters=INT, planned=INT, played=INT, not_played=INT,
                         minutes=NUM)))),
    ("get", "/broadcasts/{broadcast_id}/events", "Server-Sent Events: broadcast (its state), delivery (a "
     "cluster's row) as they change", None, 200, None),
    ("get", "/alarms", "Alarms not yet acknowledged (?all=1 for all)", None, 200, array(ref("Alarm"))),
    ("post", "/alarms/{alarm_id}/ack", "Acknowledge an alarm", None, 200, obj(id=INT, acked_at=N_TIME)),
    ("get", "/reports/airtime", "Planned against played (?from=&to=&area_id=&limit=&format=csv)", None, 200,
     obj(period={"type": "object", "properties": {"from": STR, "to": STR}}, villages=array({"type": "object"}),
         total=INT, rows=array(ref("ReportRow")))),
    ("get", "/calendar", "What will air and what aired, day by day (?from=&to=&area=&device=; default this week)",
     None, 200, obj(["from", "to", "days"], **{"from": {"type": "string", "format": "date"},
                                               "to": {"type": "string", "format": "date"},
                                               "days": array(ref("CalendarDay"))})),
    ("get", "/playback", "The playback log (?q=&device=&state=&from=&to=)", None, 200, array(ref("ReportRow"))),
    ("get", "/emergency/templates", "Ready emergency messages", None, 200, {"type": "object"}),
    ("post", "/emergency", "Send an emergency now, over the air-time rules",
     body(obj(targets=TARGETS, text=N_STR, template=nullable({"type": "string", "enum": sorted(templates())}),
              title=N_STR, repeat_count={"type": "integer", "minimum": 1, "maximum": MAX_REPEATS},
              repeat_every_min={"type": "integer", "minimum": 1, "maximum": 120})),
     201, obj(bulletin=ref("Bulletin"), broadcasts=array(ref("Broadcast")))),
    ("post", "/live", "Start speaking live: the session and the one-time ticket its microphone connects with",
     body(obj(targets=TARGETS, priority={"enum": ["normal", "priority", "emergency"]}, title=N_STR,
              max_minutes={"type": "integer", "minimum": 1, "maximum": 240},
              options=obj(echo_cancellation=BOOL, noise_suppression=BOOL, auto_gain=BOOL))),
     201, obj(["live", "ticket", "ws_url"], live=ref("Live"), ticket=STR, ws_url=STR, frame_ms=INT)),
    ("get", "/live/{broadcast_id}", "A live broadcast: its state and each cluster's listening span", None, 200,
     ref("Live")),
    ("post", "/live/{broadcast_id}/stop", "End a live broadcast on every loudspeaker", None, 200, ref("Live")),
    ("post", "/cap", "Import a CAP 1.0/1.1/1.2 alert: 201 it airs (or waits for the allowed hours), 200 recorded, "
     "held or already received, 4xx refused and nothing kept",
     {"required": True, "content": {"application/cap+xml": {"schema": STR}, "application/xml": {"schema": STR}}},
     201, ref("CapResult")),
    ("get", "/cap/alerts", "CAP alerts received (?limit=), newest first, with what became of each", None, 200,
     array(ref("CapAlert"))),
    ("get", "/cap/alerts/{alert_id}", "One CAP alert received", None, 200, ref("CapAlert")),
    ("post", "/cap/alerts/{alert_id}/release", "Air a held alert (with the Vietnamese text written for it if it came "
     "without one)", {"required": False, "content": {"application/json": {"schema": obj(text=N_STR)}}}, 201,
     ref("CapAlert")),
    ("get", "/cap/issuers", "Known CAP issuers and their policies (admins)", None, 200, array(ref("CapIssuer"))),
    ("post", "/cap/issuers", "Add an issuer (admins)", body(ISSUER), 201, ref("CapIssuer")),
    ("put", "/cap/issuers/{issuer_id}", "Change an issuer (admins)", body(ISSUER), 200, ref("CapIssuer")),
    ("get", "/cap/feeds", "Subscribed CAP feeds and their health (admins)", None, 200, array(ref("CapFeed"))),
    ("post", "/cap/feeds", "Subscribe to a CAP feed, Atom or RSS (admins)",
     body(obj(["url"], url=STR, issuer_id=N_INT, poll_every_s={"type": "integer", "minimum": 30,
                                                               "maximum": 86400})), 201, ref("CapFeed")),
    ("delete", "/cap/feeds/{feed_id}", "Unsubscribe a feed (admins)", None, 204, None),
    ("get", "/cap/mapping", "The mapping of urgency, severity and certainty to our priorities", None, 200,
     ref("CapMapping")),
    ("put", "/cap/mapping", "Replace the mapping table; [] for the default (admins)",
     body(obj(["rules"], rules=array(ref("CapRule")))), 200, ref("CapMapping")),
    ("get", "/cap/geocodes", "CAP geocodes mapped to your areas", None, 200, array(ref("Geocode"))),
    ("post", "/cap/geocodes", "Map a CAP geocode to an area (admins)",
     body(obj(["value_name", "value", "area_id"], value_name=STR, value=STR, area_id=INT)), 201, ref("Geocode")),
    ("delete", "/cap/geocodes/{geocode_id}", "Remove a geocode mapping (admins)", None, 204, None),
    ("put", "/areas/{area_id}/outline", "Set an area's outline, GeoJSON Polygon or MultiPolygon; null removes it "
     "(admins)", body(obj(["geojson"], geojson=nullable({"type": "object"}))), 200,
     obj(["area_id", "has_outline"], area_id=INT, has_outline=BOOL)),
    ("get", "/groups", "Groups of clusters you may target", None, 200, array(ref("Group"))),
    ("post", "/groups", "Create a group (operators)", body(obj(["name", "devices"], name=STR, devices=array(STR),
                                                              area_id=N_INT)), 201, ref("Group")),
    ("put", "/groups/{group_id}", "Rename a group or change its members",
     body(obj(["name", "devices"], name=STR, devices=array(STR), area_id=N_INT)), 200, ref("Group")),
    ("get", "/areas", "Areas in your scope with their air-time rule", None, 200, array(ref("Area"))),
    ("post", "/areas", "Create an area (admins)",
     body(obj(["name", "kind"], name=STR, kind={"enum": ["province", "district", "commune", "village"]},
              parent_id=N_INT)), 201, ref("Area")),
    ("put", "/areas/{area_id}/airtime", "Set an area's air-time rule (admins)",
     body(obj(allowed_from=STR, allowed_to=STR, max_session_min=N_INT, max_sessions_per_day=N_INT)), 200,
     ref("Area")),
    ("get", "/me", "Who you are", None, 200, ref("User")),
    ("get", "/me/notifications", "Where and about what alarms reach you, and your recent messages", None, 200,
     ref("Notifications")),
    ("put", "/me/notifications", "Change any of your notification settings (the others stay)",
     body(obj(email=STR, webhook_url=STR, telegram_chat_id=STR, severity={"enum": ["warning", "critical"]},
              areas=array(INT), quiet_from=STR, quiet_to=STR, daily_summary=BOOL)), 200, ref("Notifications")),
    ("post", "/me/notifications/test", "A test message on each of your channels", None, 202,
     obj(["channels"], channels=array(STR))),
    ("get", "/tokens", "Your API tokens", None, 200, array(ref("Token"))),
    ("post", "/tokens", "A new API token (shown once)", body(obj(["name"], name=STR)), 201, ref("Token")),
    ("delete", "/tokens/{token_id}", "Revoke a token", None, 204, None),
    ("get", "/users", "Users (admins)", None, 200, array(ref("User"))),
    ("post", "/users", "Create a user (admins)",
     body(obj(["username", "password", "roles"], username=STR, password=STR, roles=array(STR), areas=array(INT))),
     201, ref("User")),
    ("patch", "/users/{user_id}", "Change roles, areas, password; unlock (admins)",
     body(obj(roles=array(STR), areas=array(INT), password=STR, unlock=BOOL)), 200, ref("User")),
    ("get", "/audit", "The audit log (admins)", None, 200, array({"type": "object"})),
]


def operation_id(method: str, path: str) -> str:
    return method + path.replace("/", "_").replace("{", "").replace("}", "")


def link(method: str, path: str, what: str, body: J | None = None, **parameters: str) -> J:
    """An OpenAPI link: where an answer leads, with the values (runtime expressions) the next request takes
    from it. Clients read them as documentation; schemathesis follows them in its stateful tests."""
    found: J = {"operationId": operation_id(method, path), "description": what}
    if parameters:
        found["parameters"] = parameters
    if body is not None:
        found["requestBody"] = body
    return found


BULLETIN = "$response.body#/id"
BULLETIN_NEXT = {
    "GetBulletin": link("get", "/bulletins/{bulletin_id}", "the bulletin", bulletin_id=BULLETIN),
    "EditBulletin": link("patch", "/bulletins/{bulletin_id}", "edit it", bulletin_id=BULLETIN),
    "SubmitBulletin": link("post", "/bulletins/{bulletin_id}/submit", "submit it", bulletin_id=BULLETIN),
    "ApproveBulletin": link("post", "/bulletins/{bulletin_id}/approve", "approve it", bulletin_id=BULLETIN),
    "RejectBulletin": link("post", "/bulletins/{bulletin_id}/reject", "reject it", bulletin_id=BULLETIN),
}
SCHEDULE = {"bulletin_id": BULLETIN, "targets": ["all"]}


def broadcast_next(pointer: str) -> J:
    return {"GetBroadcast": link("get", "/broadcasts/{broadcast_id}", "the broadcast, cluster by cluster",
                                 broadcast_id=f"$response.body#{pointer}"),
            "StopBroadcast": link("post", "/broadcasts/{broadcast_id}/stop", "stop it",
                                  broadcast_id=f"$response.body#{pointer}")}


# (method, path) of an operation -> the links of its success answer
LINKS: dict[tuple[str, str], J] = {
    ("post", "/bulletins"): BULLETIN_NEXT,
    ("patch", "/bulletins/{bulletin_id}"): BULLETIN_NEXT,
    ("post", "/bulletins/{bulletin_id}/submit"): {k: BULLETIN_NEXT[k] for k in ("ApproveBulletin",
                                                                              "RejectBulletin")},
    ("post", "/bulletins/{bulletin_id}/approve"): {
        "ScheduleBulletin": link("post", "/broadcasts", "broadcast it", SCHEDULE),
        "CheckBulletin": link("post", "/broadcasts/check", "what broadcasting it would meet", SCHEDULE),
    },
    ("post", "/broadcasts"): {**broadcast_next("/id"),
                              "GetBulletin": link("get", "/bulletins/{bulletin_id}", "what it airs",
                                                  bulletin_id="$response.body#/bulletin_id")},
    ("post", "/broadcasts/{broadcast_id}/stop"): {"GetBroadcast": broadcast_next("/id")["GetBroadcast"]},
    ("post", "/programmes"): broadcast_next("/broadcasts/0/id"),
    ("post", "/emergency"): {**broadcast_next("/broadcasts/0/id"),
                             "GetBulletin": link("get", "/bulletins/{bulletin_id}", "what it airs",
                                                 bulletin_id="$response.body#/bulletin/id")},
    ("post", "/cap"): {**broadcast_next("/broadcasts/0/id"),
                       "GetAlert": link("get", "/cap/alerts/{alert_id}", "the alert as recorded",
                                        alert_id="$response.body#/id"),
                       "ReleaseAlert": link("post", "/cap/alerts/{alert_id}/release", "air it, if it is held",
                                            alert_id="$response.body#/id")},
    ("post", "/cap/feeds"): {"RemoveFeed": link("delete", "/cap/feeds/{feed_id}", "unsubscribe",
                                                feed_id="$response.body#/id")},
    ("post", "/cap/geocodes"): {"RemoveGeocode": link("delete", "/cap/geocodes/{geocode_id}", "remove it",
                                                      geocode_id="$response.body#/id")},
    ("post", "/cap/issuers"): {"UpdateIssuer": link("put", "/cap/issuers/{issuer_id}", "change it",
                                                    issuer_id="$response.body#/id")},
    ("post", "/lexicon"): {"DeleteWord": link("delete", "/lexicon/{entry_id}", "remove it",
                                              entry_id="$response.body#/id")},
    ("post", "/groups"): {"UpdateGroup": link("put", "/groups/{group_id}", "change it",
                                              group_id="$response.body#/id")},
    ("post", "/areas"): {"SetAirtime": link("put", "/areas/{area_id}/airtime", "set its air-time rule",
                                            area_id="$response.body#/id")},
    ("post", "/tokens"): {"RevokeToken": link("delete", "/tokens/{token_id}", "revoke it",
                                              token_id="$response.body#/id")},
    ("post", "/users"): {"UpdateUser": link("patch", "/users/{user_id}", "change the user",
                                            user_id="$response.body#/id")},
}

KINDS = {"/assets/{asset_id}": "audio/ogg", "/events": "text/event-stream",
         "/broadcasts/{broadcast_id}/events": "text/event-stream"}
OTHER_SUCCESS: dict[tuple[str, str], J] = {
    ("post", "/cap"): answer(200, ref("CapResult"), "recorded without airing, held, or already received: 'reason' "
                                                   "says why"),
}



def document() -> J:
    paths: dict[str, J] = {}
    for method, path, summary, request, code, schema in OPERATIONS:
        success = answer(code, schema, "success", KINDS.get(path, "application/json"))
        success.update(OTHER_SUCCESS.get((method, path), {}))
        if (method, path) in LINKS:
            success[str(code)]["links"] = LINKS[(method, path)]
        operation: J = {"summary": summary, "operationId": operation_id(method, path),
                        "responses": {**success, **ERRORS}}
        if request is not None:
            operation["requestBody"] = request
        params = [{"name": part[1:-1], "in": "path", "required": True,
                   "schema": {"type": "integer"} if part.endswith("_id}") and part != "{device_id}"
                   and part != "{asset_id}" else STR}
                  for part in path.split("/") if part.startswith("{")]
        params += QUERIES.get((method, path), [])
        if params:
            operation["parameters"] = params
        if path != "/health":
            operation["security"] = [{"token": []}]
        paths.setdefault(path, {})[method] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Loa xã: commune radio broadcaster", "version": __version__,
                 "description": "Errors are JSON: {\"error\": {\"code\", \"message\", \"field\"?}} with a stable "
                                "code. Authenticate with 'Authorization: Bearer <token>'."},
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {"schemas": SCHEMAS,
                       "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}},
    }
