"""vietTTS voice folders for tests: the official layout (tests/data/viettts/layout_*.json), weights drawn by
``fill`` (the reference outputs in tests/data/viettts/ were computed with exactly these), pickled as vietTTS's
trainer pickles them."""

from __future__ import annotations

import json
import pickle
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from broadcaster.speech import viettts
from broadcaster.speech.engines import VoiceSettings
from tests.support import DATA as TEST_DATA

DATA = TEST_DATA / "viettts"


LEXICON = "xin\tx i n\nchào\tc h à o\nbà\tb à\ncon\tc o n\n"


def layout(size: str) -> dict[str, Any]:
    return json.loads((DATA / f"layout_{size}.json").read_text())


def fill(tree: dict[str, dict[str, list[int]]], seed: int) -> dict[str, dict[str, np.ndarray]]:
    """Random weights for a layout, drawn in a fixed order (the reference outputs were made with these)."""
    rng = np.random.default_rng(seed)
    out: dict[str, dict[str, np.ndarray]] = {}
    for module in sorted(tree):
        out[module] = {}
        for name in sorted(tree[module]):
            shape = tuple(tree[module][name])
            if name == "counter":
                value = np.full(shape, 100, np.int32)
            elif module.endswith("var_ema"):
                value = rng.uniform(0.5, 2.0, shape).astype(np.float32)
            elif name == "scale":
                value = rng.uniform(0.5, 1.5, shape).astype(np.float32)
            else:
                scale = 1 / np.sqrt(np.prod(shape[:-1])) if name == "w" else (1.0 if name == "embeddings" else 0.1)
                value = (rng.standard_normal(shape) * scale).astype(np.float32)
            out[module][name] = value
    return out


class OptaxNames:
    """Stand-ins named like optax's state classes, so our pickles reference optax exactly as real ones do."""

    class ScaleByAdamState(NamedTuple):
        count: Any
        mu: Any
        nu: Any

    class EmptyState(NamedTuple):
        pass


@contextmanager
def fake_optax_modules() -> Iterator[None]:
    modules = {name: types.ModuleType(name) for name in ("optax", "optax._src", "optax._src.transform",
                                                          "optax._src.base")}
    for cls, module in ((OptaxNames.ScaleByAdamState, "optax._src.transform"),
                        (OptaxNames.EmptyState, "optax._src.base")):
        cls.__module__, cls.__qualname__ = module, cls.__name__
        setattr(modules[module], cls.__name__, cls)
    saved = {name: sys.modules.get(name) for name in modules}
    sys.modules.update(modules)
    try:
        yield
    finally:
        for name, previous in saved.items():
            if previous is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = previous


def write_voice(folder: Path, size: str = "full") -> Path:
    """A vietTTS voice folder exactly as published, with random weights (durations made short for speed)."""
    shapes = layout(size)
    folder.mkdir(parents=True, exist_ok=True)
    with fake_optax_modules():
        for name, seeds in (("duration", (1, 2)), ("acoustic", (3, 4))):
            params = fill(shapes[name]["params"], seeds[0])
            if name == "duration":
                params["duration_model/~/linear_1"]["b"][:] = -2.5  # about 0.08 s a symbol, not 0.9
            state = (OptaxNames.EmptyState(), OptaxNames.ScaleByAdamState(np.zeros([], np.int32), params, params))
            checkpoint = {"step": 200_000, "params": params, "aux": fill(shapes[name]["aux"], seeds[1]),
                          "rng": np.array([0, 42], np.uint32), "optim_state": state}
            (folder / f"{name}_latest_ckpt.pickle").write_bytes(pickle.dumps(checkpoint))
    (folder / "hk_hifi.pickle").write_bytes(pickle.dumps(fill(shapes["hifigan"]["params"], 6)))
    (folder / "lexicon.txt").write_text(LEXICON, encoding="utf-8")
    (folder / "config.json").write_text(json.dumps({**viettts.DEFAULT_VOCODER, "sampling_rate": 16000}))
    return folder


def voices(folder: Path, **changes: Any) -> dict[str, VoiceSettings]:
    return {"nam": VoiceSettings(engine="viettts", model=str(folder), **changes)}
