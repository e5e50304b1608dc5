"""Draw the web app's PNG icons and favicon.ico from the SVGs in broadcaster/web/static/icons/, with the
Chromium the browser tests use (scripts/test installs it). The PNGs are committed; run this after changing
an SVG:  .venv/bin/python scripts/icons.py"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.browser import launch

ICONS = Path(__file__).resolve().parent.parent / "broadcaster" / "web" / "static" / "icons"
PNGS = [("icon.svg", "icon-192.png", 192), ("icon.svg", "icon-512.png", 512), ("maskable.svg", "maskable-512.png", 512),
        ("maskable.svg", "apple-touch-icon.png", 180), ("icon.svg", "favicon-32.png", 32),
        ("icon.svg", "favicon-16.png", 16)]


def ico(images: list[tuple[int, bytes]]) -> bytes:
    """A .ico holding PNG images (every browser since Windows Vista's era reads them)."""
    head = struct.pack("<HHH", 0, 1, len(images))
    offset = len(head) + 16 * len(images)
    entries, data = b"", b""
    for size, png in images:
        entries += struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(png), offset + len(data))
        data += png
    return head + entries + data


def main() -> None:
    with launch() as browser:
        page = browser.new_page()
        for source, target, size in PNGS:
            svg = (ICONS / source).read_text()
            page.set_viewport_size({"width": size, "height": size})
            page.set_content(f"<style>html,body{{margin:0;background:transparent}}svg{{display:block;width:{size}px;"
                             f"height:{size}px}}</style>{svg}")
            page.screenshot(path=str(ICONS / target), omit_background=True)
    small = [(size, (ICONS / f"favicon-{size}.png").read_bytes()) for size in (16, 32)]
    (ICONS / "favicon.ico").write_bytes(ico(small))
    for size in (16, 32):
        (ICONS / f"favicon-{size}.png").unlink()


if __name__ == "__main__":
    main()
