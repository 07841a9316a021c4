"""Discussion pages through Django's test client: asking with the preview step, replying,
voting, accepting, editing, moderating; bad input is a 4xx page that says why, never a 500."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.test import Client

from tests.community.conftest import COURSE, LESSON, answer, ask, settle
from upskill.accounts.models import User
from upskill.community import services
from upskill.community.models import ModerationAction, Suspension, Thread

pytestmark = pytest.mark.django_db

ClientFor = Callable[[User], Client]
BOARD = f"/community/boards/{COURSE}/lessons/{LESSON}/"
ASK = f"{BOARD}ask/"


def text(response: object) -> str:
    return response.content.decode()  # type: ignore[attr-defined]


def test_pages_need_a_login(course: Path, learner: User) -> None:
    thread = ask(learner)
    for url in (BOARD, ASK, f"/community/boards/{COURSE}/",
                f"/community/threads/{thread.pk}/", "/community/moderation/"):
        response = Client().get(url)
        assert response.status_code == 302 and "/account/login/" in response["Location"]


def test_a_board_lists_its_threads_and_links_to_ask(
        course: Path, learner: User, other_learner: User, client_for: ClientFor) -> None:
    thread = ask(learner)
    answer(other_learner, thread)
    page = client_for(other_learner).get(BOARD)
    assert page.status_code == 200
    html = text(page)
    assert "Discussions: Where Clause" in html
    assert f'href="/community/threads/{thread.pk}/"' in html and "1 reply" in html
    assert f'href="{ASK}"' in html
    course_page = text(client_for(other_learner).get(f"/community/boards/{COURSE}/"))
    assert thread.title in course_page


def test_unknown_boards_and_threads_are_404_pages(course: Path, learner: User,
                                                  client_for: ClientFor) -> None:
    client = client_for(learner)
    for url in ("/community/boards/nope/", f"/community/boards/{COURSE}/lessons/nope/",
                "/community/threads/999999/", "/community/boards/nope/ask/"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "We could not find that page" in text(response)


def test_asking_previews_with_similar_threads_first_then_posts(
        course: Path, learner: User, other_learner: User, client_for: ClientFor) -> None:
    existing = ask(learner, "How does WHERE filter rows with NULL values?")
    client = client_for(other_learner)
    form = text(client.get(ASK))
    assert 'hx-get="/community/boards/sql-basics/similar/"' in form
    assert "Preview and check for similar threads" in form
    given = {"kind": "question", "title": "Why does WHERE drop my NULL rows?",
             "body": "I wrote `WHERE x <> 1` and *lost* rows."}
    preview = client.post(ASK, given)  # no step: always the preview first
    assert preview.status_code == 200
    html = text(preview)
    assert "Similar threads: has someone asked this already?" in html
    assert f'href="/community/threads/{existing.pk}/"' in html
    assert "<em>lost</em>" in html and "Post my question" in html
    assert Thread.objects.count() == 1
    posted = client.post(ASK, {**given, "step": "post"})
    assert posted.status_code == 302
    thread = Thread.objects.get(author=other_learner)
    assert posted["Location"] == f"/community/threads/{thread.pk}/"
    page = text(client.get(posted["Location"]))
    assert "Why does WHERE drop my NULL rows?" in page and "<em>lost</em>" in page


def test_similar_threads_arrive_as_the_title_is_typed(
        course: Path, learner: User, other_learner: User, client_for: ClientFor) -> None:
    existing = ask(learner, "How does WHERE filter rows with NULL values?")
    client = client_for(other_learner)
    response = client.get(f"/community/boards/{COURSE}/similar/",
                          {"title": "where filter null", "lesson": LESSON},
                          HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = text(response)
    assert html.startswith('<div id="similar"') and existing.title in html
    nothing = text(client.get(f"/community/boards/{COURSE}/similar/",
                              {"title": "neural networks"}))
    assert "No similar threads found yet." in nothing
    bad_lesson = client.get(f"/community/boards/{COURSE}/similar/", {"lesson": "nope"})
    assert bad_lesson.status_code == 404


@pytest.mark.parametrize(("given", "message"), [
    ({"kind": "question", "title": "Hm", "body": "Body."}, "at least 8 characters"),
    ({"kind": "question", "title": "A good enough title", "body": ""}, "the post is empty"),
    ({"kind": "poll", "title": "A good enough title", "body": "Body."}, "question or a discussion"),
    ({}, "question or a discussion"),
])
@pytest.mark.parametrize("step", ["preview", "post"])
def test_bad_questions_are_400_with_the_reason(
        course: Path, learner: User, client_for: ClientFor, given: dict[str, str],
        message: str, step: str) -> None:
    response = client_for(learner).post(ASK, {**given, "step": step})
    assert response.status_code == 400
    assert message in text(response) and 'role="alert"' in text(response)
    assert not Thread.objects.exists()


def test_a_reply_posts_and_a_bad_one_keeps_the_text_with_the_reason(
        course: Path, learner: User, other_learner: User, client_for: ClientFor) -> None:
    thread = ask(learner)
    settle(other_learner)
    client = client_for(other_learner)
    url = f"/community/threads/{thread.pk}/reply/"
    empty = client.post(url, {"body": "   "})
    assert empty.status_code == 400 and "the post is empty" in text(empty)
    ok = client.post(url, {"body": "Use `IS NULL`."})
    assert ok.status_code == 302 and f"/community/threads/{thread.pk}/#post-" in ok["Location"]
    assert "<code>IS NULL</code>" in text(client.get(f"/community/threads/{thread.pk}/"))


def test_posting_too_fast_is_429_with_when_to_try_again(
        course: Path, learner: User, other_learner: User, client_for: ClientFor) -> None:
    thread = ask(learner)
    settle(other_learner)
    client = client_for(other_learner)
    url = f"/community/threads/{thread.pk}/reply/"
    for n in range(services.POSTS_PER_MINUTE):
        assert client.post(url, {"body": f"Point {n}."}).status_code == 302
    response = client.post(url, {"body": "One point too many."})
    assert response.status_code == 429
    html = text(response)
    assert "You are posting too fast" in html and "Try again in" in html
    assert "One point too many." in html  # the text is not lost


def test_the_spam_guard_answers_400_with_what_to_change(
        course: Path, learner: User, make_user: Callable[..., User],
        client_for: ClientFor) -> None:
    thread = ask(learner)
    newcomer = make_user("fresh@example.test", display_name="Fresh")
    response = client_for(newcomer).post(f"/community/threads/{thread.pk}/reply/", {
        "body": "https://a.example https://b.example https://c.example"})
    assert response.status_code == 400
    assert "Please remove some links" in text(response)


def test_votes_and_acceptance_through_the_page(
        course: Path, learner: User, other_learner: User, mentor: User,
        client_for: ClientFor) -> None:
    thread = ask(learner)
    reply = answer(mentor, thread)
    asker, other = client_for(learner), client_for(other_learner)
    vote_url = f"/community/posts/{reply.pk}/vote/"
    assert asker.post(vote_url, {"value": "1"}).status_code == 302
    assert 'aria-pressed="true">Vote up' in text(asker.get(f"/community/threads/{thread.pk}/"))
    for junk in ({"value": "up"}, {},
                 {"value": "7"}):
        response = other.post(vote_url, junk)
        assert response.status_code == 400, junk
        assert "vote" in text(response).lower()
    own = client_for(mentor).post(vote_url, {"value": "1"})
    assert own.status_code == 403 and "You cannot vote on your own post." in text(own)
    accept_url = f"/community/posts/{reply.pk}/accept/"
    refused = other.post(accept_url, {})
    assert refused.status_code == 403 and "Only the person who asked" in text(refused)
    assert asker.post(accept_url, {}).status_code == 302
    page = text(other.get(f"/community/threads/{thread.pk}/"))
    assert "Accepted answer" in page and "The answer by Marie Curie solved it." in page
    assert '<span class="badge">Mentor</span>' in page


def test_only_the_author_reaches_the_edit_page(
        course: Path, learner: User, other_learner: User, client_for: ClientFor) -> None:
    thread = ask(learner)
    opening = thread.posts.get()
    url = f"/community/posts/{opening.pk}/edit/"
    intruder = client_for(other_learner)
    assert intruder.get(url).status_code == 403
    assert intruder.post(url, {"body": "Mine now.", "title": "Taken over title"}
                         ).status_code == 403
    assert intruder.post(f"/community/posts/{opening.pk}/delete/").status_code == 403
    author = client_for(learner)
    assert "Edit your post" in text(author.get(url))
    bad = author.post(url, {"body": "", "title": "How does WHERE filter rows?"})
    assert bad.status_code == 400 and "the post is empty" in text(bad)
    assert author.post(url, {"body": "Clearer now.", "title": "How does WHERE filter rows?"}
                       ).status_code == 302
    thread.refresh_from_db()
    assert thread.title == "How does WHERE filter rows?"


def test_moderation_is_for_moderators_and_refuses_bad_input_clearly(
        course: Path, learner: User, other_learner: User, mentor: User,
        client_for: ClientFor) -> None:
    thread = ask(learner)
    reply = answer(other_learner, thread, "Rude words here.")
    learner_client, mentor_client = client_for(learner), client_for(mentor)
    assert learner_client.get("/community/moderation/").status_code == 403
    hide = learner_client.post(f"/community/posts/{reply.pk}/hide/",
                               {"reason": "rude"})
    assert hide.status_code == 403
    flagged = learner_client.post(f"/community/posts/{reply.pk}/flag/",
                                  {"reason": "abuse"})
    assert flagged.status_code == 302
    page = text(mentor_client.get("/community/moderation/"))
    assert "Rude words here." in page and "Rude or abusive" in page
    no_reason = mentor_client.post(f"/community/posts/{reply.pk}/hide/", {})
    assert no_reason.status_code == 400 and "Please give a reason" in text(no_reason)
    assert mentor_client.post(f"/community/posts/{reply.pk}/hide/",
                              {"reason": "Rude"}).status_code == 302
    for given, message in (({"user": "abc", "days": "1", "reason": "x"}, "whole number"),
                           ({"user": str(other_learner.pk), "days": "many", "reason": "x"},
                            "whole number"),
                           ({"user": str(other_learner.pk), "days": "30", "reason": "x"},
                            "1 to 7 days"),
                           ({}, "whole number")):
        response = mentor_client.post("/community/moderation/suspend/", given)
        assert response.status_code == 400, given
        assert message in text(response)
    ok = mentor_client.post("/community/moderation/suspend/",
                            {"user": str(other_learner.pk), "days": "2", "reason": "Rude"})
    assert ok.status_code == 302
    assert Suspension.objects.get().user == other_learner
    locked = mentor_client.post(f"/community/threads/{thread.pk}/lock/",
                                {"locked": "1", "reason": "Heated"})
    assert locked.status_code == 302
    assert "Locked: no new replies." in text(learner_client.get(f"/community/threads/{thread.pk}/"))
    assert set(ModerationAction.objects.values_list("action", flat=True)) == {
        "hide", "suspend", "lock"}
    log = text(mentor_client.get("/community/moderation/"))
    assert "Suspended a person from posting" in log and "Locked a thread" in log


def test_actions_need_post(course: Path, learner: User, client_for: ClientFor) -> None:
    thread = ask(learner)
    post = thread.posts.get()
    client = client_for(learner)
    for url in (f"/community/threads/{thread.pk}/reply/", f"/community/posts/{post.pk}/vote/",
                f"/community/posts/{post.pk}/accept/", f"/community/posts/{post.pk}/flag/",
                "/community/moderation/suspend/"):
        assert client.get(url).status_code == 405, url


JUNK = ["", "abc", "-1", "99999999999999999999", "1\x00", "\x00", "<script>", "ü" * 5000]


def test_junk_in_every_form_is_answered_without_a_server_error(
        course: Path, learner: User, other_learner: User, mentor: User,
        client_for: ClientFor) -> None:
    """Every form field of every discussion action, filled with junk (NUL bytes, huge
    numbers, markup, long text), by a learner and by a mentor: never a 500."""
    thread = ask(learner)
    reply = answer(other_learner, thread)
    settle(learner)
    actions = [
        (ASK, ["kind", "title", "body", "step"]),
        (f"/community/threads/{thread.pk}/reply/", ["body"]),
        (f"/community/threads/{thread.pk}/lock/", ["locked", "reason"]),
        (f"/community/posts/{reply.pk}/vote/", ["value"]),
        (f"/community/posts/{reply.pk}/accept/", ["thread"]),
        (f"/community/posts/{reply.pk}/flag/", ["reason", "note"]),
        (f"/community/posts/{reply.pk}/hide/", ["reason"]),
        (f"/community/posts/{reply.pk}/unhide/", ["thread"]),
        ("/community/moderation/suspend/", ["user", "days", "reason"]),
        ("/community/groups/new/", ["name", "role", "timezone", "pace"]),
    ]
    for person in (learner, mentor):
        client = client_for(person)
        for url, fields in actions:
            for junk in JUNK:
                response = client.post(url, {field: junk for field in fields})
                assert response.status_code < 500, (url, junk)
                if response.status_code >= 400:
                    assert 'role="alert"' in text(response) or "<h1>" in text(response)
        for junk in JUNK:
            response = client.get(f"/community/boards/{COURSE}/similar/",
                                  {"title": junk, "lesson": junk})
            assert response.status_code < 500, junk
