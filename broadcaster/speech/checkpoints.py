"""Reading vietTTS checkpoint pickles safely: NumPy arrays and plain containers only, inert placeholders for
JAX, Haiku and optax objects, every other class refused (a pickle can otherwise run any code)."""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

Tree = dict[str, dict[str, np.ndarray]]
"""A Haiku parameter tree: module path -> parameter name -> array."""


class CheckpointError(Exception):
    """A vietTTS file that cannot be used; the text says which file and why."""


class _Inert:
    """Stands in for a JAX, Haiku or optax object: keeps what the pickle gave it and runs nothing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        self.kwargs = kwargs
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state

    # Haiku's immutable mappings and some containers are rebuilt item by item.
    def __setitem__(self, key: Any, value: Any) -> None:
        if not isinstance(self.state, dict):
            self.state = {}
        self.state[key] = value

    def append(self, value: Any) -> None:
        self.args = (*self.args, value)

    def extend(self, values: Iterable[Any]) -> None:
        self.args = (*self.args, *values)


def _inert_class(module: str, name: str) -> type:
    return type(name, (_Inert,), {"__module__": module})


def _reconstruct_jax_array(fun: Any, args: Any, arr_state: Any, aval_state: Any) -> np.ndarray:
    """What ``jax.Array`` pickles as: a NumPy array (``fun(*args)`` then its state), then device placement."""
    value = fun(*args)
    value.__setstate__(arr_state)
    return np.asarray(value)


_NUMPY = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
}
_BUILTINS = {"dict", "list", "tuple", "set", "frozenset", "int", "float", "complex", "bool", "str", "bytes",
             "bytearray", "slice", "object"}
_INERT_PREFIXES = ("haiku", "optax", "jax", "jaxlib", "chex", "collections")


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _NUMPY or module.startswith("numpy.dtypes"):
            return super().find_class(module, name)
        if module == "builtins" and name in _BUILTINS:
            return super().find_class(module, name)
        if module == "collections" and name == "OrderedDict":
            return dict
        if (module, name) == ("jax._src.array", "_reconstruct_array"):
            return _reconstruct_jax_array
        if module.split(".")[0] in _INERT_PREFIXES:
            return _inert_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: not part of a vietTTS checkpoint")


def _plain(value: Any) -> Any:
    """Mappings as dicts and arrays as float32 NumPy arrays, through Haiku's immutable mapping wrappers."""
    if isinstance(value, _Inert):
        if isinstance(value.state, dict):
            return _plain(value.state)
        for arg in value.args:
            if isinstance(arg, Mapping):
                return _plain(arg)
        return value
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, np.ndarray | np.generic):
        array = np.asarray(value)
        return array.astype(np.float32) if array.dtype.kind == "f" else array
    return value


def load_pickle(path: Path) -> Any:
    try:
        with path.open("rb") as fh:
            return _plain(_RestrictedUnpickler(fh).load())
    except FileNotFoundError:
        raise CheckpointError(f"{path} not found") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise CheckpointError(f"{path.name} is not a usable vietTTS checkpoint: {exc}") from None


def parameter_tree(value: Any, path: Path, what: str) -> Tree:
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise CheckpointError(f"{path.name}: {what} is not a Haiku parameter tree")
    return value


def load_model_checkpoint(path: Path) -> tuple[Tree, Tree]:
    """``params`` and ``aux`` (BatchNorm statistics) of a duration or acoustic checkpoint."""
    data = load_pickle(path)
    if not isinstance(data, dict) or "params" not in data or "aux" not in data:
        raise CheckpointError(f"{path.name}: expected a dict with 'params' and 'aux' (a vietTTS training checkpoint)")
    return parameter_tree(data["params"], path, "params"), parameter_tree(data["aux"], path, "aux")
