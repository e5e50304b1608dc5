"""Opus packets, as live audio carries them, and the Ogg container that holds a stream of them (RFC 7845):
read from a file an encoder wrote, written for a decoder (ffmpeg) to play or for the recording to keep.

Standard library only: the server, the receiver and a third party's tools all read and write the same bytes.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

RATE = 48_000
"""Opus timestamps count samples at 48 kHz, whatever the rate it was recorded at."""
PRE_SKIP = 312
"""Samples a decoder drops at the start (the encoder's look-ahead at 48 kHz, what libopus reports)."""
_FRAME_SAMPLES_TENTHS_MS = (100, 200, 400, 600)


class OpusError(ValueError):
    """Bytes that are not what they should be; the text says what."""


def packet_samples(packet: bytes) -> int:
    """How many 48 kHz samples an Opus packet holds, read from its table-of-contents byte (RFC 6716, 3.1)."""
    if not packet:
        raise OpusError("an empty Opus packet")
    toc = packet[0]
    config = toc >> 3
    if config < 12:  # SILK: 10, 20, 40, 60 ms
        tenths = _FRAME_SAMPLES_TENTHS_MS[config & 3]
    elif config < 16:  # hybrid: 10, 20 ms
        tenths = 100 if config & 1 == 0 else 200
    else:  # CELT: 2.5, 5, 10, 20 ms
        tenths = (25, 50, 100, 200)[config & 3]
    frames = {0: 1, 1: 2, 2: 2}.get(toc & 3)
    if frames is None:
        if len(packet) < 2:
            raise OpusError("an Opus packet of several frames without its frame count")
        frames = packet[1] & 0x3F
    return frames * tenths * RATE // 10_000


def silence_like(packet: bytes) -> bytes:
    """A packet of the same kind and length as ``packet`` that carries nothing: the decoder conceals the loss
    (fades what was heard into silence), so a missing packet keeps its place in time."""
    return bytes([packet[0] & 0xFC])  # one frame (code 0) of zero bytes: lost, in RFC 6716's terms


def _crc(data: bytes) -> int:
    """Ogg's CRC-32 (polynomial 0x04c11db7, not reflected, starting at 0, no final xor): not zlib's."""
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _TABLE[((crc >> 24) ^ byte) & 0xFF]
    return crc


def _table() -> list[int]:
    table = []
    for index in range(256):
        value = index << 24
        for _ in range(8):
            value = ((value << 1) ^ 0x04C11DB7) if value & 0x80000000 else value << 1
        table.append(value & 0xFFFFFFFF)
    return table


_TABLE = _table()


def _page(data: bytes, granule: int, serial: int, sequence: int, flags: int) -> bytes:
    lacing = [255] * (len(data) // 255) + [len(data) % 255]
    header = struct.pack("<4sBBqIIIB", b"OggS", 0, flags, granule, serial, sequence, 0, len(lacing)) + bytes(lacing)
    page = header + data
    return page[:22] + struct.pack("<I", _crc(page)) + page[26:]


class OggWriter:
    """Writes an Ogg Opus stream, one packet a page (each page is heard as soon as it is written)."""

    def __init__(self, serial: int = 0x4C58, channels: int = 1, vendor: str = "loaxa") -> None:
        self.serial = serial
        self.sequence = 0
        self.granule = 0
        self.channels = channels
        self.vendor = vendor

    def header(self) -> bytes:
        """The two pages that open every Ogg Opus stream: OpusHead and OpusTags."""
        head = struct.pack("<8sBBHIhB", b"OpusHead", 1, self.channels, PRE_SKIP, RATE, 0, 0)
        vendor = self.vendor.encode()
        tags = b"OpusTags" + struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", 0)
        return self._next(head, 0, 0x02) + self._next(tags, 0, 0)

    def packet(self, packet: bytes, last: bool = False) -> bytes:
        """One page holding ``packet`` (``last``: the stream ends with it)."""
        self.granule += packet_samples(packet)
        return self._next(packet, self.granule, 0x04 if last else 0)

    def _next(self, data: bytes, granule: int, flags: int) -> bytes:
        page = _page(data, granule, self.serial, self.sequence, flags)
        self.sequence += 1
        return page


@dataclass
class OggPacket:
    data: bytes
    granule: int
    """The granule position of the page the packet ended on (-1 when it ended on none)."""


def read_packets(data: bytes) -> Iterator[OggPacket]:
    """Every packet of an Ogg stream (the headers included), in order; raises OpusError on what is not Ogg."""
    return stream_packets(io.BytesIO(data))


def stream_packets(source: IO[bytes]) -> Iterator[OggPacket]:
    """Every packet of an Ogg stream read from ``source`` (a pipe from an encoder: each packet as soon as its
    page has come), in order; raises OpusError on what is not Ogg."""
    offset, partial = 0, b""
    while True:
        head = _read(source, 27)
        if not head:
            return
        if len(head) < 27 or head[:4] != b"OggS":
            raise OpusError(f"not an Ogg page at byte {offset}")
        _, _, _, granule, _, _, crc, count = struct.unpack_from("<4sBBqIIIB", head)
        lacing = _read(source, count)
        body = _read(source, sum(lacing))
        if len(lacing) < count or len(body) < sum(lacing):
            raise OpusError(f"the Ogg page at byte {offset} is cut short")
        page = head + lacing + body
        if _crc(page[:22] + b"\0\0\0\0" + page[26:]) != crc:
            raise OpusError(f"the Ogg page at byte {offset} is damaged (checksum)")
        position = 0
        for index, value in enumerate(lacing):
            partial += body[position:position + value]
            position += value
            if value < 255:
                yield OggPacket(partial, granule if index == len(lacing) - 1 else -1)
                partial = b""
        offset += len(page)


def _read(source: IO[bytes], size: int) -> bytes:
    """``size`` bytes, fewer only at the end of the stream (a pipe hands them over in pieces)."""
    data = b""
    while len(data) < size:
        block = source.read(size - len(data))
        if not block:
            break
        data += block
    return data


def opus_packets(data: bytes) -> list[bytes]:
    """The audio packets of an Ogg Opus file (its two header packets left out)."""
    packets = [p.data for p in read_packets(data)]
    if len(packets) < 2 or not packets[0].startswith(b"OpusHead") or not packets[1].startswith(b"OpusTags"):
        raise OpusError("not an Ogg Opus stream (no OpusHead and OpusTags)")
    return packets[2:]

