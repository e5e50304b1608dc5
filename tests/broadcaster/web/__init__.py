"""The API and the pages (broadcaster/web/)."""
