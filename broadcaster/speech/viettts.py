"""vietTTS voices from the official checkpoint files, run with NumPy alone (no JAX, no Haiku, no optax).

A vietTTS voice folder holds what NTT123/vietTTS publishes (and ``underthesea[voice]`` downloads):

- ``duration_latest_ckpt.pickle``: the duration model, a pickled ``{step, params, aux, rng, optim_state}``;
- ``acoustic_latest_ckpt.pickle``: the acoustic model, same layout;
- ``hk_hifi.pickle``: the HiFi-GAN vocoder parameters;
- ``lexicon.txt``: word, tab, its letters;
- ``config.json`` (optional): the vocoder's layout (upsampling rates and kernels, resblock kernels and dilations).

``params`` and ``aux`` are Haiku parameter trees (module path -> parameter name -> array); ``aux`` holds the
BatchNorm running statistics. ``optim_state`` holds optax objects: we never need it, so the checkpoints are read
by ``checkpoints``' restricted unpickler, which builds NumPy arrays and plain containers, stands in inert
placeholders for the classes of JAX, Haiku and optax, and refuses every other class.

The graph is the one the checkpoints were trained with: token encoder (embedding, three convolutions with
BatchNorm, a bidirectional LSTM); duration head (Linear, GELU, Linear, softplus: seconds per symbol); acoustic
model (the same encoder, Gaussian upsampling to 62.5 frames a second, an autoregressive decoder of two LSTMs with
skip connections fed by a prenet whose dropout stays on at inference, a projection to 80 mel bins and a
five-layer convolutional postnet); and a HiFi-GAN generator from mel to 16 kHz audio. Dimensions are read from
the checkpoint, so other sizes trained with the same code load too. Tests compare every stage with the outputs
of vietTTS's own Haiku code on the same weights.
"""

from __future__ import annotations

import json
import unicodedata
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from broadcaster.speech.checkpoints import CheckpointError, Tree, load_model_checkpoint, load_pickle, parameter_tree

SAMPLE_RATE = 16000
HOP = 256
FRAMES_PER_SECOND = SAMPLE_RATE / HOP
SPECIAL_SYMBOLS = ("sil", "sp", "spn", " ")
SIL, WORD_END = 0, 3
LETTERS = tuple(
    "abcdeghiklmnopqrstuvxyàáâãèéêìíòóôõùúýăđĩũơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ"
)
"""The 89 letters after the 4 special symbols, in the order of the trained embedding."""
SYMBOLS = SPECIAL_SYMBOLS + LETTERS

FILES = ("duration_latest_ckpt.pickle", "acoustic_latest_ckpt.pickle", "hk_hifi.pickle", "lexicon.txt")

DEFAULT_VOCODER = {
    "upsample_rates": [8, 8, 2, 2],
    "upsample_kernel_sizes": [16, 16, 4, 4],
    "resblock_kernel_sizes": [3, 7, 11],
    "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5], [1, 3, 5]],
    "resblock": "1",
}

# --- layers --------------------------------------------------------------------------------------------------


class _Params:
    """One model's parameter tree, read by module path with a clear error when the layout differs."""

    def __init__(self, params: Tree, aux: Tree, source: str) -> None:
        self.params = params
        self.aux = aux
        self.source = source

    def get(self, module: str, name: str, tree: str = "params") -> np.ndarray:
        try:
            return (self.params if tree == "params" else self.aux)[module][name]
        except KeyError:
            raise CheckpointError(f"{self.source}: missing {module}/{name}; is this a vietTTS checkpoint?") from None

    def linear(self, module: str, x: np.ndarray) -> np.ndarray:
        out = x @ self.get(module, "w")
        bias = self.params.get(module, {}).get("b")
        return out + bias if bias is not None else out

    def conv(self, module: str, x: np.ndarray, padding: tuple[int, int] | None = None, rate: int = 1,
             leak: float | None = None) -> np.ndarray:
        return conv1d(x, self.get(module, "w"), self.get(module, "b"), padding, rate, leak)

    def batch_norm(self, module: str, x: np.ndarray) -> np.ndarray:
        mean = self.get(f"{module}/~/mean_ema", "average", "aux").reshape(-1)
        var = self.get(f"{module}/~/var_ema", "average", "aux").reshape(-1)
        scale = self.get(module, "scale").reshape(-1)
        offset = self.get(module, "offset").reshape(-1)
        inv = scale / np.sqrt(var + 1e-5)
        return (x - mean) * inv + offset

    def lstm_weights(self, module: str) -> tuple[np.ndarray, np.ndarray]:
        return self.get(f"{module}/linear", "w"), self.get(f"{module}/linear", "b")


