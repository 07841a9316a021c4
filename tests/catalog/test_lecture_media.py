"""Narrated lectures: captions that line up with the speech, built by a durable job."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import require
from tests.content_fixtures import lesson_md, write
from upskill.catalog import services
from upskill.catalog.lecture_media import Cue, split_cues, webvtt
from upskill.catalog.models import Lesson
from upskill.core import jobs
from upskill.core.models import Job


def test_cues_are_caption_sized_and_keep_every_word():
    text = ("Welcome. " + "This sentence, which is long, keeps going with many words "
            "so that it must be split into more than one caption cue for readers. ") * 3
    cues = split_cues(text)
    assert all(0 < len(cue) <= 110 for cue in cues)
    assert " ".join(cues).split() == text.split()


def test_webvtt_format():
    vtt = webvtt([Cue(0, 1.5, "Hello --> world"), Cue(1.5, 3661.25, "Bye")])
    assert vtt.startswith("WEBVTT\n\n1\n00:00:00.000 --> 00:00:01.500\nHello -> world\n")
    assert "00:00:01.500 --> 01:01:01.250\nBye" in vtt


def tools_present() -> bool:
    return all(shutil.which(tool) for tool in ("espeak-ng", "ffmpeg"))


@pytest.mark.django_db
def test_import_queues_a_job_that_narrates_the_lecture(content_root: Path, settings, tmp_path,
                                                       django_capture_on_commit_callbacks):
    require(tools_present(), "espeak-ng and ffmpeg are needed to narrate lectures")
    settings.MEDIA_ROOT = tmp_path / "media"
    write(content_root / "sql-basics" / "lessons" / "churn-queries.md", lesson_md(
        "churn-queries", kind="lecture",
        body="Hello and welcome. Today we find customers who churned.\n\nLet us start."))
    with django_capture_on_commit_callbacks(execute=False):
        assert services.import_content(content_root).ok
    job = Job.objects.get(kind=services.LECTURE_MEDIA_JOB)
    assert jobs.run_job(job.pk) == "done"
    lesson = Lesson.objects.get(slug="churn-queries")
    assert lesson.video_url.endswith(".webm") and lesson.captions_url.endswith(".vtt")
    captions = (settings.MEDIA_ROOT / lesson.captions_url.removeprefix("/media/")).read_text()
    assert captions.startswith("WEBVTT")
    assert "Today we find customers who churned." in captions
    assert (settings.MEDIA_ROOT / lesson.video_url.removeprefix("/media/")).stat().st_size > 1000
    # Nothing left to do: scheduling again queues no new job.
    assert services.schedule_lecture_media() == 0
