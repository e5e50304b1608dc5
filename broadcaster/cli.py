"""``broadcaster``: the server's commands."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from edge_agent.settings import ConfigError

if TYPE_CHECKING:
    from broadcaster.config import ServerConfig


def _read_text(value: str) -> str:
    return sys.stdin.read() if value == "-" else value


def _config(path: Path | None) -> ServerConfig:
    from broadcaster.config import load_config

    return load_config(path)


def _commune_words(args: argparse.Namespace, config: ServerConfig) -> dict[str, str]:
    """The commune's own dictionary from the server's database, when a server config was given."""
    if not args.config:
        return {}
    from sqlalchemy.exc import SQLAlchemyError

    from broadcaster.database import Database
    from broadcaster.domain.bulletins import lexicon

    try:
        with Database(config.db_url).session() as session:
            return lexicon(session)
    except SQLAlchemyError as exc:
        print(f"broadcaster: cannot read the commune's dictionary ({exc.__class__.__name__}: "
              f"{str(exc).splitlines()[0]}); reading without it", file=sys.stderr)
        return {}


def cmd_normalize(args: argparse.Namespace) -> int:
    from broadcaster.speech.normalize import DIALECTS, Normalizer

    config = _config(args.config)
    normalizer = Normalizer(DIALECTS[args.dialect or config.speech.dialect], extra=_commune_words(args, config))
    print("\n".join(normalizer.sentences(_read_text(args.text))))
    return 0


def cmd_tts(args: argparse.Namespace) -> int:
    from broadcaster.speech.audio import ENCODINGS, AudioError, AudioSettings, finish, speech_program
    from broadcaster.speech.engines import EngineUnavailable
    from broadcaster.speech.normalize import DIALECTS, Normalizer
    from broadcaster.speech.voices import make_engine

    out = Path(args.output)
    if out.suffix not in ENCODINGS:
        print(f"broadcaster tts: cannot tell the format of {out.name}; use .wav, .opus or .mp3", file=sys.stderr)
        return 2
    if not 0.7 <= args.speed <= 1.5:
        print("broadcaster tts: --speed must be from 0.7 to 1.5 (1 is the voice's own)", file=sys.stderr)
        return 2
    config = _config(args.config)
    speech = config.speech
    try:
        engine = make_engine(args.voice or speech.default_voice(), speech.catalog(), args.speed)
    except EngineUnavailable as exc:
        print(f"broadcaster tts: {exc}", file=sys.stderr)
        return 2
    settings = AudioSettings(loudness_lufs=speech.loudness_lufs, bitrate_kbps=speech.bitrate_kbps,
                             chime=speech.chime and not args.no_chime,
                             horn_filter=speech.horn_filter or args.horn_filter)
    try:
        normalizer = Normalizer(DIALECTS[speech.dialect], extra=_commune_words(args, config))
        sentences = normalizer.sentences(_read_text(args.text))
        data = finish(speech_program(sentences, engine, settings), settings, out.suffix)
    except AudioError as exc:
        print(f"broadcaster tts: {exc}", file=sys.stderr)
        return 1
    out.write_bytes(data)
    print(f"wrote {out} ({len(data)} bytes)")
    return 0


def cmd_keys_generate(args: argparse.Namespace) -> int:
    from edge_agent.protocol.signing import Signer

    out = Path(args.out)
    if out.exists():
        print(f"broadcaster keys generate: {out} exists; a new key would cut off every receiver that pins the old "
              "one. Choose another file (see docs/operations.md, key rotation).", file=sys.stderr)
        return 1
    signer = Signer.generate()
    signer.save(out)
    print(f"wrote {out} (key {signer.kid}). Public key, for trusted_keys in every receiver's agent.toml:\n"
          f"{signer.public_text}")
    return 0


def cmd_keys_public(args: argparse.Namespace) -> int:
    from edge_agent.protocol.signing import Signer

    if args.key:
        try:
            signer = Signer.from_text(Path(args.key).read_text())
        except (OSError, ValueError) as exc:
            print(f"broadcaster keys public: {args.key}: {exc}", file=sys.stderr)
            return 1
    else:
        signer = _config(args.config).signer()
    print(signer.public_text)
    return 0


def cmd_users_add(args: argparse.Namespace) -> int:
    """A user with a generated password, printed once: the first admin of a deployment comes from here, so
    there is never a default password."""
    from broadcaster.database import Database
    from broadcaster.db import ROLES, Area, User
    from broadcaster.ops.bootstrap import ensure_user, new_password, new_token

    config = _config(args.config)
    db = Database(config.db_url)
    db.create_all()
    roles = tuple(args.role or ["admin"])
    if not set(roles) <= set(ROLES):
        print(f"broadcaster users add: roles are {', '.join(ROLES)}", file=sys.stderr)
        return 1
    with db.session() as session:
        if session.query(User).filter_by(username=args.username).one_or_none() is not None:
            print(f"broadcaster users add: {args.username!r} exists; change it on the users page", file=sys.stderr)
            return 1
        areas = []
        for name in args.area or []:
            area = session.query(Area).filter_by(name=name).first()
            if area is None:
                print(f"broadcaster users add: there is no area {name!r}", file=sys.stderr)
                return 1
            areas.append(area)
        password = new_password()
        # Another system has no pages to make a token on: it gets one here, shown once like the password.
        token = new_token() if roles == ("integration",) else None
        ensure_user(session, args.username, password, token, roles=roles, areas=tuple(areas))
    print(f"created {args.username} ({', '.join(roles)}); password, shown this once: {password}")
    if token is not None:
        print(f"read-only API token, shown this once: {token}")
    return 0


def cmd_devices_add(args: argparse.Namespace) -> int:
    from broadcaster.database import Database
    from broadcaster.ops.credentials import DeviceError, add_device, agent_config_text, set_password
    from edge_agent.settings import write_secret

    config = _config(args.config)
    trusted = [config.signer().public_text]
    host = args.broker_host or config.mqtt.device_host
    if not host:
        print("broadcaster devices add: give --broker-host (or set mqtt.device_host in the server config)",
              file=sys.stderr)
        return 1
    db = Database(config.db_url)
    db.create_all()
    try:
        with db.session() as session:
            if args.new_password:
                password = set_password(session, args.device_id)
            else:
                _, password = add_device(session, args.device_id, args.name or args.device_id, args.village,
                                         args.commune)
    except DeviceError as exc:
        print(f"broadcaster devices: {exc}", file=sys.stderr)
        return 1
    out = Path(args.out_dir or f"./{args.device_id}")
    write_secret(out / "mqtt-password", password + "\n")
    (out / "agent.toml").write_text(agent_config_text(args.device_id, host, args.broker_port or config.mqtt.device_port,
                                                      config.mqtt.topic_root, trusted, args.ca_file))
    print(f"{args.device_id}: wrote {out / 'agent.toml'} and {out / 'mqtt-password'}.\n"
          "Copy both to /etc/edge-agent/ on the receiver, then regenerate the broker's files:\n"
          "  broadcaster broker files --config ... --out-dir /etc/mosquitto/loaxa && systemctl reload mosquitto\n"
          "(A running 'broadcaster demo' does that itself within two seconds.)")
    return 0


def cmd_broker_files(args: argparse.Namespace) -> int:
    from broadcaster.database import Database
    from broadcaster.ops.broker import ACL, DEVICE_PASSWORDS, SERVER_PASSWORDS
    from broadcaster.ops.credentials import write_broker_files

    config = _config(args.config)
    password = config.mqtt_password()
    if not password:
        print("broadcaster broker files: the server's MQTT password is not configured (mqtt.password_file)",
              file=sys.stderr)
        return 1
    out = Path(args.out_dir)
    with Database(config.db_url).session() as session:
        write_broker_files(session, out, config.mqtt.topic_root, config.mqtt.username, password)
    print(f"wrote {out / DEVICE_PASSWORDS} (receivers), {out / SERVER_PASSWORDS} (the server) and {out / ACL}; "
          "point the listeners' password_file and acl_file at them (config/mosquitto.example.conf) and reload "
          "the broker (systemctl reload mosquitto)")
    return 0


def cmd_voices_fetch(args: argparse.Namespace) -> int:
    from broadcaster.speech.voicefetch import PIPER_VOICES, FetchError, fetch, fetch_piper

    config = _config(args.config)
    if args.name == "piper" and args.voice not in PIPER_VOICES:
        print(f"broadcaster voices fetch piper: name one of the published Vietnamese voices: "
              f"{', '.join(PIPER_VOICES)} (e.g. broadcaster voices fetch piper vais1000)", file=sys.stderr)
        return 2
    installed = f"piper-{args.voice}" if args.name == "piper" else args.name
    dest = Path(args.dest) if args.dest else Path(config.speech.voices_dir) / installed
    try:
        if args.name == "piper":
            fetch_piper(args.voice, dest, args.sha256)
        else:
            fetch(args.name, dest, args.sha256)
    except FetchError as exc:
        print(f"broadcaster voices fetch: {exc}", file=sys.stderr)
        return 1
    where = "the server finds it there by itself" if dest.parent.resolve() == Path(config.speech.voices_dir).resolve() \
        else f"set speech.voices_dir = \"{dest.parent.resolve()}\" so that the server finds it"
    print(f"voice {installed!r} is in {dest.resolve()} (checked; SHA256SUMS beside it); {where}. Officers can "
          f"choose it for a bulletin; with speech.voice = \"auto\" (the default) it reads every bulletin that "
          f"chose no voice, or set speech.voice = \"{installed}\". Restart the worker and web to load it.")
    return 0


def cmd_voices_list(args: argparse.Namespace) -> int:
    from broadcaster.speech.voices import voice_report

    config = _config(args.config)
    default = config.speech.default_voice()
    for voice in voice_report(config.speech.catalog()):
        mark = "*" if voice["name"] == default else " "
        state = "ok" if voice["available"] else f"UNAVAILABLE: {voice['problem']}"
        kind = "natural" if voice["natural"] else "robotic"
        print(f"{mark} {voice['name']:<16} {voice['engine']:<8} {kind:<8} {voice['label']:<34} {state}")
    return 0


def _wait_for_signal() -> None:
    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: done.set())
    done.wait()


def cmd_web(args: argparse.Namespace) -> int:
    from waitress import serve

    from broadcaster.web import create_app

    config = _config(args.config)
    app = create_app(config)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    serve(app, host=config.web.host, port=args.port or config.web.port, threads=config.web.threads,
          ident="broadcaster")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from broadcaster.database import Database
    from broadcaster.delivery.worker import Worker

    config = _config(args.config)
    db = Database(config.db_url)
    db.create_all()
    worker = Worker(config, db, name=args.name)
    worker.start()
    try:
        _wait_for_signal()
    finally:
        worker.stop()
    return 0


def cmd_init_db(args: argparse.Namespace) -> int:
    from broadcaster.database import Database

    Database(_config(args.config).db_url).create_all()
    print("database ready")
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    _config(args.config)
    print("configuration OK")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from broadcaster.ops.demo import run_demo

    return run_demo(Path(args.data_dir), args.port, args.agents, args.broker, args.fleet)


def cmd_live_speak(args: argparse.Namespace) -> int:
    """Speak live from this PC's microphone (or play a file live) to the chosen clusters."""
    from broadcaster.ops.microphone import MicrophoneError, Speaking, encoded, start_session

    token = args.token or os.environ.get("BROADCASTER_TOKEN") or (
        Path(args.token_file).read_text().strip() if args.token_file else "")
    if not token:
        print("broadcaster live speak: give an API token (--token-file, or $BROADCASTER_TOKEN)", file=sys.stderr)
        return 2
    request = {"targets": args.targets or ["all"], "priority": args.priority, "title": args.title,
               "max_minutes": args.max_minutes}
    try:
        session = start_session(args.api, token, request)
        speaking = Speaking(session["ws_url"], session["ticket"])
        speaking.open()
        print(f"on air (broadcast {session['live']['broadcast_id']}): speak; Ctrl-C stops", file=sys.stderr)
        try:
            speaking.send(encoded(args.input))
        except KeyboardInterrupt:
            speaking.close()
    except MicrophoneError as exc:
        print(f"broadcaster live speak: {exc}", file=sys.stderr)
        return 1
    ended: dict[str, object] = next((a for a in reversed(speaking.answers) if a.get("type") == "ended"), {})
    print(f"ended: {ended.get('reason', 'stopped')} ({len(speaking.sent) * 0.02:.0f} s spoken)", file=sys.stderr)
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from broadcaster.ops.backup import run_backup

    return run_backup(_config(args.config), args.config, args.out, args.out_dir, args.keep)