def conv1d(x: np.ndarray, w: np.ndarray, b: np.ndarray, padding: tuple[int, int] | None = None,
           rate: int = 1, leak: float | None = None) -> np.ndarray:
    """1-D convolution of ``x`` (time, in) with ``w`` (taps, in, out); 'SAME' padding unless given.

    With ``leak``, the input goes through a leaky ReLU first (written straight into the padded copy).
    """
    taps = w.shape[0]
    if padding is None:
        total = (taps - 1) * rate
        padding = (total // 2, total - total // 2)
    padded = np.zeros((x.shape[0] + padding[0] + padding[1], x.shape[1]), np.float32)
    inner = padded[padding[0]: padding[0] + x.shape[0]]
    if leak is None:
        inner[:] = x
    else:
        np.multiply(x, leak, out=inner)
        np.maximum(inner, x, out=inner)
    length = padded.shape[0] - (taps - 1) * rate
    out = padded[:length] @ w[0]
    for tap in range(1, taps):
        out += padded[tap * rate: tap * rate + length] @ w[tap]
    out += b
    return out


def conv1d_transpose(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int) -> np.ndarray:
    """Transposed convolution with 'SAME' padding as Haiku computes it; ``w`` is (taps, out, in)."""
    taps, channels_out, _ = w.shape
    length = x.shape[0]
    # Each input step spreads over ``taps`` output steps (kernel reversed, as XLA applies it), overlapping.
    spread = (x @ w.transpose(2, 0, 1).reshape(w.shape[2], taps * channels_out)).reshape(length, taps, channels_out)
    full = np.zeros(((length - 1) * stride + taps, channels_out), np.float32)
    for tap in range(taps):
        full[tap: tap + length * stride: stride] += spread[:, taps - 1 - tap]
    pad_total = taps + stride - 2
    pad_before = taps - 1 if stride > taps - 1 else -(-pad_total // 2)
    start = taps - 1 - pad_before
    return full[start: start + length * stride] + b


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(0.5 * (np.tanh(0.5 * x) + 1.0), dtype=np.float32)


def _lstm_cell(gates: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Haiku's LSTM cell from its gate pre-activations (order i, g, f, o; forget bias 1): new (h, c)."""
    i, g, f, o = np.split(gates, 4)
    c = _sigmoid(f + 1.0) * c + _sigmoid(i) * np.tanh(g)
    return _sigmoid(o) * np.tanh(c), c


def _lstm(w: np.ndarray, b: np.ndarray, xs: np.ndarray) -> np.ndarray:
    hidden = b.shape[0] // 4
    # The input half of every step's product at once; only the recurrent half is sequential.
    pre = xs @ w[: xs.shape[1]] + b
    recurrent = w[xs.shape[1]:]
    h = np.zeros(hidden, np.float32)
    c = np.zeros(hidden, np.float32)
    out = np.empty((xs.shape[0], hidden), np.float32)
    for t in range(xs.shape[0]):
        h, c = _lstm_cell(pre[t] + h @ recurrent, c)
        out[t] = h
    return out


def _gelu(x: np.ndarray) -> np.ndarray:
    return np.asarray(0.5 * x * (1.0 + np.tanh(0.7978845608028654 * (x + 0.044715 * x ** 3))), dtype=np.float32)


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.asarray(np.logaddexp(0.0, x), dtype=np.float32)


def _leaky_relu(x: np.ndarray, slope: float) -> np.ndarray:
    return np.maximum(x, slope * x)  # the same for 0 < slope < 1, without a mask


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


# --- the three networks --------------------------------------------------------------------------------------


def encode(p: _Params, root: str, tokens: np.ndarray) -> np.ndarray:
    """Token encoder: (symbols,) ids -> (symbols, 2 x hidden)."""
    enc = f"{root}/~/token_encoder"
    x = p.get(f"{enc}/~/embed", "embeddings")[tokens]
    for conv, bn in (("conv1_d", "batch_norm"), ("conv1_d_1", "batch_norm_1"), ("conv1_d_2", "batch_norm_2")):
        x = _relu(p.batch_norm(f"{enc}/~/{bn}", p.conv(f"{enc}/~/{conv}", x)))
    forward = _lstm(*p.lstm_weights(f"{enc}/~/lstm"), x)
    backward = _lstm(*p.lstm_weights(f"{enc}/~/lstm_1"), x[::-1])[::-1]
    return np.concatenate([forward, backward], axis=1)


class DurationModel:
    def __init__(self, params: Tree, aux: Tree, source: str = "duration model") -> None:
        self.p = _Params(params, aux, source)

    def __call__(self, tokens: np.ndarray) -> np.ndarray:
        """Seconds per symbol."""
        x = encode(self.p, "duration_model", tokens)
        x = self.p.linear("duration_model/~/linear_1", _gelu(self.p.linear("duration_model/~/linear", x)))
        return _softplus(x[:, 0])


class AcousticModel:
    def __init__(self, params: Tree, aux: Tree, source: str = "acoustic model") -> None:
        self.p = _Params(params, aux, source)

    def __call__(self, tokens: np.ndarray, frames: np.ndarray, n_frames: int,
                 dropout: float = 0.5, rng: np.random.Generator | None = None) -> np.ndarray:
        """Mel spectrogram (n_frames, 80) for ``tokens`` lasting ``frames`` frames each.

        The prenet's dropout stays on at inference, as in training: it is what keeps the decoder from
        droning. ``rng`` makes it repeatable.
        """
        p, root = self.p, "acoustic_model"
        rng = rng or np.random.default_rng(0)
        cond = upsample(encode(p, root, tokens), frames, n_frames)
        w1, b1 = p.lstm_weights(f"{root}/~/lstm")
        w2, b2 = p.lstm_weights(f"{root}/~/lstm_1")
        fc1, fc2 = p.get(f"{root}/~/linear_1", "w"), p.get(f"{root}/~/linear_2", "w")
        proj_w, proj_b = p.get(f"{root}/~/linear", "w"), p.get(f"{root}/~/linear", "b")
        hidden = b1.shape[0] // 4
        width = cond.shape[1]
        # Each LSTM's input starts with the conditioning, known for every frame in advance: its share of the
        # gates is one matrix product; only the prenet and recurrent shares are computed frame by frame.
        gates1 = cond @ w1[:width] + b1
        gates2 = cond @ w2[:width] + b2
        w1_rest, w2_rest = w1[width:], w2[width:]
        h1, c1, h2, c2 = (np.zeros(hidden, np.float32) for _ in range(4))
        mel = np.zeros(proj_w.shape[1], np.float32)
        out = np.empty((n_frames, proj_w.shape[1]), np.float32)
        keep = 1.0 - dropout
        masks = (rng.random((n_frames, 2, fc1.shape[1])) < keep) / keep if dropout else None
        for t in range(n_frames):
            x = _relu(mel @ fc1)
            if masks is not None:
                x *= masks[t, 0]
            x = _relu(x @ fc2)
            if masks is not None:
                x *= masks[t, 1]
            h1, c1 = _lstm_cell(gates1[t] + np.concatenate([x, h1]) @ w1_rest, c1)
            h2, c2 = _lstm_cell(gates2[t] + np.concatenate([x, h1, h2]) @ w2_rest, c2)
            mel = np.concatenate([h1, h2]) @ proj_w + proj_b
            out[t] = mel
        return out + self.postnet(out)

    def postnet(self, mel: np.ndarray) -> np.ndarray:
        x = mel
        for index in range(5):
            suffix = f"_{index}" if index else ""
            x = self.p.conv(f"acoustic_model/~/conv1_d{suffix}", x)
            if index < 4:
                x = np.tanh(self.p.batch_norm(f"acoustic_model/~/batch_norm{suffix}", x))
        return x


def upsample(x: np.ndarray, frames: np.ndarray, n_frames: int) -> np.ndarray:
    """Gaussian upsampling: each frame is a softmax-weighted mix of the symbols centred near it."""
    mid = np.cumsum(frames) - frames / 2
    ruler = np.arange(n_frames, dtype=np.float32)[:, None]
    logits = -np.square(mid[None, :] - ruler) / 10.0
    logits -= logits.max(axis=1, keepdims=True)
    weights = np.exp(logits)
    weights /= weights.sum(axis=1, keepdims=True)
    return (weights @ x).astype(np.float32)


class Vocoder:
    """HiFi-GAN generator: mel (frames, 80) -> audio samples in [-1, 1]."""

    def __init__(self, params: Tree, layout: Mapping[str, Any] | None = None, source: str = "hk_hifi.pickle"):
        self.p = _Params(params, {}, source)
        self.layout = {**DEFAULT_VOCODER, **(layout or {})}
        if str(self.layout["resblock"]) != "1":
            raise CheckpointError(f"{source}: only HiFi-GAN resblock type 1 is supported (vietTTS uses it)")

    CHUNK = 128
    """Frames vocoded at once: long sentences in one piece spill out of the CPU caches (30% slower)."""
    CONTEXT = 16
    """Frames of context either side of a chunk: more than the generator's reach (about 15 frames)."""

    def __call__(self, mel: np.ndarray) -> np.ndarray:
        if len(mel) <= self.CHUNK + 2 * self.CONTEXT:
            return self._generate(mel)
        hop = int(np.prod(self.layout["upsample_rates"]))
        pieces = []
        for start in range(0, len(mel), self.CHUNK):
            begin, end = max(0, start - self.CONTEXT), min(len(mel), start + self.CHUNK + self.CONTEXT)
            audio = self._generate(mel[begin:end])
            pieces.append(audio[(start - begin) * hop: (min(len(mel), start + self.CHUNK) - begin) * hop])
        return np.concatenate(pieces)

    def _generate(self, mel: np.ndarray) -> np.ndarray:
        p, g = self.p, "generator/~/"
        kernels, dilations = self.layout["resblock_kernel_sizes"], self.layout["resblock_dilation_sizes"]
        x = p.conv(g + "conv1_d", mel, (3, 3))
        block = 0
        for index, rate in enumerate(self.layout["upsample_rates"]):
            ups = f"{g}ups_{index}"
            x = conv1d_transpose(_leaky_relu(x, 0.1), p.get(ups, "w"), p.get(ups, "b"), rate)
            total = np.zeros_like(x)
            for kernel, dilation in zip(kernels, dilations, strict=True):
                total += self._resblock(f"{g}res_block1_{block}", x, kernel, dilation)
                block += 1
            x = total
            x /= len(kernels)
        x = p.conv(g + "conv1_d_1", x, (3, 3), leak=0.01)
        return np.tanh(x[:, 0])

    def _resblock(self, name: str, x: np.ndarray, kernel: int, dilation: list[int]) -> np.ndarray:
        for index, rate in enumerate(dilation):
            pad = (kernel * rate - rate) // 2
            y = self.p.conv(f"{name}/~/convs1_{index}", x, (pad, pad), rate, leak=0.1)
            y = self.p.conv(f"{name}/~/convs2_{index}", y, ((kernel - 1) // 2, (kernel - 1) // 2), leak=0.1)
            y += x
            x = y
        return x


# --- text and the whole voice --------------------------------------------------------------------------------


def load_lexicon(path: Path) -> dict[str, list[str]]:
    lexicon: dict[str, list[str]] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CheckpointError(f"{path} not found") from None
    except UnicodeDecodeError:
        raise CheckpointError(f"{path.name} is not UTF-8 text") from None
    for line in text.splitlines():
        word, _, letters = line.lower().strip().partition("\t")
        if word and letters.split():
            lexicon[word] = letters.split()
    return lexicon


def tokens_for(text: str, lexicon: Mapping[str, list[str]]) -> list[int]:
    """Symbol ids for normalized text; punctuation becomes silence, unknown characters are skipped."""
    text = unicodedata.normalize("NFKC", text).lower()
    for mark in ".,:;?!\n\"()[]…–—":
        text = text.replace(mark, " sil ")
    index = {symbol: i for i, symbol in enumerate(SYMBOLS)}
    tokens = [SIL]
    for word in text.split():
        if word == "sil":
            if tokens[-1] != SIL:
                tokens.append(SIL)
            continue
        letters = lexicon.get(word) or list(word)
        ids = [index[letter] for letter in letters if letter in index and index[letter] > WORD_END]
        if ids:
            tokens.extend(ids)
            tokens.append(WORD_END)
    if tokens[-1] != SIL:
        tokens.append(SIL)
    return tokens


@dataclass
class VietTTSVoice:
    duration: DurationModel
    acoustic: AcousticModel
    vocoder: Vocoder
    lexicon: dict[str, list[str]]
    silence_s: float = 0.2
    """Shortest pause at punctuation, in seconds."""

    @classmethod
    def load(cls, folder: Path) -> VietTTSVoice:
        missing = [name for name in FILES if not (folder / name).is_file()]
        if missing:
            raise CheckpointError(f"{folder} lacks {', '.join(missing)} (get them with: broadcaster voices fetch "
                                  "viettts)")
        duration = DurationModel(*load_model_checkpoint(folder / FILES[0]), source=FILES[0])
        acoustic = AcousticModel(*load_model_checkpoint(folder / FILES[1]), source=FILES[1])
        hifi = load_pickle(folder / FILES[2])
        hifi = parameter_tree(hifi.get("params", hifi) if isinstance(hifi, dict) else hifi, folder / FILES[2],
                              "the vocoder")
        layout = None
        if (folder / "config.json").is_file():
            try:
                layout = json.loads((folder / "config.json").read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError) as exc:
                raise CheckpointError(f"{folder / 'config.json'} is not valid JSON: {exc}") from None
        return cls(duration, acoustic, Vocoder(hifi, layout), load_lexicon(folder / FILES[3]))

    def speak(self, text: str, length_scale: float = 1.0) -> np.ndarray:
        """16 kHz float samples for one sentence of normalized text (empty when it has no letters)."""
        tokens = np.array(tokens_for(text, self.lexicon), dtype=np.int32)
        if len(tokens) <= 2:
            return np.zeros(0, np.float32)
        seconds = self.duration(tokens) * length_scale
        seconds = np.where(tokens == SIL, np.maximum(seconds, self.silence_s), seconds)
        seconds = np.where(tokens == WORD_END, 0.0, seconds)
        frames = (seconds * FRAMES_PER_SECOND).astype(np.float32)
        n_frames = int(frames.sum())
        # The same sentence sounds the same every time: the prenet's dropout is seeded by the text.
        rng = np.random.default_rng(zlib.crc32(text.encode("utf-8")))
        mel = self.acoustic(tokens, frames, n_frames, rng=rng)
        mel = mel[: n_frames - int(frames[-1])]  # the closing silence is the caller's to add
        return self.vocoder(mel)
