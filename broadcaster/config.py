"""Settings of the broadcaster (``--config server.toml``; variables ``BROADCASTER_<SECTION>__<KEY>``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from broadcaster.speech.engines import VoiceSettings
from broadcaster.speech.normalize import DIALECTS
from broadcaster.speech.voices import AUTO, all_voices, best_voice
from edge_agent.protocol.signing import Signer
from edge_agent.protocol.topics import DEFAULT_ROOT
from edge_agent.settings import ConfigError, load, read_secret


@dataclass
class MqttSettings:
    host: str = "127.0.0.1"
    """Broker host."""
    port: int = 1883
    """Broker TCP port of the server listener (the server's user alone; receivers use device_port)."""
    username: str = "broadcaster"
    """MQTT user of the server (needs readwrite on <topic_root>/#)."""
    password: str | None = None
    """MQTT password (prefer password_file)."""
    password_file: str | None = None
    """File holding the MQTT password; relative names are looked up in $CREDENTIALS_DIRECTORY."""
    topic_root: str = DEFAULT_ROOT
    """First level of every topic."""
    chunk_kib: int = 16
    """Size of audio chunks (KiB); keep under the broker's packet limit (AWS IoT: 128 KB)."""
    ca_file: str | None = None
    """CA certificate to check the broker's TLS certificate against; TLS is used when set."""
    device_host: str = ""
    """Broker host name the receivers connect to, written into the agent.toml ``broadcaster devices add`` makes
    (empty: give --broker-host)."""
    device_port: int = 8883
    """The broker's device listener (client id = user name), where receivers connect: 8883 with TLS."""
    client_id: str = "broadcaster-worker"
    """Client id of the worker; its session is persistent so device reports wait while it restarts."""
    shared_subscriptions: bool = False
    """Several workers: the broker deals the reports out among them ($share/<group>/..., worker.share_group).
    Leave it off for one worker: mosquitto 2.0 does not restore shared subscriptions from its persistence file,
    so reports a receiver sends between a broker restart and the workers' return are lost (docs/scale.md)."""


@dataclass
class WebSettings:
    host: str = "127.0.0.1"
    """Address the web server listens on."""
    port: int = 8080
    """TCP port of the web server."""
    threads: int = 32
    """Worker threads of the WSGI server. Each open dashboard holds one for its live stream (mostly asleep),
    so allow for the dashboards open at once plus the officers' requests."""
    secret_key_file: str | None = None
    """File with the session signing key (random, at least 32 bytes)."""
    secure_cookies: bool = False
    """Mark the session cookie Secure (set true behind HTTPS)."""
    map_tiles: str = ""
    """The former name of map.tile_url, still read when map.tile_url is empty."""


OSM_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>'
"""What OpenStreetMap's tiles must say under the map (their licence, ODbL)."""


@dataclass
class MapSettings:
    tile_url: str = ""
    """Tiles under the map ({z}/{x}/{y}, optionally {s}), e.g. a provincial tile server
    https://bando.example.gov.vn/tiles/{z}/{x}/{y}.png or https://tile.openstreetmap.org/{z}/{x}/{y}.png (mind
    its usage policy). Empty (the default): no tiles, the area outlines and the clusters on a plain background,
    which works on a network without the Internet and sends nobody the officers' whereabouts."""
    attribution: str = ""
    """The credit the tile server asks for, shown under the map (HTML); empty: OpenStreetMap's for its tiles."""
    max_zoom: int = 19
    """The closest zoom the tile server has."""

    def credit(self, url: str) -> str:
        if self.attribution or not url:
            return self.attribution
        return OSM_ATTRIBUTION if "openstreetmap." in url else ""


@dataclass
class SpeechSettings:
    voice: str = AUTO
    """The server's default voice (a commune may set its own, a bulletin its own): auto (the best voice that
    speaks here, a natural one of the dialect's region first), vi, vi-nu, vi-central, vi-central-nu, vi-south,
    vi-south-nu (espeak-ng), a voice fetched into voices_dir, or a name from [speech.voices]."""
    voices: dict[str, VoiceSettings] = field(default_factory=dict)
    """Extra voices by name, e.g. [speech.voices.cham] engine = "espeak", speed_wpm = 120."""
    voices_dir: str = ""
    """Where 'broadcaster voices fetch' installs voices, each found there by itself (empty: <data_dir>/voices)."""
    dialect: str = "north"
    """Number readings: north (nghìn, linh) or south (ngàn, lẻ)."""
    bitrate_kbps: int = 24
    """Opus bitrate of broadcast audio (kbit/s)."""
    loudness_lufs: float = -16.0
    """Integrated loudness target (LUFS)."""
    chime: bool = True
    """Play our chime before each bulletin."""
    horn_filter: bool = False
    """Band-limit broadcasts to 250 Hz - 6 kHz for horn loudspeakers."""
    max_recording_s: int = 1800
    """Longest uploaded recording accepted (seconds)."""
    max_spoken_s: int = 300
    """Longest text an officer may write, as time to read it aloud (seconds, at our voices' 140 words a minute
    and the bulletin's speed): longer texts are refused with the estimate, to be split into several."""
    transcripts: bool = True
    """Write down what is said in each recording (uploaded, or kept from a live session) with the offline
    recognizer, where the ``asr`` extra is installed (about 2 s of one core for 10 s of speech)."""

    def catalog(self) -> dict[str, VoiceSettings]:
        """Every voice of this server by name (built in, installed, configured)."""
        return all_voices(self.voices, Path(self.voices_dir) if self.voices_dir else None)

    def default_voice(self) -> str:
        """The voice a bulletin is read with when neither it nor its commune chose one."""
        if self.voice != AUTO:
            return self.voice
        return best_voice(self.catalog(), "south" if self.dialect == "south" else "north")


@dataclass
class SigningSettings:
    key_file: str | None = None
    """The server's Ed25519 private key ('broadcaster keys generate'); relative names are looked up in
    $CREDENTIALS_DIRECTORY. Receivers pin its public key."""
    schedule_ttl_days: int = 30
    """How long a signed schedule stays valid: a receiver offline longer than this waits for a fresh one."""
    manifest_ttl_days: int = 30
    """How long a signed audio manifest stays valid (it is signed afresh whenever a receiver asks again)."""


@dataclass
class LiveSettings:
    host: str = "127.0.0.1"
    """Address the leading worker takes live microphones on (WebSocket; behind the TLS reverse proxy)."""
    port: int = 8081
    """TCP port of that endpoint."""
    public_url: str = ""
    """The endpoint as browsers reach it, e.g. wss://loa.example.vn/live (the proxy passes it to host:port);
    empty: ws:// the page's host name, at ``port`` (the demo, a test on localhost)."""


@dataclass
class MetricsSettings:
    token_file: str = ""
    """File with the bearer token Prometheus sends to the web process's /metrics. Empty: /metrics answers only
    requests from this machine that no proxy forwarded (no X-Forwarded-For)."""
    worker_host: str = "127.0.0.1"
    """Address each worker serves its own metrics on (ingest, dispatch, render, broker link)."""
    worker_port: int = 0
    """TCP port of worker 1's metrics; worker N (``--name N``) uses worker_port + N - 1. 0: no worker metrics."""


@dataclass
class EmailSettings:
    host: str = ""
    """SMTP server (empty: no e-mail). The connection is upgraded with STARTTLS before logging in."""
    port: int = 587
    """SMTP submission port."""
    username: str = ""
    """SMTP login (empty: no login)."""
    password: str | None = None
    """SMTP password (prefer password_file)."""
    password_file: str | None = None
    """File holding the SMTP password; relative names are looked up in $CREDENTIALS_DIRECTORY."""
    sender: str = ""
    """From address, e.g. "Loa xã <canhbao@loa.example.vn>"."""
    starttls: bool = True
    """Upgrade to TLS with STARTTLS (leave on: the password and the alarms cross the network)."""
    ca_file: str | None = None
    """CA certificate to check the SMTP server's certificate against (default: the system's)."""
    timeout_s: float = 20.0
    """Longest wait for the SMTP server."""


@dataclass
class WebhookSettings:
    secret: str | None = None
    """Key of the HMAC-SHA256 signature of each webhook (prefer secret_file)."""
    secret_file: str | None = None
    """File holding that key; relative names are looked up in $CREDENTIALS_DIRECTORY."""
    timeout_s: float = 10.0
    """Longest wait for a webhook's answer."""


@dataclass
class TelegramSettings:
    api_url: str = "https://api.telegram.org"
    """Telegram Bot API base URL (a local Bot API server, or a test's)."""
    token: str | None = None
    """The bot's token from @BotFather (prefer token_file; empty: no Telegram)."""
    token_file: str | None = None
    """File holding the bot's token; relative names are looked up in $CREDENTIALS_DIRECTORY."""
    timeout_s: float = 10.0
    """Longest wait for the Bot API."""


@dataclass
class NotifySettings:
    enabled: bool = True
    """Send alarms to the people subscribed (on /notifications) by the channels configured below."""
    interval_s: float = 5.0
    """How often the leading worker looks for alarms to send and sends what is due."""
    escalate_after_s: int = 900
    """An alarm nobody acknowledged in this long goes to the next level up (then again after as long)."""
    summary_at: str = "06:00"
    """Local time of the daily summary by e-mail (empty: none)."""
    retry_s: float = 30.0
    """First wait before a failed message is tried again; doubled after each failure."""
    max_attempts: int = 6
    """Attempts before a message is given up as failed (shown on /notifications)."""
    dashboard_url: str = ""
    """The dashboard as the officers reach it, linked from each message, e.g. https://loa.example.vn/dashboard
    (empty: http://<web.host>:<web.port>/dashboard)."""
    email: EmailSettings = field(default_factory=EmailSettings)
    webhook: WebhookSettings = field(default_factory=WebhookSettings)
    telegram: TelegramSettings = field(default_factory=TelegramSettings)


@dataclass
class WorkerSettings:
    dispatch_poll_s: float = 0.5
    """How often the leading worker looks for queued broadcasts, stops and settings by itself. A stored
    broadcast or stop wakes it at once (PostgreSQL NOTIFY, or a local socket beside SQLite:
    broadcaster/delivery/wake.py), so this only bounds the wait when a wake is lost (the worker restarting,
    its notify connection dropped) and paces the republishing of schedules that reports asked for."""


@dataclass
class ServerConfig:
    data_dir: str = "/var/lib/broadcaster"
    """Folder for the audio store (and the SQLite database when database_url is empty)."""
    database_url: str | None = None
    """SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db; SQLite in data_dir when empty."""
    timezone: str = "Asia/Ho_Chi_Minh"
    """Zone in which officers read and type times."""
    grace_s: int = 300
    """How late (seconds) a receiver may still start an item before it counts as missed."""
    offline_after_s: int = 90
    """A device with no heartbeat or status for this long is shown offline."""
    inactivity_alarm_s: int = 300
    """A device silent this long (or never heard from) raises an alarm for the operators."""
    asset_url: str = ""
    """Receivers fetch audio over HTTP(S) from ``<asset_url><asset id>`` (``broadcaster web`` serves it at /a/,
    or any web server from data_dir/assets), and the broker carries only the signed manifest and the chunks a
    receiver asks for when HTTP fails. For fleets beyond a few thousand receivers. Empty: audio over MQTT."""
    mqtt: MqttSettings = field(default_factory=MqttSettings)
    web: WebSettings = field(default_factory=WebSettings)
    speech: SpeechSettings = field(default_factory=SpeechSettings)
    signing: SigningSettings = field(default_factory=SigningSettings)
    live: LiveSettings = field(default_factory=LiveSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    notify: NotifySettings = field(default_factory=NotifySettings)
    worker: WorkerSettings = field(default_factory=WorkerSettings)
    map: MapSettings = field(default_factory=MapSettings)

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{Path(self.data_dir) / 'broadcaster.db'}"

    @property
    def asset_dir(self) -> Path:
        return Path(self.data_dir) / "assets"

    @property
    def upload_dir(self) -> Path:
        return Path(self.data_dir) / "uploads"

    def mqtt_password(self) -> str | None:
        return read_secret(self.mqtt.password, self.mqtt.password_file)

    def signer(self) -> Signer:
        """The signing key; ConfigError when none is configured or it cannot be read."""
        if not self.signing.key_file:
            raise ConfigError("signing.key_file is not set: create a key with 'broadcaster keys generate --out "
                              "/etc/broadcaster/signing.key' and give receivers 'broadcaster keys public'")
        text = read_secret(None, self.signing.key_file) or ""
        try:
            return Signer.from_text(text)
        except ValueError as exc:
            raise ConfigError(f"signing.key_file: {exc}") from None

    def check(self) -> ServerConfig:
        if not self.speech.voices_dir:
            self.speech.voices_dir = str(Path(self.data_dir) / "voices")
        voices = self.speech.catalog()
        if self.speech.voice != AUTO and self.speech.voice not in voices:
            raise ConfigError(f"speech.voice: {self.speech.voice!r} is not one of {AUTO}, "
                              f"{', '.join(sorted(voices))}")
        if not 0.01 <= self.worker.dispatch_poll_s <= 3600:
            raise ConfigError("worker.dispatch_poll_s: must be between 0.01 and 3600 seconds")
        if not 1 <= self.mqtt.chunk_kib <= 1024:
            raise ConfigError("mqtt.chunk_kib: must be between 1 and 1024")
        if self.live.public_url and not self.live.public_url.startswith(("ws://", "wss://")):
            raise ConfigError("live.public_url: must start with ws:// or wss://, e.g. wss://loa.example.vn/live")
        if self.speech.dialect not in DIALECTS:
            raise ConfigError("speech.dialect: must be north or south")
        if self.asset_url and not (self.asset_url.startswith(("http://", "https://")) and
                                   self.asset_url.endswith("/")):
            raise ConfigError("asset_url: must start with http:// or https:// and end with /, "
                              "e.g. https://loa.example.vn/a/")
        if self.notify.summary_at and not _clock_time(self.notify.summary_at):
            raise ConfigError("notify.summary_at: must be a local time HH:MM, e.g. 06:00")
        if not self.notify.telegram.api_url.startswith(("http://", "https://")):
            raise ConfigError("notify.telegram.api_url: must start with http:// or https://")
        tiles = self.tile_url()
        if tiles and not (tiles.startswith(("http://", "https://", "/")) and
                          all(part in tiles for part in ("{z}", "{x}", "{y}"))):
            raise ConfigError("map.tile_url: must start with http://, https:// or / and hold {z}, {x} and {y}, "
                              "e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png")
        if not 1 <= self.map.max_zoom <= 24:
            raise ConfigError("map.max_zoom: must be between 1 and 24")
        return self

    def tile_url(self) -> str:
        return self.map.tile_url or self.web.map_tiles

    def dashboard_url(self) -> str:
        return self.notify.dashboard_url or f"http://{self.web.host}:{self.web.port}/dashboard"

    def smtp_password(self) -> str | None:
        return read_secret(self.notify.email.password, self.notify.email.password_file)

    def webhook_secret(self) -> str | None:
        return read_secret(self.notify.webhook.secret, self.notify.webhook.secret_file)

    def telegram_token(self) -> str | None:
        return read_secret(self.notify.telegram.token, self.notify.telegram.token_file)


def _clock_time(text: str) -> bool:
    hours, _, minutes = text.partition(":")
    return len(text) == 5 and hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60


def load_config(path: Path | None) -> ServerConfig:
    return load(ServerConfig, path, "BROADCASTER").check()
