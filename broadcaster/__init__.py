"""Broadcast server: bulletins, approval, scheduling, speech, distribution to receivers."""

__version__ = "0.1.0"
"""The same as the receiver's and pyproject.toml's (tests/system/test_packaging.py checks them)."""

__all__ = ["__version__"]
