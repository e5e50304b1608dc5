"""Typed settings from TOML: unknown keys are refused and every error names where it came from.

Shared by the agent and the broadcaster so both read config the same way:
defaults < config file < environment variables (``<PREFIX>_<SECTION>_<KEY>``).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


class ConfigError(Exception):
    """A config file or variable that cannot be used; the text says which and why."""


def _convert(value: Any, kind: Any, where: str) -> Any:
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [k for k in typing.get_args(kind) if k is not type(None)]
        if value is None:
            return None
        return _convert(value, options[0], where)
    if origin is list:
        (item_kind,) = typing.get_args(kind)
        if isinstance(value, str):  # from an environment variable: comma-separated
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list")
        return [_convert(item, item_kind, f"{where}[{index}]") for index, item in enumerate(value)]
    if origin is dict:
        _, value_kind = typing.get_args(kind)
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table")
        return {str(key): _convert(item, value_kind, f"{where}.{key}") for key, item in value.items()}
    if dataclasses.is_dataclass(kind):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table")
        return build(kind, value, where)  # type: ignore[arg-type]
    if kind is bool:
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "0", "false", "no"):
            return value.lower() in ("1", "true", "yes")
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if kind in (int, float):
        if isinstance(value, bool):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        try:
            return kind(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected a number, got {value!r}") from None
    if kind is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected text, got {value!r}")
        return value
    return value


def build(cls: type[T], data: dict[str, Any], where: str = "") -> T:
    """Instantiate the dataclass ``cls`` from ``data``, refusing unknown or mistyped keys."""
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"{where or 'config'}: unknown setting(s) {', '.join(unknown)}")
    values = {}
    for name, value in data.items():
        values[name] = _convert(value, hints[name], f"{where}.{name}" if where else name)
    try:
        return cls(**values)
    except TypeError as exc:
        raise ConfigError(f"{where or 'config'}: {exc}") from None


def load(cls: type[T], path: Path | None, env_prefix: str) -> T:
    """Read ``path`` (TOML) if given, apply ``<env_prefix>_...`` variables, and build ``cls``."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such file") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    prefix = env_prefix.upper() + "_"
    for key, value in os.environ.items():
        if not key.startswith(prefix):
            continue
        parts = key[len(prefix):].lower().split("__")
        target = data
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return build(cls, data, str(path) if path else "")


def dump_toml(data: dict[str, Any]) -> str:
    """Write a dict of scalars, lists and tables (tables within tables too) as TOML (enough for the configs we
    generate)."""

    def scalar(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return repr(value)
        if isinstance(value, list):
            return "[" + ", ".join(scalar(item) for item in value) + "]"
        text = str(value).replace("\\", "\\\\").replace('"', '\\"')
        return f'"{text}"'

    def table(values: dict[str, Any], name: str) -> list[str]:
        lines = [f"\n[{name}]"] if name else []
        lines += [f"{k} = {scalar(v)}" for k, v in values.items() if not isinstance(v, dict) and v is not None]
        for key, value in values.items():
            if isinstance(value, dict):
                lines += table(value, f"{name}.{key}" if name else key)
        return lines

    return "\n".join(table(data, "")) + "\n"


def read_secret(value: str | None, file: str | None) -> str | None:
    """A secret given inline or, better, in a file (relative names look in $CREDENTIALS_DIRECTORY)."""
    if file:
        path = Path(file)
        if not path.is_absolute() and "CREDENTIALS_DIRECTORY" in os.environ:
            path = Path(os.environ["CREDENTIALS_DIRECTORY"]) / path
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"cannot read secret file {path}: {exc.strerror}") from None
    return value


def write_secret(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only, replacing any old file atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
