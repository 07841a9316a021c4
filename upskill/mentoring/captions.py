"""Captions of a live session's recording: checked WebVTT in, a readable transcript out.

A recorded live session becomes a recorded lecture: the video, its captions track and the
transcript beside it, as the catalog's lectures have (``catalog/lecture_media.py`` writes
those captions; here the host brings them, from the video service or a captioning tool).
The captions are parsed by webvtt-py; the transcript joins the cues' text into paragraphs,
starting a new one after a pause of :data:`PARAGRAPH_PAUSE_S` or more or when a paragraph has
grown past :data:`PARAGRAPH_CHARS` at the end of a sentence, so that it reads like the
transcripts of recorded lectures rather than like a list of two-second subtitles.

Pure: text in, plain data out (the caller escapes it for HTML); no Django.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import webvtt
from webvtt.errors import MalformedFileError

__all__ = [
    "MAX_CAPTION_BYTES",
    "PARAGRAPH_CHARS",
    "PARAGRAPH_PAUSE_S",
    "BadCaptions",
    "Captions",
    "read_captions",
]

MAX_CAPTION_BYTES = 5_000_000
PARAGRAPH_PAUSE_S = 2.0
PARAGRAPH_CHARS = 600
_SPEAKER = re.compile(r"^<v(?:\.[\w.-]+)?\s+([^>]+)>")
_TAGS = re.compile(r"<[^>]*>")
_SENTENCE_END = (".", "!", "?", "…", '."', '?"', '!"')


class BadCaptions(ValueError):
    """The file is not usable WebVTT; the message says why, for the person who uploaded it."""


@dataclass(frozen=True)
class Captions:
    cues: int
    duration_s: float  # the end of the last cue
    paragraphs: tuple[str, ...]


def read_captions(data: bytes) -> Captions:
    """Check a WebVTT file and build its transcript. :class:`BadCaptions` when it is too big,
    not UTF-8, not WebVTT, has no cue with text, or has cues that end before they start or go
    back in time."""
    if len(data) > MAX_CAPTION_BYTES:
        raise BadCaptions(f"The captions file is over {MAX_CAPTION_BYTES // 1_000_000} MB.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadCaptions("The captions file is not UTF-8 text.") from None
    if not text.lstrip().startswith("WEBVTT"):
        raise BadCaptions("The captions file must be WebVTT: it starts with the line WEBVTT.")
    try:
        parsed = webvtt.from_buffer(io.StringIO(text))
    except MalformedFileError as error:
        raise BadCaptions(f"The captions file is not valid WebVTT ({error}).") from None
    cues = [cue for cue in parsed.captions if _clean(cue.raw_text)]
    if not cues:
        raise BadCaptions("The captions file has no captions with text.")
    previous_start = -1.0
    for number, cue in enumerate(cues, start=1):
        start, end = _seconds(cue.start), _seconds(cue.end)
        if end <= start:
            raise BadCaptions(f"Caption {number} ends before it starts ({cue.start} → "
                              f"{cue.end}).")
        if start < previous_start:
            raise BadCaptions(f"Caption {number} starts before the one above it "
                              f"({cue.start}): captions must be in time order.")
        previous_start = start
    return Captions(cues=len(cues), duration_s=max(_seconds(cue.end) for cue in cues),
                    paragraphs=tuple(_paragraphs(cues)))


def _paragraphs(cues: list[webvtt.Caption]) -> list[str]:
    paragraphs: list[str] = []
    current: list[str] = []
    speaker = ""
    last_end: float | None = None
    for cue in cues:
        text = _clean(cue.raw_text)
        new_speaker = _speaker(cue.raw_text)
        start = _seconds(cue.start)
        length = sum(len(part) + 1 for part in current)
        paused = last_end is not None and start - last_end >= PARAGRAPH_PAUSE_S
        long_enough = length >= PARAGRAPH_CHARS and current[-1].endswith(_SENTENCE_END)
        if current and (paused or long_enough or (new_speaker and new_speaker != speaker)):
            paragraphs.append(" ".join(current))
            current = []
        if new_speaker and new_speaker != speaker:
            text = f"{new_speaker}: {text}"
            speaker = new_speaker
        current.append(text)
        last_end = _seconds(cue.end)
    if current:
        paragraphs.append(" ".join(current))
    return paragraphs


def _speaker(raw: str) -> str:
    match = _SPEAKER.match(raw.strip())
    return match.group(1).strip() if match else ""


def _clean(raw: str) -> str:
    """The cue's words: markup (voice, italics, class spans) removed, lines joined."""
    return " ".join(_TAGS.sub("", raw).split())


def _seconds(timestamp: str) -> float:
    parts = timestamp.split(":")
    seconds = float(parts[-1])
    minutes = int(parts[-2]) if len(parts) >= 2 else 0
    hours = int(parts[-3]) if len(parts) >= 3 else 0
    return hours * 3600 + minutes * 60 + seconds
