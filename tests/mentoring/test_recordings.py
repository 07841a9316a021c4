"""A live session's recording: captions checked and turned into a transcript, published by the
host after the end, and shown as a recorded lecture on the session's page and in the course
lesson that names the session."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models.fields.files import FieldFile
from django.test import Client
from pytest_django.fixtures import Settings

from upskill.accounts import services as accounts
from upskill.accounts.models import PlatformRole, User
from upskill.catalog.models import Lesson
from upskill.core.errors import Conflict, Invalid, PermissionDenied
from upskill.core.models import Notification
from upskill.learning import services as learning
from upskill.mentoring import services
from upskill.mentoring.captions import BadCaptions, read_captions
from upskill.mentoring.models import LiveSession

START = datetime(2026, 3, 10, 16, tzinfo=UTC)
BEFORE = datetime(2026, 3, 5, 12, tzinfo=UTC)
AFTER = START + timedelta(hours=2)
WEBM = b"\x1a\x45\xdf\xa3" + b"\x00" * 60  # the EBML header's magic: what a WebM starts with
CAPTIONS = b"""WEBVTT

00:00:01.000 --> 00:00:04.000
<v Hana>Welcome to office hours on <i>SQL joins</i>.

00:00:04.500 --> 00:00:07.000
Today we compare inner and left joins.

