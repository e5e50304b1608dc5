"""Audio over HTTP(S) (``asset_url``): the broker carries the signed manifest, receivers fetch the file from
the web server and check it against the same hashes; when the web server cannot be reached they get the chunks
over MQTT, as before."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from broadcaster.assets import AssetStore
from broadcaster.config import ConfigError, ServerConfig
from broadcaster.ops.broker import free_port
from edge_agent.protocol import Manifest, ProtocolError, Topics
from edge_agent.protocol.fields import load_object
from tests.support.env import SERVER_USER, Env, wait_until

TEXT = "Thông báo thử tải âm thanh qua mạng."


class BlobWatch:
    """Everything published on the audio topics, as the broker passes it on."""

    def __init__(self, env: Env) -> None:
        self.topics = Topics(env.config.mqtt.topic_root)
        self.chunks: list[str] = []
        self.manifests: list[Manifest] = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"watch-{env.config.mqtt.topic_root}")
        self.client.username_pw_set(SERVER_USER, env.broker.users[SERVER_USER])
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", env.broker.server_port)
        self.client.subscribe(f"{env.config.mqtt.topic_root}/blob/#", qos=1)
        self.client.loop_start()

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        blob = self.topics.blob_of(message.topic)
        if blob is None or not message.payload:
            return
        with self.lock:
            if blob[1] == "manifest":
                self.manifests.append(Manifest.from_dict(load_object(message.payload)))
            else:
                self.chunks.append(message.topic)

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def watch(env: Env) -> Iterator[BlobWatch]:
    blobs = BlobWatch(env)
    yield blobs
    blobs.stop()


def test_receivers_fetch_the_audio_over_http_and_the_broker_carries_only_the_manifest(
        env: Env, site: str, watch: BlobWatch) -> None:
    env.config.asset_url = f"{site}/a/"
    env.start_worker()
    agents = [env.start_agent(d) for d in ("loa-01", "loa-02")]
    broadcast = env.broadcast(TEXT, targets=["loa-01", "loa-02"])
    wait_until(lambda: set(env.device_states(broadcast["id"]).values()) == {"played"}, timeout=60)
    asset = str(env.status(broadcast["id"])["asset"])
    assert watch.manifests and watch.manifests[-1].url == f"{site}/a/{asset}", "the signed manifest names the URL"
    assert watch.chunks == [], "no audio went through the broker"
    for agent in agents:
        stored = agent.store.asset_path(asset).read_bytes()
        assert hashlib.sha256(stored).hexdigest() == asset, "the receiver holds exactly the server's file"
    assert len(env.played_files("loa-01")) == 1


def test_a_receiver_that_cannot_reach_the_web_server_gets_the_chunks_over_mqtt(env: Env, watch: BlobWatch) -> None:
    env.config.asset_url = f"http://127.0.0.1:{free_port()}/a/"  # nothing listens there
    env.start_worker()
    agent = env.start_agent("loa-01", retry_s=1.0)
    broadcast = env.broadcast(TEXT, targets=["loa-01"])
    wait_until(lambda: env.device_states(broadcast["id"]) == {"loa-01": "played"}, timeout=60)
    asset = str(env.status(broadcast["id"])["asset"])
    assert watch.chunks, "the receiver asked, and the chunks came over MQTT"
    assert hashlib.sha256(agent.store.asset_path(asset).read_bytes()).hexdigest() == asset


def test_the_web_server_gives_audio_by_its_hash_whole_or_from_an_offset(env: Env) -> None:
    data = b"OggS" + bytes(range(256)) * 40
    asset = AssetStore(env.config.asset_dir).put(data)
    with env.client.get(f"/a/{asset}") as whole:  # closed: the file is streamed from disk
        assert whole.status_code == 200 and whole.data == data, "no login needed: the id is the file's SHA-256"
        assert "immutable" in whole.headers["Cache-Control"]
    with env.client.get(f"/a/{asset}", headers={"Range": "bytes=1000-"}) as part:
        assert part.status_code == 206 and part.data == data[1000:], "a broken download resumes"
    assert env.client.get(f"/a/{'0' * 64}").status_code == 404
    assert env.client.get("/a/..%2Fbroadcaster.db").status_code == 404


def test_an_asset_url_must_be_http_and_a_manifest_url_too() -> None:
    with pytest.raises(ConfigError, match="asset_url"):
        ServerConfig(asset_url="ftp://files/a/").check()
    with pytest.raises(ConfigError, match="asset_url"):
        ServerConfig(asset_url="https://loa.example.vn/a").check()  # no trailing slash: ids would run on
    manifest = Manifest("ab" * 32, "opus", 10, 1024, ["cd" * 32], 1.0, url="https://loa.example.vn/a/x").to_dict()
    assert Manifest.from_dict(manifest).url == "https://loa.example.vn/a/x"
    with pytest.raises(ProtocolError, match="url"):
        Manifest.from_dict({**manifest, "url": "file:///etc/passwd"})