def cmd_restore(args: argparse.Namespace) -> int:
    from broadcaster.ops.restore import run_restore

    return run_restore(_config(args.config), args.archive, args.force, args.seq_jump_days)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="broadcaster", description="Commune radio broadcast server.")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="run the whole system on this machine")
    p.add_argument("--data-dir", default="./demo-data", help="folder for all demo state (default ./demo-data)")
    p.add_argument("--port", type=int, default=8080, help="web port (default 8080)")
    p.add_argument("--agents", type=int, default=3, help="number of simulated receivers (default 3)")
    p.add_argument("--fleet", type=int, default=0, metavar="N",
                   help="also put a province of N clusters on record (no receiver behind them: they show offline) "
                        "to try the dashboard's roll-up and the map at scale, e.g. --fleet 2000")
    p.add_argument("--broker", choices=["auto", "mosquitto", "amqtt"], default="auto",
                   help="MQTT broker: mosquitto when installed (auto), or the embedded amqtt broker")
    p.set_defaults(func=cmd_demo)

    for name, func, text in (("web", cmd_web, "serve the web app and API"),
                             ("worker", cmd_worker, "run a worker: it stores reports, and renders, signs and "
                                                    "publishes while it leads (one of them leads)"),
                             ("init-db", cmd_init_db, "create the database, or upgrade it to the newest schema"),
                             ("check-config", cmd_check_config, "validate a config file")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--config", type=Path, help="server TOML file (see config/server.example.toml)")
        if name == "worker":
            p.add_argument("--name", help="tells apart several workers of one deployment, e.g. 2 (their MQTT "
                                          "client ids); one worker needs none")
        if name == "web":
            p.add_argument("--port", type=int, help="listen here instead of web.port (one port per process when "
                                                    "several serve behind a reverse proxy)")
        p.set_defaults(func=func)

    p = sub.add_parser("tts", help="synthesize text into an audio file")
    p.add_argument("text", help="text to read, or - for standard input")
    p.add_argument("-o", "--output", required=True, help="output file: .wav, .opus or .mp3")
    p.add_argument("--voice", help="voice name (broadcaster voices list shows them; default: the server's)")
    p.add_argument("--speed", type=float, default=1.0, help="times the voice's own speed, 0.7 to 1.5 (default 1)")
    p.add_argument("--config", type=Path, help="server TOML: its voices, dialect, audio settings and dictionary")
    p.add_argument("--no-chime", action="store_true", help="leave out the chime")
    p.add_argument("--horn-filter", action="store_true", help="band-limit to 250 Hz - 6 kHz for horn speakers")
    p.set_defaults(func=cmd_tts)

    keys = sub.add_parser("keys", help="the server's signing key").add_subparsers(dest="keys_command", required=True)
    p = keys.add_parser("generate", help="create a new Ed25519 signing key file (never overwrites)")
    p.add_argument("--out", required=True, help="file to create, e.g. /etc/broadcaster/signing.key")
    p.set_defaults(func=cmd_keys_generate)
    p = keys.add_parser("public", help="print the public key receivers pin (trusted_keys)")
    p.add_argument("--config", type=Path, help="server TOML file (its signing.key_file)")
    p.add_argument("--key", help="a key file instead of the configured one")
    p.set_defaults(func=cmd_keys_public)

    users = sub.add_parser("users", help="officers' accounts").add_subparsers(dest="users_command", required=True)
    p = users.add_parser("add", help="create a user (the first admin) with a generated password, printed once")
    p.add_argument("username")
    p.add_argument("--role", action="append", help="admin (default), editor, approver or operator; repeatable")
    p.add_argument("--area", action="append", help="an area the user works in (default: everywhere); repeatable")
    p.add_argument("--config", type=Path, help="server TOML file")
    p.set_defaults(func=cmd_users_add)

    devices = sub.add_parser("devices", help="receivers and their credentials").add_subparsers(
        dest="devices_command", required=True)
    p = devices.add_parser("add", help="create a receiver with its own MQTT password and write its agent.toml")
    p.add_argument("device_id", help="id = MQTT user name: a-z, 0-9 and -, e.g. thon-dong-01")
    p.add_argument("--name", help="name shown to operators, e.g. 'Cụm loa thôn Đông'")
    p.add_argument("--village", help="village it serves (created if new)")
    p.add_argument("--commune", help="commune of that village (created if new)")
    p.add_argument("--broker-host", help="broker host name the receiver connects to (default: mqtt.device_host)")
    p.add_argument("--broker-port", type=int, help="the broker's device listener (default: mqtt.device_port)")
    p.add_argument("--ca-file", help="CA certificate path on the receiver: turns TLS on")
    p.add_argument("--out-dir", help="where to write agent.toml and mqtt-password (default ./<device_id>)")
    p.add_argument("--new-password", action="store_true", help="an existing device: replace its password")
    p.add_argument("--config", type=Path, help="server TOML file")
    p.set_defaults(func=cmd_devices_add)
    broker = sub.add_parser("broker", help="the MQTT broker's files").add_subparsers(dest="broker_command",
                                                                                     required=True)
    p = broker.add_parser("files", help="write mosquitto's password file and ACL from the database")
    p.add_argument("--out-dir", required=True, help="e.g. /etc/mosquitto/loaxa")
    p.add_argument("--config", type=Path, help="server TOML file")
    p.set_defaults(func=cmd_broker_files)

    voices = sub.add_parser("voices", help="list voices, or fetch a voice's weights").add_subparsers(
        dest="voices_command", required=True)
    p = voices.add_parser("list", help="every configured voice and whether it can speak here")
    p.add_argument("--config", type=Path, help="server TOML file")
    p.set_defaults(func=cmd_voices_list)
    p = voices.add_parser("fetch", help="download a voice's weights from their public location, verified")
    p.add_argument("name", choices=["viettts", "piper"], help="vietTTS's voice, or a Piper voice")
    p.add_argument("voice", nargs="?", help="for piper: vais1000 (northern woman), 25hours or vivos")
    p.add_argument("--dest", help="folder to put it in (default: <voices_dir>/<name>, where the server finds it)")
    p.add_argument("--sha256", help="expected SHA-256 of the download, if you have it from another channel")
    p.add_argument("--config", type=Path, help="server TOML file (for data_dir)")
    p.set_defaults(func=cmd_voices_fetch)

    live = sub.add_parser("live", help="speak live").add_subparsers(dest="live_command", required=True)
    p = live.add_parser("speak", help="speak live from this computer's microphone, or play a file live")
    p.add_argument("--api", default="http://127.0.0.1:8080/api/v1", help="the server's API address")
    p.add_argument("--token", help="API token (or $BROADCASTER_TOKEN, or --token-file)")
    p.add_argument("--token-file", help="file holding the API token")
    p.add_argument("--targets", nargs="*", help="all, area:<id>, group:<id> or device ids (default: all)")
    p.add_argument("--priority", choices=["normal", "priority", "emergency"], default="normal")
    p.add_argument("--title", default="Phát trực tiếp", help="what the reports call it")
    p.add_argument("--max-minutes", type=int, default=15, help="it ends by itself after this long")
    p.add_argument("--input", default="default", help="ALSA microphone (default, hw:1...) or an audio file")
    p.set_defaults(func=cmd_live_speak)

    p = sub.add_parser("backup", help="write one archive: database, audio, signing key and state, configuration")
    p.add_argument("--out", type=Path, help="the archive to write")
    p.add_argument("--out-dir", type=Path, help="or a folder: writes loaxa-backup-<UTC time>.tar there")
    p.add_argument("--keep", type=int, default=0, help="with --out-dir: then delete all but the N newest archives")
    p.add_argument("--config", type=Path, help="server TOML file (archived too)")
    p.set_defaults(func=cmd_backup)
    p = sub.add_parser("restore", help="restore a backup into an empty database and data folder (server stopped)")
    p.add_argument("archive", type=Path, help="a file 'broadcaster backup' wrote")
    p.add_argument("--force", action="store_true", help="replace the database and files already there")
    p.add_argument("--seq-jump-days", type=int, default=30, help="sign this far ahead of the clock (default 30)")
    p.add_argument("--config", type=Path, help="server TOML file of this machine")
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("normalize", help="print text as it will be read aloud")
    p.add_argument("text", help="text, or - for standard input")
    p.add_argument("--dialect", choices=["north", "south"], help="default: north, or the server's setting")
    p.add_argument("--config", type=Path, help="server TOML: also apply the commune's dictionary")
    p.set_defaults(func=cmd_normalize)

    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"broadcaster: bad configuration: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
