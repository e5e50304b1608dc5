"""An alert's audio ``<resource>``: embedded (``<derefUri>``, base64) or by address (``<uri>``, fetched with a
size limit and a timeout), its ``<digest>`` (SHA-1, as CAP 1.1 and 1.2 define it) checked when given. Only the
audio of a Vietnamese ``<info>`` airs (docs/emergency.md): a recording in a foreign language is no more use
on a commune's loudspeakers than its text.

CAP says the digest is the SHA-1 of the resource; NAADS (Pelmorex) computes it over the base64 text of
``<derefUri>`` as written, so an embedded resource matches either. (The real IPAWS monthly test's digest
matches neither: such audio is not aired, and the answer says why.)"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from broadcaster.domain.cap.http import Fetch, FetchError
from broadcaster.domain.cap.parse import Info, Resource

MAX_AUDIO_BYTES = 16 * 1024 * 1024
AUDIO_SUFFIXES = (".mp3", ".wav", ".ogg", ".opus", ".m4a", ".aac", ".amr")


@dataclass(frozen=True)
class Audio:
    data: bytes
    description: str
    source: str
    """``embedded`` or the address it was fetched from."""


def is_audio(resource: Resource) -> bool:
    return resource.mime_type.lower().startswith("audio/") or resource.uri.lower().endswith(AUDIO_SUFFIXES)


def audio_of(info: Info, fetch: Fetch) -> tuple[Audio | None, list[str]]:
    """The first audio resource of ``info`` that can be had and whose digest matches, and what went wrong with
    the others (said in the answer; the text is read instead)."""
    problems: list[str] = []
    for resource in info.resources:
        if not is_audio(resource):
            continue
        name = resource.description or resource.uri or "audio"
        data, source = resource.deref, "embedded"
        if data is None and resource.uri:
            try:
                fetched = fetch(resource.uri, {})
            except FetchError as exc:
                problems.append(f"{name}: {exc}")
                continue
            if len(fetched.body) > MAX_AUDIO_BYTES:
                problems.append(f"{name}: larger than {MAX_AUDIO_BYTES // 1024 // 1024} MiB")
                continue
            data, source = fetched.body, resource.uri
        if not data:
            problems.append(f"{name}: no content")
            continue
        if resource.digest and resource.digest not in (hashlib.sha1(data).hexdigest(), resource.text_sha1):
            problems.append(f"{name}: the content does not match its SHA-1 digest")
            continue
        return Audio(data, name, source), problems
    return None, problems
