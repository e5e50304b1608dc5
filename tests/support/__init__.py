"""What the tests share, beside the fixtures of conftest.py: a test server (``env``), audio checks (``audio``),
fault tools (``faults``), web sessions (``web``), and where the repository and its test data are."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
"""The repository."""
DATA = ROOT / "tests" / "data"
"""Test data (corpora, conformance vectors, vietTTS facts)."""
