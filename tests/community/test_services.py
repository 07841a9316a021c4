"""The discussion-board services: who may read, post, edit, vote, accept and moderate, the
notifications they send, the rate limit, the spam guard and similar threads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from tests.community.conftest import COURSE, LESSON, OTHER_LESSON, answer, ask, settle
from upskill.accounts.models import User
from upskill.community import services
from upskill.community.models import Board, ModerationAction, Post, Thread, Vote
from upskill.core.errors import Conflict, Invalid, NotFound, PermissionDenied, Throttled
from upskill.core.models import Job, Notification

pytestmark = pytest.mark.django_db


def notes(user: User, kind: str) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user, kind=kind))


# --------------------------------------------------------------------------- boards and reading


def test_a_board_belongs_to_a_course_or_lesson_in_the_catalog(course: Path, learner: User) -> None:
    lesson_board = services.open_board(learner, COURSE, LESSON)
    assert lesson_board.lesson is not None and lesson_board.lesson.slug == LESSON
    assert lesson_board.course.slug == COURSE
    course_board = services.open_board(learner, COURSE)
    assert course_board.lesson is None and course_board.board != lesson_board.board
    # The same board on every visit, not a new one.
    assert services.open_board(learner, COURSE, LESSON).board == lesson_board.board
    with pytest.raises(NotFound):
        services.open_board(learner, "no-such-course")
    with pytest.raises(NotFound):
        services.open_board(learner, COURSE, "no-such-lesson")


def test_nobody_reads_without_an_account(course: Path, learner: User) -> None:
    from django.contrib.auth.models import AnonymousUser

    thread = ask(learner)
    with pytest.raises(PermissionDenied):
        services.open_board(AnonymousUser(), COURSE)
    with pytest.raises(PermissionDenied):
        services.thread_page(AnonymousUser(), thread.pk)


def test_a_board_of_a_course_no_one_can_open_is_not_shown(
        course: Path, learner: User, staff: User) -> None:
    """A thread left on a course that is not in the catalog (withdrawn) is not readable."""
    board = Board.objects.create(course_slug="withdrawn-course")
    thread = Thread.objects.create(board=board, author=staff, title="An old discussion here")
    Post.objects.create(thread=thread, author=staff, is_opening=True, body_markdown="x",
                        body_html="<p>x</p>")
    for person in (learner, staff):
        with pytest.raises(NotFound):
            services.thread_page(person, thread.pk)
        with pytest.raises(NotFound):
            services.reply(person, thread.pk, "Hello there, anyone?")


def test_a_course_board_lists_its_lessons_threads_and_a_lesson_board_only_its_own(
        course: Path, learner: User) -> None:
    on_where = ask(learner)
    on_churn = ask(learner, "Which customers count as churned?", "Is it 30 days?",
                   lesson=OTHER_LESSON)
    course_list = services.list_threads(learner, services.open_board(learner, COURSE))
    assert {s.thread.pk for s in course_list} == {on_where.pk, on_churn.pk}
    lesson_list = services.list_threads(learner, services.open_board(learner, COURSE, LESSON))
    assert [s.thread.pk for s in lesson_list] == [on_where.pk]


# --------------------------------------------------------------------------- posting


def test_asking_stores_sanitized_html_and_schedules_the_mentor_routing(
        course: Path, learner: User) -> None:
    thread = ask(learner, body="Is **this** right? <script>alert(1)</script>")
    opening = thread.posts.get()
    assert opening.is_opening and opening.author == learner
    assert "<strong>this</strong>" in opening.body_html
    assert "<script" not in opening.body_html
    job = Job.objects.get(kind=services.ROUTE_JOB)
    assert job.payload == {"thread": thread.pk}
    assert job.dedupe_key == f"{services.ROUTE_JOB}:{thread.pk}"
    wait = job.available_at - thread.created_at
    assert timedelta(hours=23, minutes=59) < wait <= timedelta(days=1, seconds=1)


def test_a_discussion_is_not_routed_to_mentors(course: Path, learner: User) -> None:
    ask(learner, "Share your favourite SQL style guides", kind="discussion")
    assert not Job.objects.filter(kind=services.ROUTE_JOB).exists()


@pytest.mark.parametrize(("title", "body", "message"), [
    ("Short", "A body.", "at least"),
    ("x" * 161, "A body.", "under 160"),
    ("A perfectly good title", "   ", "empty"),
    ("A perfectly good title", "y" * 20_001, "under 20000"),
])
def test_bad_titles_and_bodies_are_refused_with_a_reason(
        course: Path, learner: User, title: str, body: str, message: str) -> None:
    view = services.open_board(learner, COURSE, LESSON)
    with pytest.raises(Invalid, match=message):
        services.start_thread(learner, view, kind="question", title=title, body=body)
    assert not Thread.objects.exists()


def test_an_unknown_kind_is_refused(course: Path, learner: User) -> None:
    view = services.open_board(learner, COURSE, LESSON)
    with pytest.raises(Invalid, match="question or a discussion"):
        services.start_thread(learner, view, kind="poll", title="A perfectly good title",
                              body="Body.")


def test_a_reply_notifies_the_asker_but_not_when_they_reply_themselves(
        course: Path, learner: User, other_learner: User) -> None:
    thread = ask(learner)
    answer(learner, thread, "Adding detail: the column is nullable.")
    assert notes(learner, "community.reply") == []
    post = answer(other_learner, thread)
    [note] = notes(learner, "community.reply")
    assert note.url == f"/community/threads/{thread.pk}/#post-{post.pk}"
    assert thread.title in note.subject and "Grace" in note.subject


def test_mentions_notify_people_by_their_name_without_spaces(
        course: Path, learner: User, other_learner: User, mentor: User,
        make_user: Callable[..., User]) -> None:
    thread = ask(learner)
    answer(other_learner, thread, "I think @MarieCurie knows. Also `@Grace` in code is not one.")
    [note] = notes(mentor, "community.mention")
    assert "Grace mentioned you" in note.subject
    assert notes(other_learner, "community.mention") == []  # never oneself
    # Two people called "Ada": the one taking part in the thread is meant.
    namesake = make_user("ada2@example.test", display_name="Ada")
    elsewhere = ask(other_learner, "Does WHERE run before SELECT aliases?", "Curious.")
    answer(learner, elsewhere, "Yes, so aliases are not visible in WHERE.")
    answer(mentor, elsewhere, "Right, as @ada says.")
    assert len(notes(learner, "community.mention")) == 1
    assert notes(namesake, "community.mention") == []


def test_the_asker_mentioned_in_a_reply_gets_one_notification_not_two(
        course: Path, learner: User, other_learner: User) -> None:
    thread = ask(learner)
    answer(other_learner, thread, "@Ada try IS NULL.")
    assert len(notes(learner, "community.reply")) == 1
    assert notes(learner, "community.mention") == []


def test_only_the_author_edits_or_deletes_a_post(
        course: Path, learner: User, other_learner: User, staff: User) -> None:
    thread = ask(learner)
    opening = thread.posts.get()
    for intruder in (other_learner, staff):
        with pytest.raises(PermissionDenied):
            services.edit_post(intruder, opening.pk, "Vandalized.")
        with pytest.raises(PermissionDenied):
            services.get_post_for_edit(intruder, opening.pk)
        with pytest.raises(PermissionDenied):
            services.delete_post(intruder, opening.pk)
    opening.refresh_from_db()
    assert "Vandalized" not in opening.body_markdown
    services.edit_post(learner, opening.pk, "Now with *more* detail.",
                       title="How does WHERE treat NULL values exactly?")
    opening.refresh_from_db()
    thread.refresh_from_db()
    assert opening.body_html == "<p>Now with <em>more</em> detail.</p>\n"
    assert opening.edited_at is not None
    assert thread.title == "How does WHERE treat NULL values exactly?"
    assert " exactly " in thread.search_text


def test_deleting_a_question_others_answered_is_refused(
        course: Path, learner: User, other_learner: User) -> None:
    thread = ask(learner)
    reply = answer(other_learner, thread)
    with pytest.raises(Conflict, match="Others have replied"):
        services.delete_post(learner, thread.posts.get(is_opening=True).pk)
    assert services.delete_post(other_learner, reply.pk) == thread
    assert services.delete_post(learner, thread.posts.get(is_opening=True).pk) is None
    assert not Thread.objects.filter(pk=thread.pk).exists()


# --------------------------------------------------------------------------- votes and answers


def test_one_vote_per_person_never_on_ones_own_post(
        course: Path, learner: User, other_learner: User, mentor: User) -> None:
    thread = ask(learner)
    reply = answer(other_learner, thread)
    with pytest.raises(PermissionDenied, match="own post"):
        services.vote(other_learner, reply.pk, 1)
    services.vote(learner, reply.pk, 1)
    services.vote(learner, reply.pk, 1)
    assert services.vote(mentor, reply.pk, 1).score == 2
    assert Vote.objects.filter(post=reply).count() == 2
    assert services.vote(learner, reply.pk, -1).score == 0  # changed, not added
    assert services.vote(learner, reply.pk, 0).score == 1  # withdrawn
    with pytest.raises(Invalid):
        services.vote(learner, reply.pk, 5)


def test_only_the_asker_or_staff_accepts_an_answer(
        course: Path, learner: User, other_learner: User, mentor: User, staff: User) -> None:
    thread = ask(learner)
    reply = answer(mentor, thread)
    for not_allowed in (other_learner, mentor):
        with pytest.raises(PermissionDenied, match="Only the person who asked"):
            services.accept_answer(not_allowed, reply.pk)
    with pytest.raises(Invalid, match="Accept a reply"):
        services.accept_answer(learner, thread.posts.get(is_opening=True).pk)
    assert services.accept_answer(learner, reply.pk).accepted_answer == reply
    [note] = notes(mentor, "community.accepted")
    assert thread.title in note.subject
    services.clear_accepted_answer(learner, thread.pk)
    assert services.accept_answer(staff, reply.pk).accepted_answer == reply


def test_a_discussion_has_no_accepted_answer(
        course: Path, learner: User, other_learner: User) -> None:
    thread = ask(learner, "Share your favourite SQL style guides", kind="discussion")
    reply = answer(other_learner, thread, "Mine is the GitLab one.")
    with pytest.raises(Invalid, match="Only questions"):
        services.accept_answer(learner, reply.pk)


def test_mentors_and_staff_carry_a_marker_on_their_posts(
        course: Path, learner: User, mentor: User, staff: User) -> None:
    thread = ask(learner)
    assert [answer(p, thread).author_badge for p in (learner, mentor, staff)] == [
        "", "mentor", "staff"]


# --------------------------------------------------------------------------- moderation


def test_learners_cannot_moderate(course: Path, learner: User, other_learner: User) -> None:
    thread = ask(learner)
    post = thread.posts.get()
    with pytest.raises(PermissionDenied):
        services.hide_post(other_learner, post.pk, "spam")
    with pytest.raises(PermissionDenied):
        services.lock_thread(other_learner, thread.pk, locked=True, reason="done")
    with pytest.raises(PermissionDenied):
        services.suspend_user(other_learner, learner.pk, days=1, reason="rude")
    with pytest.raises(PermissionDenied):
        services.moderation_queue(other_learner)
    assert not ModerationAction.objects.exists()


def test_a_hidden_post_is_seen_only_by_its_author_and_moderators(
        course: Path, learner: User, other_learner: User, mentor: User) -> None:
    thread = ask(learner)
    reply = answer(other_learner, thread, "Buy cheap watches at my shop.")
    services.hide_post(mentor, reply.pk, "Advertising")
    shown = {person.pk: services.thread_page(person, thread.pk).replies[0]
             for person in (learner, other_learner, mentor)}
    assert shown[learner.pk].shown_html == "" and shown[learner.pk].hidden_notice
    assert "cheap watches" in shown[other_learner.pk].shown_html
    assert "cheap watches" in shown[mentor.pk].shown_html
    with pytest.raises(Conflict):
        services.vote(learner, reply.pk, 1)
    [entry] = ModerationAction.objects.all()
    assert (entry.actor, entry.action, entry.post, entry.reason) == (
        mentor, "hide", reply, "Advertising")
    services.unhide_post(mentor, reply.pk)
    assert services.thread_page(learner, thread.pk).replies[0].shown_html
    assert ModerationAction.objects.filter(action="unhide").count() == 1


def test_a_hidden_question_is_not_found_by_others(
        course: Path, learner: User, other_learner: User, staff: User) -> None:
    thread = ask(learner)
    services.hide_post(staff, thread.posts.get().pk, "Off topic")
    with pytest.raises(NotFound):
        services.thread_page(other_learner, thread.pk)
    assert services.thread_page(learner, thread.pk).opening.hidden_notice
    board = services.open_board(other_learner, COURSE, LESSON)
    assert services.list_threads(other_learner, board) == []


def test_a_locked_thread_takes_no_replies_or_edits(
        course: Path, learner: User, other_learner: User, mentor: User) -> None:
    thread = ask(learner)
    with pytest.raises(Invalid, match="reason"):
        services.lock_thread(mentor, thread.pk, locked=True, reason=" ")
    services.lock_thread(mentor, thread.pk, locked=True, reason="Answered in the FAQ")
    settle(other_learner)
    with pytest.raises(Conflict, match="locked"):
        services.reply(other_learner, thread.pk, "One more thing!")
    with pytest.raises(Conflict, match="locked"):
        services.edit_post(learner, thread.posts.get().pk, "Changed after the lock.")
    services.lock_thread(mentor, thread.pk, locked=False)
    assert services.reply(other_learner, thread.pk, "One more thing!").pk
    assert list(ModerationAction.objects.order_by("pk").values_list("action", flat=True)) == [
        "lock", "unlock"]


def test_flags_reach_the_moderators_and_enough_of_them_hide_the_post(
        course: Path, learner: User, other_learner: User, mentor: User,
        make_user: Callable[..., User]) -> None:
    thread = ask(learner)
    post = thread.posts.get()
    with pytest.raises(Invalid, match="own post"):
        services.flag_post(learner, post.pk, "spam")
    with pytest.raises(Invalid, match="Choose why"):
        services.flag_post(other_learner, post.pk, "boring")
    services.flag_post(other_learner, post.pk, "spam", "Link farm")
    with pytest.raises(Conflict, match="already flagged"):
        services.flag_post(other_learner, post.pk, "abuse")
    [item] = services.moderation_queue(mentor).flagged
    assert item.post == post and [f.note for f in item.flags] == ["Link farm"]
    for n in range(services.FLAGS_TO_HIDE - 1):
        services.flag_post(make_user(f"reporter{n}@example.test"), post.pk, "spam")
    post.refresh_from_db()
    assert post.is_hidden
    entry = ModerationAction.objects.get(action="hide")
    assert entry.actor is None and "reports" in entry.reason
    services.dismiss_flags(mentor, post.pk)
    assert services.moderation_queue(mentor).flagged == []


def test_suspension_stops_posting_until_it_ends_or_is_lifted(
        course: Path, learner: User, other_learner: User, staff: User) -> None:
    thread = ask(learner)
    suspension = services.suspend_user(staff, other_learner.pk, days=3, reason="Insults")
    settle(other_learner)
    with pytest.raises(PermissionDenied, match=r"suspended from posting until .* Insults"):
        services.reply(other_learner, thread.pk, "Let me in.")
    with pytest.raises(PermissionDenied, match="suspended"):
        services.start_thread(other_learner, services.open_board(other_learner, COURSE),
                              kind="question", title="Another question here", body="Hm.")
    [note] = notes(other_learner, "community.suspended")
    assert "Insults" in note.body
    # A suspension that ended no longer counts.
    type(suspension).objects.filter(pk=suspension.pk).update(
        until=timezone.now() - timedelta(seconds=1))
    assert services.reply(other_learner, thread.pk, "Back, and polite.").pk
    again = services.suspend_user(staff, other_learner.pk, days=1, reason="Again")
    services.lift_suspension(staff, again.pk)
    settle(other_learner)
    assert services.reply(other_learner, thread.pk, "Thanks for lifting it.").pk
    assert list(ModerationAction.objects.order_by("pk").values_list("action", flat=True)) == [
        "suspend", "suspend", "lift"]


def test_mentors_suspend_briefly_and_never_another_moderator(
        course: Path, learner: User, mentor: User, staff: User,
        make_user: Callable[..., User]) -> None:
    with pytest.raises(Invalid, match="1 to 7 days"):
        services.suspend_user(mentor, learner.pk, days=8, reason="Spam")
    with pytest.raises(Invalid, match="1 to 7 days"):
        services.suspend_user(mentor, learner.pk, days=0, reason="Spam")
    with pytest.raises(PermissionDenied, match="Only staff"):
        services.suspend_user(mentor, staff.pk, days=1, reason="Spam")
    with pytest.raises(Invalid, match="yourself"):
        services.suspend_user(staff, staff.pk, days=1, reason="Test")
    with pytest.raises(Invalid, match="reason"):
        services.suspend_user(mentor, learner.pk, days=2, reason="")
    assert services.suspend_user(mentor, learner.pk, days=7, reason="Spam").user == learner
    assert services.suspend_user(staff, mentor.pk, days=30, reason="Abuse").user == mentor
    with pytest.raises(NotFound):
        services.suspend_user(staff, 999_999, days=1, reason="Nobody")
    second_mentor = make_user("m2@example.test", display_name="Second Mentor")
    from upskill.accounts import services as accounts

    accounts.grant_role(None, second_mentor, "mentor")
    own = services.moderation_queue(staff).suspensions
    assert {s.user for s in own} == {learner, mentor}
    with pytest.raises(PermissionDenied, match="another moderator made"):
        services.lift_suspension(second_mentor, next(s.pk for s in own if s.user == learner))


# --------------------------------------------------------------------------- rate limit and spam


def test_posting_too_fast_is_throttled_with_when_to_try_again(
        course: Path, learner: User, other_learner: User) -> None:
    thread = ask(learner)
    settle(other_learner)
    for n in range(services.POSTS_PER_MINUTE):
        services.reply(other_learner, thread.pk, f"Thought number {n}.")
    with pytest.raises(Throttled, match=r"at most 3 posts in a minute\. Try again in \d+ sec"):
        services.reply(other_learner, thread.pk, "One more thought.")
    assert Post.objects.filter(author=other_learner).count() == services.POSTS_PER_MINUTE


def test_the_hourly_limit_counts_posts_spread_over_the_hour(
        course: Path, learner: User, other_learner: User) -> None:
    thread = ask(learner)
    settle(other_learner)
    now = timezone.now()
    Post.objects.bulk_create([
        Post(thread=thread, author=other_learner, body_markdown=f"Old {n}",
             body_html=f"<p>Old {n}</p>", created_at=now - timedelta(minutes=2 + n))
        for n in range(services.POSTS_PER_HOUR)])
    with pytest.raises(Throttled, match="posts in an hour"):
        services.reply(other_learner, thread.pk, "Yet another.")


def test_a_new_account_may_not_post_many_links(
        course: Path, learner: User, make_user: Callable[..., User]) -> None:
    thread = ask(learner)
    newcomer = make_user("new@example.test", display_name="Newcomer")
    links = "See https://a.example, https://b.example and www.c.example now."
    with pytest.raises(Invalid, match=r"at most 2 links .* this post has 3"):
        services.reply(newcomer, thread.pk, links)
    assert services.reply(newcomer, thread.pk, "See https://a.example only.").pk
    settle(newcomer)  # a week old now
    assert services.reply(newcomer, thread.pk, links).pk


def test_the_same_text_twice_in_a_day_is_refused(
        course: Path, learner: User, other_learner: User) -> None:
    first = ask(learner)
    second = ask(learner, "What does ORDER BY do with NULL?", "Where do NULLs go?")
    answer(other_learner, first, "Use IS NULL, not = NULL.")
    settle(other_learner)
    with pytest.raises(Invalid, match="already posted exactly this"):
        services.reply(other_learner, second.pk, "use is null,   NOT = null.")


# --------------------------------------------------------------------------- similar threads


def test_a_similar_question_is_found_while_asking(
        course: Path, learner: User, other_learner: User) -> None:
    existing = ask(learner, "How does WHERE filter rows with NULL values?")
    ask(learner, "Which customers count as churned last month?", "Is it 30 days?",
        lesson=OTHER_LESSON)
    ask(learner, "Share your favourite SQL style guides", "Any?", kind="discussion")
    view = services.open_board(other_learner, COURSE, LESSON)
    hits = services.similar_threads(other_learner, view, "Why does my where filter drop NULLs?")
    assert [hit.thread for hit in hits] == [existing]
    churn = services.similar_threads(other_learner, view, "churned customers definition")
    assert [hit.thread.title for hit in churn] == [
        "Which customers count as churned last month?"]
    assert services.similar_threads(other_learner, view, "gradient boosting trees") == []
    assert services.similar_threads(other_learner, view, "   ") == []


def test_the_preview_shows_similar_threads_and_the_rendered_text(
        course: Path, learner: User, other_learner: User) -> None:
    existing = ask(learner, "How does WHERE filter rows with NULL values?")
    view = services.open_board(other_learner, COURSE, LESSON)
    draft = services.preview_thread(other_learner, view, kind="question",
                                    title="WHERE filter and NULL rows", body="Why *not*?")
    assert [hit.thread for hit in draft.similar] == [existing]
    assert draft.body_html == "<p>Why <em>not</em>?</p>\n"
    assert Thread.objects.count() == 1  # a preview writes nothing
    with pytest.raises(Invalid):
        services.preview_thread(other_learner, view, kind="question", title="Hi", body="x")
