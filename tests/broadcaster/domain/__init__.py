"""The rules (broadcaster/domain/)."""
