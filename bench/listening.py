"""Listening-check figures: how much of each sample bulletin the offline recognizer (viet-asr) understands,
per voice. Needs the 'asr' extra. Voices: the espeak-ng ones always; a vietTTS voice from LOAXA_VIETTTS_DIR
and a Piper voice from LOAXA_PIPER_MODEL when set (random weights would only measure noise).
Run by hand:  .venv/bin/python bench/listening.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from broadcaster.speech.audio import AudioSettings, finish, speech_program
from broadcaster.speech.engines import VoiceSettings
from broadcaster.speech.listening import Listener, compare
from broadcaster.speech.normalize import Normalizer
from broadcaster.speech.voices import make_engine

BULLETINS = sorted((Path(__file__).resolve().parent.parent / "content" / "bulletins").glob("*.txt"))


def main() -> None:
    problem = Listener.problem()
    if problem:
        sys.exit(problem)
    voices: dict[str, VoiceSettings] = {}
    if os.environ.get("LOAXA_VIETTTS_DIR"):
        voices["viettts"] = VoiceSettings(engine="viettts", model=os.environ["LOAXA_VIETTTS_DIR"])
    if os.environ.get("LOAXA_PIPER_MODEL"):
        voices["piper"] = VoiceSettings(engine="piper", model=os.environ["LOAXA_PIPER_MODEL"])
    names = ["vi", "vi-central", "vi-south", *voices]
    settings = AudioSettings()
    print(f"{'voice':<11}" + "".join(f"{b.stem[:18]:>20}" for b in BULLETINS) + f"{'all words':>12}")
    for name in names:
        engine = make_engine(name, voices)
        row, right, total = [], 0.0, 0
        for bulletin in BULLETINS:
            sentences = Normalizer().sentences(bulletin.read_text(encoding="utf-8"))
            audio = finish(speech_program(sentences, engine, settings), settings)
            intended = " ".join(sentences)
            heard = compare(intended, Listener.transcribe(audio))
            count = len(intended.split())
            right += heard.understood * count
            total += count
            row.append(heard.understood)
        print(f"{name:<11}" + "".join(f"{u:>19.0%} " for u in row) + f"{right / total:>12.0%}")


if __name__ == "__main__":
    main()