00:00:12.000 --> 00:00:15.000
<v Lena>Why did my left join lose rows?
"""


# -- the captions -----------------------------------------------------------------------------

def test_captions_become_paragraphs_by_pause_and_speaker_without_markup() -> None:
    captions = read_captions(CAPTIONS)
    assert captions.cues == 3 and captions.duration_s == 15.0
    assert captions.paragraphs == (
        "Hana: Welcome to office hours on SQL joins. Today we compare inner and left joins.",
        "Lena: Why did my left join lose rows?")


@pytest.mark.parametrize(("data", "reason"), [
    (b"", "WebVTT"),
    (b"1\n00:00:01,000 --> 00:00:02,000\nan SRT file\n", "WebVTT"),
    ("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\ncaf\u00e9\n".encode("latin-1"), "UTF-8"),
    (b"WEBVTT\n\n00:00:05.000 --> 00:00:03.000\nbackwards\n", "ends before it starts"),
    (b"WEBVTT\n\n00:00:05.000 --> 00:00:06.000\nb\n\n00:00:01.000 --> 00:00:02.000\na\n",
     "time order"),
    (b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<b></b>\n", "no captions with text"),
    (b"WEBVTT\n\n" + b"x" * 5_000_001, "over 5 MB"),
])
def test_unusable_captions_are_refused_saying_why(data: bytes, reason: str) -> None:
    with pytest.raises(BadCaptions, match=reason):
        read_captions(data)


# -- publishing -------------------------------------------------------------------------------

@pytest.fixture
def media(settings: Settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return Path(settings.MEDIA_ROOT)


@pytest.fixture
def host(make_user: Callable[..., User]) -> User:
    user = make_user("host@example.test", display_name="Hana")
    accounts.grant_role(None, user, PlatformRole.AUTHOR)
    return user


@pytest.fixture
def live(host: User, db: None) -> LiveSession:
    return services.schedule_live_session(
        host, title="Office hours: SQL joins", description="Bring questions.", start=START,
        minutes=60, capacity=5, join_url="https://meet.example.test/joins",
        lesson_ref="sql-office-hours", now=BEFORE)


def stored(media: Path, field: FieldFile) -> Path:
    assert field.name
    return media / field.name


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


def publish(actor: User, live: LiveSession, *, video: bytes = WEBM,
            captions: bytes = CAPTIONS, now: datetime = AFTER) -> LiveSession:
    return services.publish_recording(actor, live.pk, video=upload("talk.webm", video),
                                      captions=upload("talk.vtt", captions), now=now)


@pytest.mark.django_db
def test_the_host_publishes_after_the_end_and_registrants_are_told_once(
        host: User, live: LiveSession, learner: User, media: Path,
        django_capture_on_commit_callbacks: Any) -> None:
    services.register_live(learner, live.pk, now=BEFORE)
    with pytest.raises(Conflict, match="after the session has ended"):
        publish(host, live, now=START + timedelta(minutes=30))
    published = publish(host, live)
    assert (stored(media, published.recording)).read_bytes() == WEBM
    assert (stored(media, published.captions)).read_bytes() == CAPTIONS
    assert published.transcript[0].startswith("Hana: Welcome")
    view = services.get_live_session(learner, live.pk, now=AFTER)
    assert view.recording_url.endswith(".webm") and view.captions_url.endswith(".vtt")
    assert [n.subject for n in Notification.objects.filter(recipient=learner)] == [
        "Recording ready: Office hours: SQL joins"]
    # Publishing again replaces both files (the old ones are removed) and tells nobody again.
    first_video = stored(media, published.recording)
    with django_capture_on_commit_callbacks(execute=True):
        replaced = publish(host, live, captions=CAPTIONS.replace(b"Welcome", b"Hello"))
    assert replaced.transcript[0].startswith("Hana: Hello")
    assert Notification.objects.filter(recipient=learner).count() == 1
    assert (stored(media, replaced.recording)).exists()
    assert replaced.recording.name != published.recording.name and not first_video.exists()


@pytest.mark.django_db
def test_only_the_host_or_staff_publish(host: User, live: LiveSession, learner: User,
                                        make_user: Callable[..., User], media: Path) -> None:
    services.register_live(learner, live.pk, now=BEFORE)
    with pytest.raises(PermissionDenied):
        publish(learner, live)
    staff = make_user("staff@example.test")
    staff.is_staff = True
    staff.save(update_fields=["is_staff"])
    assert publish(staff, live).recording_published_at == AFTER


@pytest.mark.django_db
@pytest.mark.parametrize(("video", "captions", "reason"), [
    (b"<html>not a video</html>", CAPTIONS, "WebM, MP4, Ogg or MP3"),
    (WEBM, b"1\n00:00:01,000 --> 00:00:02,000\nSRT\n", "WebVTT"),
])
def test_a_bad_upload_is_refused_and_the_earlier_recording_stays(
        host: User, live: LiveSession, media: Path, video: bytes, captions: bytes,
        reason: str) -> None:
    first = publish(host, live)
    with pytest.raises(Invalid, match=reason):
        publish(host, live, video=video, captions=captions)
    live.refresh_from_db()
    assert live.recording.name == first.recording.name
    assert live.transcript == first.transcript
    assert (stored(media, live.recording)).read_bytes() == WEBM


@pytest.mark.django_db
def test_a_recording_over_the_size_limit_is_refused(host: User, live: LiveSession,
                                                    media: Path, settings: Settings
                                                    ) -> None:
    settings.MENTORING_RECORDING_MAX_MB = 0
    with pytest.raises(Invalid, match="over 0 MB"):
        publish(host, live)
    live.refresh_from_db()
    assert not live.recording and live.recording_published_at is None


@pytest.mark.django_db
def test_a_lesson_reference_is_a_slug_and_belongs_to_one_session(host: User,
                                                                 live: LiveSession) -> None:
    common: dict[str, Any] = {"title": "Again", "description": "", "start": START, "minutes": 60,
              "capacity": 5, "join_url": "https://meet.example.test/x", "now": BEFORE}
    with pytest.raises(Conflict, match="sql-office-hours"):
        services.schedule_live_session(host, lesson_ref="sql-office-hours", **common)
    with pytest.raises(Invalid, match="slug"):
        services.schedule_live_session(host, lesson_ref="Not A Slug!", **common)


# -- pages --------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_the_course_lesson_shows_the_session_then_plays_its_recording(
        host: User, live: LiveSession, learner: User, content_root: Path, media: Path,
        client_for: Callable[[User], Client], settings: Settings) -> None:
    from upskill.catalog import services as catalog

    assert not catalog.import_content(content_root).problems
    # The course's second lesson is a live lesson naming the session (as a package's
    # `kind: live` + `ref:` would).
    Lesson.objects.filter(slug="churn-queries").update(kind=Lesson.Kind.LIVE,
                                                       ref="sql-office-hours")
    learning.enrol(learner, "data-analyst-certificate")
    client = client_for(learner)
    page = client.get("/courses/sql-basics/churn-queries/").content.decode()
    # The session (in March) is over and nothing is published yet.
    assert "Live with Hana" in page and "The recording will appear here" in page
    assert "<video" not in page
    publish(host, live, now=AFTER)
    page = client.get("/courses/sql-basics/churn-queries/").content.decode()
    assert "<video" in page and 'kind="captions"' in page
    assert "Hana: Welcome to office hours on SQL joins." in page  # the transcript, markup gone
    assert "<i>SQL joins</i>" not in page


@pytest.mark.django_db
def test_the_upload_form_answers_bad_files_with_400_and_good_ones_with_the_player(
        host: User, live: LiveSession, media: Path, client_for: Callable[[User], Client],
        learner: User) -> None:
    LiveSession.objects.filter(pk=live.pk).update(start=START - timedelta(days=400),
                                                  end=START - timedelta(days=400, hours=-1))
    client = client_for(host)
    page = client.get(f"/mentoring/live/{live.pk}/").content.decode()
    assert "Publish the recording" in page and 'enctype="multipart/form-data"' in page
    bad = client.post(f"/mentoring/live/{live.pk}/recording/",
                      {"video": upload("talk.mp4", b"not a video at all"),
                       "captions": upload("talk.vtt", CAPTIONS)})
    assert bad.status_code == 400 and "WebM, MP4, Ogg or MP3" in bad.content.decode()
    missing = client.post(f"/mentoring/live/{live.pk}/recording/", {})
    assert missing.status_code == 400
    good = client.post(f"/mentoring/live/{live.pk}/recording/",
                       {"video": upload("talk.webm", WEBM),
                        "captions": upload("talk.vtt", CAPTIONS)})
    assert good.status_code == 302
    page = client_for(learner).get(f"/mentoring/live/{live.pk}/").content.decode()
    assert "<video" in page and "Publish the recording" not in page
    listing = client_for(learner).get("/mentoring/live/").content.decode()
    assert "Recordings" in listing and "Office hours: SQL joins" in listing
    refused = client_for(learner).post(f"/mentoring/live/{live.pk}/recording/",
                                       {"video": upload("talk.webm", WEBM),
                                        "captions": upload("talk.vtt", CAPTIONS)})
    assert refused.status_code == 403
