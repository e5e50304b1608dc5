"""CAP feeds: the real Atom feeds of tests/data/cap/feeds served by a local HTTP server (their links pointed at it,
in memory), polled by the leader's feed job: conditional requests, each new alert imported once under its
issuer's policy, and the feed's health as the admin sees it, a feed that is not well-formed included."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from broadcaster.db import CapAlert, CapFeedEntry
from broadcaster.delivery.feeds import poll_feeds
from tests.support.cap import ROWS, build_fleet, later, path, read
from tests.support.env import Env
from tests.support.sites import Site


@pytest.fixture
def site() -> Iterator[Site]:
    served = Site()
    yield served
    served.stop()


def feeds(env: Env) -> dict[str, dict[str, Any]]:
    answer = env.client.get("/api/v1/cap/feeds", headers=env.auth)
    assert answer.status_code == 200
    return {f["url"].rsplit("/", 1)[1]: f for f in answer.get_json()}


def test_real_feeds_are_polled_conditionally_their_new_alerts_taken_once_and_their_health_shown(
        env: Env, site: Site) -> None:
    fleet = build_fleet(env)
    kris = read("feeds/krisinformation-atom-2018.xml").replace(b"http://api.krisinformation.se", site.url.encode())
    nws = read("feeds/nws-oregon-atom-2014.xml").replace(b"http://alerts.weather.gov", site.url.encode())
    site.files = {"/v1/feed?format=xml": kris, "/cap/or.atom": nws,
                  "/pelmorex.atom": path("feeds/pelmorex-naads-atom-2014.xml").read_bytes(),
                  "/v1/capmessage/11337sv?format=xml": read("krisinformation-gavle-vma.xml")}
    for url in ("/v1/feed?format=xml", "/cap/or.atom", "/pelmorex.atom"):
        answer = env.client.post("/api/v1/cap/feeds", headers=env.auth, json={"url": site.url + url})
        assert answer.status_code == 201, answer.get_json()
    gavle = next(r for r in ROWS if r["file"] == "krisinformation-gavle-vma.xml")
    now = later(gavle)

    assert poll_feeds(env.config, env.db, now=now) == 1, "one alert taken: the Gävle VMA"
    health = feeds(env)
    sweden = health["feed?format=xml"]
    assert sweden["entries_seen"] == 4 and sweden["alerts_imported"] == 1
    assert sweden["last_success_at"] and "3 of 4 new entries not taken" in sweden["last_error"]
    assert "HTTP 404" in sweden["last_error"], "what went wrong with the others is said"
    assert health["or.atom"]["entries_seen"] == 1 and "HTTP 404" in health["or.atom"]["last_error"]
    latin = health["pelmorex.atom"]
    assert latin["last_success_at"] is None and not latin["healthy"]
    assert "not well-formed" in latin["last_error"], latin["last_error"]
    with env.db.session() as session:
        alert = session.query(CapAlert).one()
        assert (alert.identifier, alert.outcome, alert.feed_id) == ("11337sv", "aired", sweden["id"])
        assert session.query(CapFeedEntry).count() == 5, "taken and refused entries are not fetched again"
    reached = {d["device_id"] for b in env.client.get("/api/v1/broadcasts", headers=env.auth).get_json()
               for d in env.status(b["id"])["devices"]}
    assert fleet.devices["Gävle, Sweden"] in reached and fleet.devices["Stockholm, Sweden"] not in reached

    site.answers.clear()
    assert poll_feeds(env.config, env.db, now=now + timedelta(seconds=30)) == 0, "not due yet"
    assert site.answers == []
    assert poll_feeds(env.config, env.db, now=now + timedelta(seconds=61)) == 0
    assert ("/v1/feed?format=xml", 304) in site.answers and ("/cap/or.atom", 304) in site.answers
    assert not any(p.startswith("/v1/capmessage") for p, _ in site.answers), "nothing new: nothing fetched"
    health = feeds(env)
    assert health["feed?format=xml"]["healthy"] and health["feed?format=xml"]["last_error"] is None
    assert health["feed?format=xml"]["alerts_imported"] == 1
    assert "not well-formed" in health["pelmorex.atom"]["last_error"], "still said while it lasts"
    answer = env.client.delete(f"/api/v1/cap/feeds/{sweden['id']}", headers=env.auth)
    assert answer.status_code == 204, "unsubscribed; the alerts taken from it stay"
    assert env.client.get("/api/v1/cap/alerts", headers=env.auth).get_json()[0]["identifier"] == "11337sv"


def test_a_feed_that_cannot_be_reached_says_so_and_a_removed_one_is_no_longer_polled(env: Env, site: Site) -> None:
    answer = env.client.post("/api/v1/cap/feeds", headers=env.auth, json={"url": site.url + "/gone.atom"})
    feed_id = answer.get_json()["id"]
    site.stop()
    poll_feeds(env.config, env.db)
    assert "cannot reach" in feeds(env)["gone.atom"]["last_error"]
    assert env.client.delete(f"/api/v1/cap/feeds/{feed_id}", headers=env.auth).status_code == 204
    assert feeds(env) == {}
    for bad in ({"url": "ftp://x/feed"}, {"url": site.url + "/a", "poll_every_s": 5}, {"url": " "}):
        answer = env.client.post("/api/v1/cap/feeds", headers=env.auth, json=bad)
        assert answer.status_code == 422, bad


def test_the_leading_worker_polls_the_feeds_as_one_of_its_jobs(env: Env, site: Site) -> None:
    site.files = {"/empty.atom": b'<feed xmlns="http://www.w3.org/2005/Atom"><title>empty</title></feed>'}
    env.client.post("/api/v1/cap/feeds", headers=env.auth, json={"url": site.url + "/empty.atom"})
    worker = env.start_worker()
    assert worker.scheduler.get_job("feeds") is not None
    worker.poll_feeds()
    health = feeds(env)["empty.atom"]
    assert health["healthy"] and health["entries_seen"] == 0 and health["last_success_at"]
