"""Study groups: starting, finding (time zone and pace first), joining up to the size limit,
leaving; member names only for members; bad input is a 400 page with the reason.

"Find me a group": placement in the best open group, the waiting pool and the cohorts it
forms when the third person arrives, one waiting request per person, withdrawing. The group
board: members only, by every URL (board, thread, post)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from upskill.accounts import services as accounts
from upskill.accounts.models import User
from upskill.catalog.models import Role
from upskill.community import services
from upskill.community.models import (
    Board,
    Post,
    StudyGroup,
    StudyGroupMembership,
    StudyGroupRequest,
    Thread,
)
from upskill.core.errors import Conflict, Invalid, NotFound
from upskill.core.models import Job, Notification

pytestmark = pytest.mark.django_db


def start(user: User, name: str = "Evening SQL", **changes: Any) -> StudyGroup:
    fields: dict[str, Any] = {"name": name, "role_slug": "data-analyst",
                                 "timezone_name": "Europe/Berlin", "pace_hours_per_week": 3}
    fields.update(changes)
    return services.create_study_group(user, **fields)


def test_the_creator_is_the_first_member_and_slugs_stay_unique(
        course: Path, learner: User) -> None:
    first = start(learner)
    second = start(learner)
    assert (first.slug, second.slug) == ("evening-sql", "evening-sql-2")
    assert first.target_role is not None and first.target_role.slug == "data-analyst"
    view = services.study_group(learner, first.slug)
    assert view.is_member and view.members == ["Ada"] and view.member_count == 1


@pytest.mark.parametrize(("changes", "message"), [
    ({"name": "x"}, "3 to 120"),
    ({"timezone_name": "Mars/Olympus"}, "Unknown time zone"),
    ({"pace_hours_per_week": 0}, "1 to 40"),
    ({"pace_hours_per_week": 41}, "1 to 40"),
])
def test_bad_groups_are_refused(course: Path, learner: User, changes: dict[str, Any],
                                message: str) -> None:
    with pytest.raises(Invalid, match=message):
        start(learner, **changes)
    assert not StudyGroup.objects.exists()


def test_an_unknown_role_is_not_found(course: Path, learner: User) -> None:
    with pytest.raises(NotFound):
        start(learner, role_slug="astronaut")


def test_groups_in_ones_time_zone_and_pace_come_first(
        course: Path, learner: User, other_learner: User) -> None:
    accounts.update_profile(learner, learner, {"timezone": "Asia/Kolkata",
                                               "weekly_learning_minutes": 300})
    start(other_learner, "Berlin slow", pace_hours_per_week=1)
    start(other_learner, "Kolkata fast", timezone_name="Asia/Kolkata", pace_hours_per_week=20)
    start(other_learner, "Kolkata steady", timezone_name="Asia/Kolkata", pace_hours_per_week=5)
    names = [v.group.name for v in services.list_study_groups(learner)]
    assert names == ["Kolkata steady", "Kolkata fast", "Berlin slow"]
    assert [v.group.name for v in services.list_study_groups(learner, role_slug="nope")] == []


def test_members_only_see_names_and_a_full_group_takes_nobody_else(
        course: Path, learner: User, other_learner: User,
        make_user: Callable[..., User]) -> None:
    group = start(other_learner)
    outside = services.study_group(learner, group.slug)
    assert not outside.is_member and outside.members == []
    inside = services.join_study_group(learner, group.slug)
    assert inside.members == ["Grace", "Ada"]
    assert services.join_study_group(learner, group.slug).member_count == 2  # idempotent
    for n in range(services.GROUP_SIZE - 2):
        services.join_study_group(make_user(f"member{n}@example.test"), group.slug)
    with pytest.raises(Conflict, match="full"):
        services.join_study_group(make_user("late@example.test"), group.slug)
    assert services.leave_study_group(learner, group.slug).member_count == services.GROUP_SIZE - 1
    with pytest.raises(Conflict, match="not a member"):
        services.leave_study_group(learner, group.slug)
    with pytest.raises(NotFound):
        services.join_study_group(learner, "no-such-group")


def test_group_pages(course: Path, learner: User, other_learner: User,
                     client_for: Callable[[User], Client]) -> None:
    client = client_for(learner)
    page = client.get("/community/groups/")
    assert page.status_code == 200 and "Start the first one" in page.content.decode()
    bad = client.post("/community/groups/new/", {"name": "SQL", "timezone": "UTC",
                                                  "pace": "lots"})
    assert bad.status_code == 400 and "must be a whole number" in bad.content.decode()
    bad = client.post("/community/groups/new/", {"name": "SQL", "timezone": "Nowhere",
                                                  "pace": "2"})
    assert bad.status_code == 400 and "Unknown time zone" in bad.content.decode()
    made = client.post("/community/groups/new/", {"name": "Weekend SQL", "role": "",
                                                   "timezone": "UTC", "pace": "2"})
    assert made.status_code == 302 and made["Location"] == "/community/groups/weekend-sql/"
    other = client_for(other_learner)
    html = other.get("/community/groups/weekend-sql/").content.decode()
    assert "Join the group" in html and "Ada" not in html
    assert other.post("/community/groups/weekend-sql/join/").status_code == 302
    html = other.get("/community/groups/weekend-sql/").content.decode()
    assert "Ada" in html and "Leave the group" in html
    assert other.post("/community/groups/weekend-sql/leave/").status_code == 302
    assert not StudyGroupMembership.objects.filter(user=other_learner).exists()
    assert client.get("/community/groups/nope/").status_code == 404


# --------------------------------------------------------------------------- find me a group


def person(make_user: Callable[..., User], name: str, zone: str, minutes: int = 180) -> User:
    user = make_user(f"{name.lower()}@example.test", display_name=name)
    accounts.update_profile(user, user, {"timezone": zone, "weekly_learning_minutes": minutes})
    return user


def find(user: User, pace: int = 3, role: str = "data-analyst") -> services.Placement:
    return services.find_study_group(user, role_slug=role, pace_hours_per_week=pace)


def members_of(group: StudyGroup) -> set[str]:
    return {m.user.profile.display_name for m in group.memberships.select_related("user__profile")}


def test_the_third_arrival_forms_a_cohort_and_members_are_told(
        course: Path, make_user: Callable[..., User]) -> None:
    anna, bert = (person(make_user, n, "Europe/Berlin") for n in ("Anna", "Bert"))
    chiyo, emi = (person(make_user, n, "Asia/Tokyo") for n in ("Chiyo", "Emi"))
    for user in (anna, bert):
        placement = find(user)
        assert placement.group is None and not placement.formed
    waiting = services.group_search(anna).waiting
    assert waiting is not None and waiting.others_waiting == 1
    assert waiting.role_title == "Data analyst"
    last = find(chiyo, pace=5)
    assert last.formed and last.group is not None
    group = StudyGroup.objects.get()
    assert last.group == group and members_of(group) == {"Anna", "Bert", "Chiyo"}
    assert group.timezone == "Europe/Berlin"  # the most common zone
    assert group.pace_hours_per_week == 3  # the median of 3, 3, 5
    assert group.name == "Data analyst · Berlin cohort"
    assert group.slug == "data-analyst-berlin-cohort"
    assert group.target_role is not None and group.target_role.slug == "data-analyst"
    assert not StudyGroupRequest.objects.filter(status="waiting").exists()
    assert set(StudyGroupRequest.objects.values_list("group_id", flat=True)) == {group.pk}
    told = Notification.objects.filter(kind="community.group_formed")
    assert sorted(n.recipient.profile.display_name for n in told) == ["Anna", "Bert", "Chiyo"]
    assert {n.url for n in told} == {f"/community/groups/{group.slug}/"}
    assert services.group_search(anna).waiting is None
    # Emi in Tokyo does not fit the Berlin group (8 hours apart; 3 at most): she waits, and
    # is not put in the group that has free seats.
    assert find(emi).group is None and group.memberships.count() == 3


def waiting_in(user: User, pace: int = 3) -> StudyGroupRequest:
    """Someone already in the pool (as when several people arrive at the same moment)."""
    return StudyGroupRequest.objects.create(user=user, role=catalog_role(),
                                            pace_hours_per_week=pace)


def catalog_role() -> Role:
    return Role.objects.get(slug="data-analyst")


def test_a_larger_pool_is_split_by_zone_and_pace_into_groups_of_three_to_six(
        course: Path, make_user: Callable[..., User]) -> None:
    new_york = [person(make_user, f"Ny{i}", "America/New_York") for i in range(3)]
    kolkata = [person(make_user, f"Kol{i}", "Asia/Kolkata") for i in range(3)]
    for user in [*new_york, *kolkata[:2]]:
        waiting_in(user)
    assert find(kolkata[2]).formed
    groups = sorted(StudyGroup.objects.all(), key=lambda g: g.timezone)
    assert [g.timezone for g in groups] == ["America/New_York", "Asia/Kolkata"]
    assert [members_of(g) for g in groups] == [{"Ny0", "Ny1", "Ny2"}, {"Kol0", "Kol1", "Kol2"}]
    assert [g.name for g in groups] == ["Data analyst · New York cohort",
                                        "Data analyst · Kolkata cohort"]


def test_group_sizes_stay_between_three_and_six_and_slugs_unique(
        course: Path, make_user: Callable[..., User]) -> None:
    people = [person(make_user, f"Lis{i}", "Europe/Lisbon") for i in range(8)]
    for user in people[:7]:
        waiting_in(user, pace=2 + user.pk % 3)
    assert find(people[7]).formed
    sizes = sorted(g.memberships.count() for g in StudyGroup.objects.all())
    assert sum(sizes) == 8 and all(3 <= size <= 6 for size in sizes) and len(sizes) == 2
    assert len(set(StudyGroup.objects.values_list("slug", flat=True))) == 2


def test_a_newcomer_is_placed_at_once_in_the_best_open_group(
        course: Path, make_user: Callable[..., User]) -> None:
    for i in range(3):
        find(person(make_user, f"Ber{i}", "Europe/Berlin"), pace=4)
    for i in range(3):
        find(person(make_user, f"Lon{i}", "Europe/London"), pace=10)
    # Londoners are an hour from Berlin but 6 hours a week faster: they formed their own.
    assert StudyGroup.objects.count() == 2
    berlin_group = StudyGroup.objects.get(timezone="Europe/Berlin")
    newcomer = person(make_user, "Zoe", "Europe/Paris")
    placement = find(newcomer, pace=5)
    assert placement.group == berlin_group and not placement.formed
    assert placement.request.status == "placed" and placement.request.group == berlin_group
    assert "Zoe" in members_of(berlin_group)
    # 14 hours a week is more than 3 from both groups' pace (4 and 10): nothing fits.
    assert find(person(make_user, "Far", "Europe/Berlin"), pace=14).group is None
    assert StudyGroup.objects.count() == 2


def test_one_waiting_request_per_person_and_asking_again_is_idempotent(
        course: Path, learner: User) -> None:
    first = find(learner, pace=3)
    again = find(learner, pace=5)
    assert again.request.pk == first.request.pk and again.group is None
    assert StudyGroupRequest.objects.get().pace_hours_per_week == 5
    other = Role.objects.create(slug="ml-engineer", title="ML engineer")
    with pytest.raises(Conflict, match="already waiting"):
        find(learner, role=other.slug)
    assert StudyGroupRequest.objects.count() == 1
    # The table itself keeps one waiting request per person, whatever a caller does.
    with pytest.raises(IntegrityError), transaction.atomic():
        StudyGroupRequest.objects.create(user=learner, role=other, pace_hours_per_week=3)


def test_withdrawing_leaves_the_pool_and_nobody_is_grouped_with_a_leaver(
        course: Path, learner: User, make_user: Callable[..., User]) -> None:
    find(learner)
    services.withdraw_group_request(learner)
    assert services.group_search(learner).waiting is None
    with pytest.raises(Conflict, match="not waiting"):
        services.withdraw_group_request(learner)
    find(make_user("b@example.test"))
    find(make_user("c@example.test"))
    assert not StudyGroup.objects.exists()  # two waiting: the leaver does not count
    placement = find(learner)  # back in the pool: the third
    assert placement.formed and placement.group is not None
    assert placement.group.memberships.count() == 3


def test_someone_already_in_a_group_of_the_role_is_told_and_bad_input_refused(
        course: Path, learner: User, make_user: Callable[..., User]) -> None:
    with pytest.raises(Invalid, match="Choose the role"):
        find(learner, role="")
    with pytest.raises(Invalid, match="no role astronaut"):
        find(learner, role="astronaut")
    with pytest.raises(Invalid, match="1 to 40"):
        find(learner, pace=0)
    start(learner)
    with pytest.raises(Conflict, match="already in a study group"):
        find(learner)
    assert not StudyGroupRequest.objects.exists()


def test_find_pages(course: Path, learner: User, make_user: Callable[..., User],
                    client_for: Callable[[User], Client]) -> None:
    accounts.update_profile(learner, learner, {"weekly_learning_minutes": 300})
    client = client_for(learner)
    html = client.get("/community/groups/").content.decode()
    assert "Find me a group" in html and 'name="pace" min="1" max="40" required value="5"' in html
    bad = client.post("/community/groups/find/", {"role": "data-analyst", "pace": "many"})
    assert bad.status_code == 400 and "must be a whole number" in bad.content.decode()
    bad = client.post("/community/groups/find/", {"role": "nope", "pace": "3"})
    assert bad.status_code == 400 and "no role nope" in bad.content.decode()
    assert client.get("/community/groups/find/").status_code == 405
    made = client.post("/community/groups/find/", {"role": "data-analyst", "pace": "3"})
    assert made.status_code == 302 and made["Location"] == "/community/groups/"
    html = client.get("/community/groups/").content.decode()
    assert "You are waiting for a group (0 others waiting for Data analyst)." in html
    find(make_user("b@example.test"))
    assert "(1 other waiting for Data analyst)" in client.get("/community/groups/").text
    assert client.post("/community/groups/find/withdraw/").status_code == 302
    assert "You are waiting" not in client.get("/community/groups/").text
    assert client.post("/community/groups/find/withdraw/").status_code == 409
    assert client.post("/community/groups/find/").status_code == 400
    # A group named like a page under /community/groups/ gets a slug of its own.
    assert start(learner, "Find").slug == "find-group"


# --------------------------------------------------------------------------- the group board


@pytest.fixture
def group_with_thread(course: Path, learner: User, other_learner: User
                      ) -> tuple[StudyGroup, Thread, Post]:
    group = start(learner)
    services.join_study_group(other_learner, group.slug)
    board = services.open_group_board(learner, group.slug)
    thread = services.start_thread(learner, board, kind="discussion",
                                   title="Our first session plan", body="Tuesday at 19:00?")
    User.objects.filter(pk=other_learner.pk).update(date_joined=timezone.now() - timedelta(days=7))
    post = services.reply(other_learner, thread.pk, "Works for me, @Ada.")
    return group, thread, post


def jobs_for(thread: Thread) -> list[object]:
    return list(Job.objects.filter(dedupe_key__endswith=f":{thread.pk}",
                                   kind=services.ROUTE_JOB))


def test_members_read_and_post_on_their_group_board(
        group_with_thread: tuple[StudyGroup, Thread, Post], learner: User,
        other_learner: User) -> None:
    group, thread, _post = group_with_thread
    board = Board.objects.get(group=group)
    assert board.course_slug == "" and thread.board == board
    question = services.start_thread(learner, services.open_group_board(learner, group.slug),
                                     kind="question", title="Who has the slides from Tuesday?",
                                     body="I missed the session.")
    assert not jobs_for(question)  # a group's question is private: never sent to mentors
    course_question = services.start_thread(learner, services.open_board(learner, "sql-basics"),
                                            kind="question", title="Who explains GROUP BY well?",
                                            body="Any pointers?")
    assert len(jobs_for(course_question)) == 1  # while a course board's question is
    page = services.thread_page(other_learner, thread.pk)
    assert page.board.url == f"/community/groups/{group.slug}/"
    assert {s.thread.title for s in services.list_threads(
        learner, services.open_group_board(learner, group.slug))} == {
        "Who has the slides from Tuesday?", "Our first session plan"}
    # The course board does not list the group's threads.
    assert [s.thread.title for s in services.list_threads(
        learner, services.open_board(learner, "sql-basics"))] == ["Who explains GROUP BY well?"]
    assert Notification.objects.filter(recipient=learner, kind="community.reply").exists()


def test_a_non_member_cannot_read_or_post_on_a_group_board_by_any_url(
        group_with_thread: tuple[StudyGroup, Thread, Post], make_user: Callable[..., User],
        mentor: User, client_for: Callable[[User], Client]) -> None:
    group, thread, post = group_with_thread
    outsider = make_user("eve@example.test", display_name="Eve")
    for who in (outsider, mentor):
        with pytest.raises(NotFound):
            services.open_group_board(who, group.slug)
        with pytest.raises(NotFound):
            services.thread_page(who, thread.pk)
        with pytest.raises(NotFound):
            services.reply(who, thread.pk, "Let me in")
        with pytest.raises(NotFound):
            services.thread_of_post(who, post.pk)
        with pytest.raises(NotFound):
            services.vote(who, post.pk, 1)
        with pytest.raises(NotFound):
            services.flag_post(who, post.pk, "spam")
        client = client_for(who)
        html = client.get(f"/community/groups/{group.slug}/").content.decode()
        assert "Our first session plan" not in html and "Post to the group" not in html
        for method, url, data in [
            ("get", f"/community/threads/{thread.pk}/", {}),
            ("post", f"/community/threads/{thread.pk}/reply/", {"body": "Let me in"}),
            ("post", f"/community/groups/{group.slug}/discussions/",
             {"title": "An outsider's thread", "body": "Hello"}),
            ("post", f"/community/posts/{post.pk}/vote/", {"value": "1"}),
            ("post", f"/community/posts/{post.pk}/flag/", {"reason": "spam"}),
            ("post", f"/community/posts/{post.pk}/accept/", {}),
            ("get", f"/community/posts/{post.pk}/edit/", {}),
        ]:
            response = getattr(client, method)(url, data)
            assert response.status_code == 404, (who, url, response.status_code)
            assert "Our first session plan" not in response.content.decode()
    assert Post.objects.filter(thread__board__group=group).count() == 2
    assert Thread.objects.filter(board__group=group).count() == 1


def test_leaving_a_group_closes_its_board_and_mentions_reach_members_only(
        group_with_thread: tuple[StudyGroup, Thread, Post], learner: User,
        other_learner: User, make_user: Callable[..., User]) -> None:
    group, thread, _post = group_with_thread
    make_user("eve@example.test", display_name="Eve")
    User.objects.filter(pk=learner.pk).update(date_joined=timezone.now() - timedelta(days=7))
    Post.objects.update(created_at=timezone.now() - timedelta(hours=2))
    services.reply(learner, thread.pk, "Asking @Eve and @Grace too.")
    kinds = set(Notification.objects.filter(kind="community.mention")
                .values_list("recipient__profile__display_name", flat=True))
    assert kinds == {"Grace"}
    services.leave_study_group(other_learner, group.slug)
    with pytest.raises(NotFound):
        services.thread_page(other_learner, thread.pk)


def test_the_group_page_shows_the_board_to_members_and_posting_errors_are_4xx(
        course: Path, learner: User, client_for: Callable[[User], Client]) -> None:
    group = start(learner)
    User.objects.filter(pk=learner.pk).update(date_joined=timezone.now() - timedelta(days=7))
    client = client_for(learner)
    html = client.get(f"/community/groups/{group.slug}/").content.decode()
    assert "Group discussions" in html and "No discussions yet." in html
    bad = client.post(f"/community/groups/{group.slug}/discussions/",
                      {"title": "Hi", "body": "Hello"})
    assert bad.status_code == 400 and "at least 8 characters" in bad.content.decode()
    made = client.post(f"/community/groups/{group.slug}/discussions/",
                       {"title": "Our reading list", "body": "Start with chapter 2."})
    thread = Thread.objects.get(title="Our reading list")
    assert made.status_code == 302 and made["Location"] == f"/community/threads/{thread.pk}/"
    assert thread.kind == "discussion" and thread.board.group == group
    page = client.get(made["Location"]).content.decode()
    assert f'href="/community/groups/{group.slug}/"' in page and "Start with chapter 2." in page
    assert "Our reading list" in client.get(f"/community/groups/{group.slug}/").text
    assert client.post("/community/groups/nope/discussions/",
                       {"title": "Our reading list", "body": "x"}).status_code == 404
    # Deleting the opening post (no replies yet) goes back to the group, not a course board.
    opening = thread.posts.get(is_opening=True)
    gone = client.post(f"/community/posts/{opening.pk}/delete/")
    assert gone.status_code == 302 and gone["Location"] == f"/community/groups/{group.slug}/"
    assert not Thread.objects.filter(pk=thread.pk).exists()
