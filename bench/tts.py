"""Real-time factor of the whole speech pipeline, per engine, for a two-minute bulletin.

normalize -> synthesize -> post-process (compression, loudness, limiter) -> encode (Opus), timed by stage,
with the bytes per minute of the result. A vietTTS voice is measured from LOAXA_VIETTTS_DIR when set, else
from a voice folder in the official layout with random weights (same sizes, so the same arithmetic).
Run by hand:  .venv/bin/python bench/tts.py [--repeat 3] [--engines vi,viettts]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from broadcaster.speech.audio import AudioSettings, duration_of, finish, speech_program
from broadcaster.speech.engines import VoiceSettings
from broadcaster.speech.normalize import Normalizer
from broadcaster.speech.voices import make_engine

BULLETIN = Path(__file__).resolve().parent.parent / "content" / "bulletins" / "01-hop-dan.txt"


def random_viettts_folder(folder: Path) -> Path:
    from tests.test_viettts import write_voice

    return write_voice(folder, "full")


def measure(name: str, voices: dict[str, VoiceSettings], text: str, minutes: float) -> dict[str, float]:
    engine = make_engine(name, voices)
    settings = AudioSettings()
    t0 = time.perf_counter()
    sentences = Normalizer().sentences(text)
    t1 = time.perf_counter()
    program = speech_program(sentences, engine, settings)
    t2 = time.perf_counter()
    data = finish(program, settings, ".opus")
    t3 = time.perf_counter()
    # Repeat the bulletin until it is about ``minutes`` long, so engines of different speeds compare fairly.
    seconds = duration_of(data)
    return {"normalize": t1 - t0, "synthesize": t2 - t1, "finish": t3 - t2, "audio_s": seconds,
            "bytes": len(data)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--engines", default="vi,viettts")
    parser.add_argument("--repeat", type=int, default=3, help="runs per engine; the median is reported")
    parser.add_argument("--minutes", type=float, default=2.0, help="bulletin length to aim for")
    args = parser.parse_args()
    text = BULLETIN.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        voices: dict[str, VoiceSettings] = {}
        if "viettts" in args.engines:
            folder = os.environ.get("LOAXA_VIETTTS_DIR") or str(random_viettts_folder(Path(tmp) / "viettts"))
            voices["viettts"] = VoiceSettings(engine="viettts", model=folder)
        print(f"{'engine':<10} {'audio':>7} {'normalize':>10} {'synthesize':>11} {'finish':>8} {'total':>8} "
              f"{'RTF':>6} {'KB/min':>7}")
        for name in args.engines.split(","):
            make_engine(name, voices)  # load models outside the timing
            probe = measure(name, voices, text, args.minutes)
            copies = max(1, round(args.minutes * 60 / probe["audio_s"]))
            runs = sorted((measure(name, voices, "\n".join([text] * copies), args.minutes)
                           for _ in range(args.repeat)), key=lambda r: r["normalize"] + r["synthesize"] + r["finish"])
            r = runs[len(runs) // 2]
            total = r["normalize"] + r["synthesize"] + r["finish"]
            print(f"{name:<10} {r['audio_s']:>6.1f}s {r['normalize']:>9.3f}s {r['synthesize']:>10.2f}s "
                  f"{r['finish']:>7.2f}s {total:>7.2f}s {total / r['audio_s']:>6.3f} "
                  f"{r['bytes'] / 1024 / (r['audio_s'] / 60):>7.0f}")


if __name__ == "__main__":
    main()
