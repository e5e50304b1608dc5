"""The Piper engine, with a tiny ONNX model of Piper's signature built here (inputs ``input``,
``input_lengths``, ``scales``; output audio): the real piper-tts loading and synthesis code runs on it."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper

from broadcaster.speech.engines import EngineUnavailable, VoiceSettings
from broadcaster.speech.voices import make_engine
from tests.support.audio import render_bulletin

SAMPLE_RATE = 16000
HOP = 256


def tiny_piper_model(folder: Path) -> Path:
    """A model that sounds a tone of 256 samples per phoneme id, times length_scale (scales[1])."""

    def const(name: str, dtype: int, values: list[float] | list[int]) -> onnx.NodeProto:
        dims = [len(values)] if len(values) > 1 else []
        return helper.make_node("Constant", [], [name], value=helper.make_tensor(name + "_v", dtype, dims, values))

    nodes = [
        helper.make_node("Shape", ["input"], ["shape"]),
        const("one", TensorProto.INT64, [1]),
        helper.make_node("Gather", ["shape", "one"], ["n"]),
        helper.make_node("Cast", ["n"], ["n_f"], to=TensorProto.FLOAT),
        const("hop", TensorProto.FLOAT, [float(HOP)]),
        helper.make_node("Gather", ["scales", "one"], ["length_scale"]),
        helper.make_node("Mul", ["n_f", "hop"], ["t0"]),
        helper.make_node("Mul", ["t0", "length_scale"], ["t_f"]),
        const("zero_f", TensorProto.FLOAT, [0.0]),
        const("step_f", TensorProto.FLOAT, [1.0]),
        helper.make_node("Range", ["zero_f", "t_f", "step_f"], ["ramp"]),
        const("omega", TensorProto.FLOAT, [2 * 3.14159265 * 330 / SAMPLE_RATE]),
        helper.make_node("Mul", ["ramp", "omega"], ["phase"]),
        helper.make_node("Sin", ["phase"], ["wave"]),
        const("gain", TensorProto.FLOAT, [0.4]),
        helper.make_node("Mul", ["wave", "gain"], ["audio"]),
        const("out_shape", TensorProto.INT64, [1, 1, 1, -1]),
        helper.make_node("Reshape", ["audio", "out_shape"], ["output"]),
    ]
    graph = helper.make_graph(
        nodes, "tiny_piper",
        inputs=[helper.make_tensor_value_info("input", TensorProto.INT64, [1, None]),
                helper.make_tensor_value_info("input_lengths", TensorProto.INT64, [1]),
                helper.make_tensor_value_info("scales", TensorProto.FLOAT, [3])],
        outputs=[helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 1, 1, None])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = folder / "vi_VN-tiny.onnx"
    onnx.save(model, str(path))
    # Every character espeak-ng may print for Vietnamese IPA gets an id (0-2 reserved for _ ^ $).
    chars = [chr(c) for c in (*range(0x20, 0x7F), *range(0xA0, 0x370)) if chr(c) not in "_^$"]
    id_map = {"_": [0], "^": [1], "$": [2], **{ch: [i + 3] for i, ch in enumerate(chars)}}
    (folder / "vi_VN-tiny.onnx.json").write_text(json.dumps({
        "audio": {"sample_rate": SAMPLE_RATE}, "espeak": {"voice": "vi"}, "num_symbols": len(id_map),
        "num_speakers": 1, "phoneme_id_map": id_map, "phoneme_type": "espeak",
        "inference": {"noise_scale": 0.667, "length_scale": 1.0, "noise_w": 0.8},
    }))
    return path


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_piper_model(tmp_path_factory.mktemp("piper"))


def voices(path: Path, **changes: object) -> dict[str, VoiceSettings]:
    settings = {"engine": "piper", "model": str(path), **changes}
    return {"tiny": VoiceSettings(**settings)}  # type: ignore[arg-type]


def test_piper_voice_speaks_in_proportion_to_the_text(model: Path) -> None:
    engine = make_engine("tiny", voices(model))
    short = engine.synthesize("Xin chào.")
    long = engine.synthesize("Xin chào bà con thôn Đông, chiều nay họp dân tại nhà văn hóa.")
    assert len(short) > 100 and short.dBFS > -20
    assert len(long) > 3 * len(short), "more phonemes, more audio: the text reached the model"


def test_length_scale_slows_the_voice(model: Path) -> None:
    normal = make_engine("tiny", voices(model)).synthesize("Thông báo họp dân.")
    slow = make_engine("tiny", voices(model, length_scale=2.0)).synthesize("Thông báo họp dân.")
    assert len(slow) == pytest.approx(2 * len(normal), rel=0.05)


@pytest.mark.parametrize(("changes", "reason"), [
    ({"model": None}, "no model file"),
    ({"model": "/nowhere/voice.onnx"}, "not found"),
    ({"model_config": "/nowhere/voice.onnx.json"}, "not found"),
])
def test_missing_model_files_are_reported(model: Path, changes: dict[str, object], reason: str) -> None:
    with pytest.raises(EngineUnavailable, match=reason):
        make_engine("tiny", voices(model, **changes))


def test_broken_model_is_reported(tmp_path: Path, model: Path) -> None:
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    (tmp_path / "broken.onnx.json").write_text(Path(f"{model}.json").read_text())
    with pytest.raises(EngineUnavailable, match=r"cannot load broken\.onnx"):
        make_engine("tiny", voices(broken))


def test_bulletins_render_with_a_piper_voice(tmp_path: Path, model: Path) -> None:
    asset = render_bulletin(tmp_path, "tiny", voices(model), "UBND xã thông báo lúc 7h30.")
    assert asset.duration_s > 2


def test_pages_asking_about_a_voice_do_not_reload_its_model(model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import piper

    from broadcaster.speech.voices import voice_problem

    loads = []
    real_load = piper.PiperVoice.load
    monkeypatch.setattr(piper.PiperVoice, "load", lambda *a, **k: loads.append(1) or real_load(*a, **k))
    configured = voices(model, length_scale=0.9)
    for _ in range(5):
        assert voice_problem("tiny", configured) is None
    assert len(loads) == 1
