"""Narrated lecture media from a transcript: speech, a title video and matching captions.

Plain Python (no Django). Each cue (a sentence or a short clause) is spoken by
espeak-ng on its own, so its exact duration is known and the WebVTT captions
line up with the audio by construction. ffmpeg muxes the speech with a title
card into a small WebM (VP9 at 1 frame/s, Opus speech). Needs the Debian
packages ``espeak-ng``, ``ffmpeg`` and ``fonts-dejavu-core``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
MAX_CUE_CHARS = 110
WORDS_PER_MINUTE = 165
TOOL_TIMEOUT_S = 600


class MediaToolMissing(RuntimeError):
    """espeak-ng or ffmpeg is not installed, so lectures cannot be narrated."""


@dataclass(frozen=True)
class Cue:
    start_s: float
    end_s: float
    text: str


@dataclass(frozen=True)
class LectureMedia:
    video: bytes
    captions: str
    duration_s: float


def split_cues(transcript: str) -> list[str]:
    """Caption-sized pieces of text: sentences, long ones split at commas or spaces."""
    cues: list[str] = []
    for sentence in re.split(r"(?<=[.!?])\s+", " ".join(transcript.split())):
        remaining = sentence.strip()
        while len(remaining) > MAX_CUE_CHARS:
            # Prefer a comma; otherwise the space nearest the middle of what fits, so
            # no cue is left with a lone word.
            limit = min(MAX_CUE_CHARS, max(len(remaining) // 2 + 10, MAX_CUE_CHARS // 2))
            cut = remaining.rfind(", ", 0, MAX_CUE_CHARS)
            cut = cut + 1 if cut > MAX_CUE_CHARS // 3 else remaining.rfind(" ", 0, limit)
            if cut <= 0:
                cut = MAX_CUE_CHARS
            cues.append(remaining[:cut].strip())
            remaining = remaining[cut:].strip()
        if remaining:
            cues.append(remaining)
    return cues


def _timestamp(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def webvtt(cues: list[Cue]) -> str:
    blocks = ["WEBVTT", ""]
    for index, cue in enumerate(cues, start=1):
        text = cue.text.replace("-->", "->")
        blocks += [str(index), f"{_timestamp(cue.start_s)} --> {_timestamp(cue.end_s)}", text, ""]
    return "\n".join(blocks)


def _require_tools() -> tuple[str, str]:
    espeak, ffmpeg = shutil.which("espeak-ng"), shutil.which("ffmpeg")
    if espeak is None or ffmpeg is None or not FONT.exists():
        raise MediaToolMissing(
            "Narrated lectures need the Debian packages espeak-ng, ffmpeg and fonts-dejavu-core."
        )
    return espeak, ffmpeg


def build_lecture(title: str, transcript: str) -> LectureMedia:
    """Speak the transcript cue by cue and return the video and its captions."""
    espeak, ffmpeg = _require_tools()
    texts = split_cues(transcript)
    if not texts:
        raise ValueError("The transcript is empty.")
    with tempfile.TemporaryDirectory(prefix="lecture-") as scratch:
        work = Path(scratch)
        cues, params, frames = [], None, []
        clock = 0.0
        for index, text in enumerate(texts):
            wav = work / f"cue{index:04d}.wav"
            subprocess.run(  # noqa: S603 - fixed argv, text passed as one argument
                [espeak, "-v", "en-us", "-s", str(WORDS_PER_MINUTE), "-w", str(wav), "--", text],
                check=True, capture_output=True, timeout=TOOL_TIMEOUT_S,
            )
            with wave.open(str(wav), "rb") as speech:
                params = params or speech.getparams()
                data = speech.readframes(speech.getnframes())
                duration = speech.getnframes() / speech.getframerate()
            frames.append(data)
            cues.append(Cue(clock, clock + duration, text))
            clock += duration
        assert params is not None
        narration = work / "narration.wav"
        with wave.open(str(narration), "wb") as out:
            out.setparams(params)
            for data in frames:
                out.writeframes(data)
        (work / "title.txt").write_text(title, encoding="utf-8")
        video = work / "lecture.webm"
        subprocess.run(  # noqa: S603
            [ffmpeg, "-loglevel", "error", "-y",
             "-f", "lavfi", "-i", "color=c=0x1d3557:s=854x480:r=1",
             "-i", str(narration),
             "-vf", (f"drawtext=fontfile={FONT}:textfile={work / 'title.txt'}:fontcolor=white:"
                     "fontsize=34:x=(w-text_w)/2:y=(h-text_h)/2"),
             "-c:v", "libvpx-vp9", "-b:v", "0", "-crf", "50", "-row-mt", "1",
             "-c:a", "libopus", "-b:a", "32k", "-shortest", str(video)],
            check=True, capture_output=True, timeout=TOOL_TIMEOUT_S,
        )
        return LectureMedia(video=video.read_bytes(), captions=webvtt(cues), duration_s=clock)
