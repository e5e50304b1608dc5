"""The voices of this server: espeak-ng's built in, those ``broadcaster voices fetch`` installed in the voices
folder, and those configured by name; which of them can speak here; and which one reads a bulletin.

A voice that cannot speak (a missing program, model file or package) is reported with the reason, and its
text is read by espeak-ng in the same accent and gender instead of failing.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, fields
from pathlib import Path

from broadcaster.speech.engines import (
    BUILTIN_VOICES,
    ENGINES,
    Engine,
    EngineUnavailable,
    VoiceSettings,
)

logger = logging.getLogger(__name__)

DEFAULT_VOICE = "vi"
AUTO = "auto"
"""``speech.voice = "auto"``: the best voice that speaks here (a natural one of the dialect's region first)."""
INSTALLED_FILE = "voice.json"
"""What ``broadcaster voices fetch`` writes into a voice's folder: its settings, the model named relative to it."""


def installed(folder: Path | None) -> dict[str, VoiceSettings]:
    """Voices fetched into ``folder`` (one subfolder each, with its voice.json); unreadable ones are logged."""
    found: dict[str, VoiceSettings] = {}
    if folder is None or not folder.is_dir():
        return found
    known = {f.name for f in fields(VoiceSettings)}
    for described in sorted(folder.glob(f"*/{INSTALLED_FILE}")):
        try:
            data = json.loads(described.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or not set(data) <= known:
                raise ValueError(f"unknown keys {sorted(set(data) - known) if isinstance(data, dict) else data}")
            if data.get("model"):
                data["model"] = str(described.parent / data["model"])
            found[described.parent.name] = VoiceSettings(**data)
        except (OSError, ValueError, TypeError) as exc:
            logger.error("voice in %s cannot be read: %s", described.parent, exc)
    return found


def write_installed(folder: Path, settings: VoiceSettings) -> None:
    """Describe the voice in ``folder``: ``settings.model`` is relative to the folder (``.`` for the folder
    itself), so the folder can move."""
    data = {k: v for k, v in asdict(settings).items() if v != getattr(VoiceSettings(), k)}
    (folder / INSTALLED_FILE).write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def all_voices(configured: dict[str, VoiceSettings] | None = None, folder: Path | None = None
               ) -> dict[str, VoiceSettings]:
    """Every voice by name: built in, then installed in ``folder``, then configured (a later one wins)."""
    return {**BUILTIN_VOICES, **installed(folder), **(configured or {})}


def make_engine(name: str, configured: dict[str, VoiceSettings] | None = None, speed: float = 1.0) -> Engine:
    """The engine for voice ``name`` at ``speed``, checked; raises EngineUnavailable with the reason."""
    voices = all_voices(configured)
    if name not in voices:
        raise EngineUnavailable(f"no voice named {name!r} is configured (known: {', '.join(sorted(voices))})")
    settings = voices[name]
    engine_class = ENGINES.get(settings.engine)
    if engine_class is None:
        raise EngineUnavailable(f"voice {name!r} needs the {settings.engine!r} engine, which is not available")
    engine = engine_class(name, settings.at_speed(speed))
    engine.check()
    return engine


def fallback_for(settings: VoiceSettings | None) -> str:
    """The built-in voice nearest to ``settings``: the same accent and gender, else the same accent, else vi."""
    if settings is not None:
        for name, builtin in BUILTIN_VOICES.items():
            if (builtin.region, builtin.gender) == (settings.region, settings.gender):
                return name
        for name, builtin in BUILTIN_VOICES.items():
            if builtin.region == settings.region:
                return name
    return DEFAULT_VOICE


def resolve(name: str, configured: dict[str, VoiceSettings] | None = None, speed: float = 1.0
            ) -> tuple[Engine, str | None]:
    """The engine for ``name``, or the nearest built-in voice and the reason ``name`` could not be used."""
    try:
        return make_engine(name, configured, speed), None
    except EngineUnavailable as exc:
        instead = fallback_for(all_voices(configured).get(name))
        reason = f"voice {name!r} is unavailable: {exc}; using {instead!r} instead"
        logger.error(reason)
        return make_engine(instead, speed=speed), reason


_CHECKED: dict[tuple[str, VoiceSettings], tuple[float, str | None]] = {}
CHECK_TTL_S = 60.0
"""Pages and the API ask often; a check may load a whole model, so its answer is kept this long."""


def voice_problem(name: str, configured: dict[str, VoiceSettings] | None = None) -> str | None:
    """Why voice ``name`` cannot speak here, or None if it can (checked at most once a minute)."""
    settings = all_voices(configured).get(name)
    key = (name, settings or VoiceSettings(engine="<none>"))
    now = time.monotonic()
    cached = _CHECKED.get(key)
    if cached is not None and now - cached[0] < CHECK_TTL_S:
        return cached[1]
    try:
        make_engine(name, configured)
        problem = None
    except EngineUnavailable as exc:
        problem = str(exc)
    _CHECKED[key] = (now, problem)
    return problem


def best_voice(voices: dict[str, VoiceSettings], region: str) -> str:
    """The voice ``speech.voice = "auto"`` reads with: a natural voice that speaks here, of ``region`` first,
    else espeak-ng's voice of that region."""
    natural = [name for name, s in sorted(voices.items()) if s.natural and voice_problem(name, voices) is None]
    natural.sort(key=lambda name: voices[name].region != region)
    if natural:
        return natural[0]
    return next((n for n, s in BUILTIN_VOICES.items() if s.region == region), DEFAULT_VOICE)


def voice_report(voices: dict[str, VoiceSettings]) -> list[dict[str, object]]:
    """Every voice with how officers know it and whether it can speak here (and why not)."""
    report: list[dict[str, object]] = []
    for name, settings in sorted(voices.items(), key=lambda item: (not item[1].natural, item[0])):
        problem = voice_problem(name, voices)
        report.append({"name": name, "label": settings.label or name, "engine": settings.engine,
                       "region": settings.region or None, "gender": settings.gender or None,
                       "natural": settings.natural, "available": problem is None, "problem": problem})
    return report
