"""Settings of one receiver (``edge-agent --config agent.toml``; variables ``EDGE_AGENT_...``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from edge_agent.protocol.topics import DEFAULT_ROOT, valid_device_id
from edge_agent.settings import ConfigError, load

if TYPE_CHECKING:
    from edge_agent.amplifier import Amplifier


@dataclass
class MqttSettings:
    host: str = "127.0.0.1"
    """Broker host name or address."""
    port: int = 1883
    """Broker TCP port."""
    username: str | None = None
    """MQTT user; the device id when empty."""
    password: str | None = None
    """MQTT password (prefer password_file)."""
    password_file: str | None = None
    """File holding the MQTT password; relative names are looked up in $CREDENTIALS_DIRECTORY."""
    topic_root: str = DEFAULT_ROOT
    """First level of every topic."""
    keepalive_s: int = 30
    """MQTT keepalive (seconds); the broker publishes our Last Will after 1.5 times this."""
    ca_file: str | None = None
    """CA certificate to check the broker's TLS certificate against; TLS is used when set (port 8883)."""


@dataclass
class AudioSettings:
    sink: str = "alsa"
    """Where audio goes: ``alsa`` (a loudspeaker) or ``file`` (WAV files in played_dir)."""
    alsa_device: str = "default"
    """ALSA device name for the alsa sink."""
    played_dir: str | None = None
    """Folder for the file sink; ``<cache_dir>/../played`` when empty."""
    volume: int = 80
    """Output volume in percent (0-100)."""


@dataclass
class AmplifierSettings:
    kind: str = "none"
    """none (no relay wired), gpio (a relay on a GPIO pin), or simulated (demo and tests)."""
    gpio_pin: int = 17
    """GPIO (BCM numbering) that drives the relay."""
    active_high: bool = True
    """False for relay boards that switch on when the pin is low."""
    gpio_root: str = "/sys/class/gpio"
    """Where the kernel's GPIO files are."""
    lead_s: float = 2.0
    """Seconds the amplifier is on before an item starts (it needs a moment before it sounds clean)."""
    hold_s: float = 10.0
    """Seconds it stays on after the last item, so items close together do not click it on and off."""


@dataclass
class LiveSettings:
    delay_ms: int = 300
    """How long after the server had a live frame it is played: every receiver with a set clock plays it at the
    same moment (neighbouring villages do not echo each other), and the frames that take the network's
    detours arrive in time. Raised by itself, up to max_delay_ms, when frames arrive late."""
    max_delay_ms: int = 2000
    """The most a weak link may raise the delay to."""
    silence_s: float = 10.0
    """A live session whose audio stops arriving for this long ends here (and the amplifier goes off)."""


@dataclass
class AgentConfig:
    device_id: str = ""
    """This receiver's id (= MQTT user and client id), characters a-z, 0-9 and -."""
    cache_dir: str = "/var/lib/edge-agent"
    """Folder for the local schedule and cached audio."""
    heartbeat_s: float = 30.0
    """Seconds between heartbeats."""
    retry_s: float = 3.0
    """Seconds without progress before asking the server again for missing audio chunks."""
    dead_air_s: float = 10.0
    """A relayed stream silent for this long is reported as dead air."""
    cache_max_mb: float = 1024.0
    """Most audio kept on the device; played and expired audio is evicted first to make room."""
    trusted_keys: list[str] = field(default_factory=list)
    """The server's Ed25519 public keys (base64; 'broadcaster keys public' prints the current one). Schedules,
    manifests and commands not signed by one of them are refused. Two during a key rotation."""
    mqtt: MqttSettings = field(default_factory=MqttSettings)
    audio: AudioSettings = field(default_factory=AudioSettings)
    amplifier: AmplifierSettings = field(default_factory=AmplifierSettings)
    live: LiveSettings = field(default_factory=LiveSettings)

    def check(self) -> AgentConfig:
        if not valid_device_id(self.device_id):
            raise ConfigError(f"device_id: {self.device_id!r} must be 1-63 characters of a-z, 0-9 and -")
        if self.audio.sink not in ("alsa", "file"):
            raise ConfigError(f"audio.sink: {self.audio.sink!r} must be alsa or file")
        if not 0 <= self.audio.volume <= 100:
            raise ConfigError("audio.volume: must be 0-100")
        if self.heartbeat_s <= 0 or self.retry_s <= 0:
            raise ConfigError("heartbeat_s and retry_s must be positive")
        if self.cache_max_mb <= 0:
            raise ConfigError("cache_max_mb must be positive")
        if self.amplifier.kind not in ("none", "gpio", "simulated"):
            raise ConfigError(f"amplifier.kind: {self.amplifier.kind!r} must be none, gpio or simulated")
        if not 0 <= self.amplifier.lead_s <= 30 or not 0 <= self.amplifier.hold_s <= 3600:
            raise ConfigError("amplifier.lead_s must be 0-30 and amplifier.hold_s 0-3600 seconds")
        if not 0 <= self.live.delay_ms <= self.live.max_delay_ms <= 10_000 or not 1 <= self.live.silence_s <= 600:
            raise ConfigError("live: delay_ms must be 0 to max_delay_ms, max_delay_ms at most 10000, silence_s 1-600")
        if not self.trusted_keys:
            raise ConfigError("trusted_keys: pin the server's public key ('broadcaster keys public' prints it); "
                              "without one the receiver would accept nothing")
        from edge_agent.protocol.signing import Verifier

        try:
            Verifier(self.trusted_keys)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        return self

    @property
    def played_dir(self) -> Path:
        if self.audio.played_dir:
            return Path(self.audio.played_dir)
        return Path(self.cache_dir).parent / "played"


def load_config(path: Path | None) -> AgentConfig:
    return load(AgentConfig, path, "EDGE_AGENT").check()


def make_amplifier(settings: AmplifierSettings) -> Amplifier:
    from edge_agent.amplifier import GpioAmplifier, NoAmplifier, SimulatedAmplifier

    if settings.kind == "gpio":
        return GpioAmplifier(settings.gpio_pin, settings.active_high, Path(settings.gpio_root))
    if settings.kind == "simulated":
        return SimulatedAmplifier()
    return NoAmplifier()
