"""Create the demo people and organization, and the demo activity of the community apps
(idempotent), then print how to log in.

Everything goes through each app's services, as a person would: the mentor's profile, a live
session next week, a peer-review round from the starter package, a question with a mentor's
answer on a lesson board, and a study group. The parts that need content (skills, courses,
the peer-review template) are skipped with a note when ``manage.py content import content``
has not run; ``make run`` imports content first.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from upskill.accounts import services
from upskill.accounts.models import Organization, User
from upskill.catalog import services as catalog
from upskill.catalog.models import Role
from upskill.community import services as community
from upskill.core.errors import NotFound
from upskill.mentoring import services as mentoring

DEMO_PEOPLE = [
    # email, display name, password, platform roles
    ("learner@demo.upskill.test", "Dana Learner", "demo-learner-2026", []),
    ("mentor@demo.upskill.test", "Maya Mentor", "demo-mentor-2026", ["mentor"]),
    ("author@demo.upskill.test", "Arjun Author", "demo-author-2026", ["author"]),
    ("staff@demo.upskill.test", "Sam Staff", "demo-staff-2026", ["staff"]),
]
LEARNER, MENTOR, AUTHOR, STAFF = (person[0] for person in DEMO_PEOPLE)

DEMO_ROLE = "data-analyst"
DEMO_ZONE = "Europe/Madrid"
MENTOR_AVAILABILITY = "Tue 18:00-20:00\nThu 18:00-20:00\nSat 10:00-12:00"
LIVE_TITLE = "Office hours: your first SQL questions, answered live"
REVIEW_TEMPLATE = "churn-threshold-memo"
REVIEW_ROUND = "demo-churn-threshold-memo"
QUESTION_TITLE = "Is it normal that the AI assistant gives a different answer each time?"
QUESTION_BODY = (
    "I asked the same question twice in this lesson's exercise and got two different "
    "answers. Did I do something wrong, or is that how these tools work? How do I decide "
    "which answer to trust?")
MENTOR_ANSWER = (
    "Nothing is wrong: these models sample each word, so the same prompt can give different "
    "answers. Treat every answer as a draft. Check the facts that matter against a source "
    "you trust, and when you need repeatable output, say exactly what format you want and "
    "keep the prompt the same. A good habit: ask it to show its reasoning, then verify that "
    "reasoning yourself.")
GROUP_NAME = "Evening data analysts"


class Command(BaseCommand):
    help = ("Load demo people, a demo organization and demo community activity, then print "
            "the demo logins.")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("Refusing to load demo accounts with known passwords in production.")
        with transaction.atomic():
            people = {email: self._person(email, name, password, roles)
                      for email, name, password, roles in DEMO_PEOPLE}
            self._organization(people)
        now = timezone.now()
        role = self._role()
        parts: list[Callable[[dict[str, User], Role | None, datetime], None]] = [
            self._mentor_profile, self._live_session, self._peer_review_round,
            self._lesson_question, self._study_group]
        for part in parts:
            with transaction.atomic():
                part(people, role, now)
        self.stdout.write("Demo logins (email / password):")
        for email, name, password, roles in DEMO_PEOPLE:
            label = ", ".join(["learner", *roles])
            self.stdout.write(f"  {email:32} {password:20} {name} ({label})")

    def _note(self, text: str) -> None:
        self.stdout.write(f"Demo: {text}")

    def _skipped(self, what: str, why: str) -> None:
        self._note(f"skipped {what}: {why} (run `manage.py content import content` first).")

    def _person(self, email: str, name: str, password: str, roles: list[str]) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = services.sign_up(email=email, password=password, display_name=name)
        else:
            user.set_password(password)
            user.save(update_fields=["password"])
        for role in roles:
            services.grant_role(None, user, role)
        if "staff" in roles and not user.is_superuser:
            user.is_superuser = True
            user.save(update_fields=["is_superuser"])
        return user

    def _organization(self, people: dict[str, User]) -> None:
        if Organization.objects.filter(slug="northwind-analytics").exists():
            return
        manager = people[MENTOR]
        org = services.create_organization(manager, name="Northwind Analytics", kind="company")
        if org.slug != "northwind-analytics":
            org.slug = "northwind-analytics"
            org.save(update_fields=["slug"])
        services.add_member(manager, org, email=LEARNER, role="member")

    def _role(self) -> Role | None:
        try:
            return catalog.get_role(DEMO_ROLE)
        except NotFound:
            return None

    # --- mentoring ---------------------------------------------------------------------------

    def _mentor_profile(self, people: dict[str, User], role: Role | None, now: datetime) -> None:
        if role is None:
            self._skipped("the mentor profile", f"there is no role {DEMO_ROLE!r}")
            return
        mentor = people[MENTOR]
        mentoring.save_mentor_profile(
            mentor,
            bio=("Analyst for eight years in retail finance, now leading a small BI team. "
                 "Happy to help with SQL, dashboards and explaining numbers to managers."),
            skill_slugs=[required.skill.slug for required in role.required_skills.all()],
            industries=["retail", "finance"], languages=["en", "es"],
            timezone_name=DEMO_ZONE, availability=MENTOR_AVAILABILITY, capacity=3,
            changed_careers=True, accepting=True)
        self._note("the mentor has a mentor profile.")

    def _live_session(self, people: dict[str, User], role: Role | None, now: datetime) -> None:
        author = people[AUTHOR]
        if any(view.live.host_id == author.pk and view.live.title == LIVE_TITLE
               for view in mentoring.list_live_sessions(author, now=now)):
            return
        # Next week, 17:00 UTC on the same weekday: inside the booking window whenever run.
        start = datetime.combine((now + timedelta(days=7)).date(), datetime.min.time(),
                                 tzinfo=UTC) + timedelta(hours=17)
        mentoring.schedule_live_session(
            author, title=LIVE_TITLE,
            description=("Bring the SQL question you are stuck on. We solve a few together "
                         "and show how to check an AI assistant's query before you trust it."),
            start=start, minutes=60, capacity=30, join_url="https://meet.jit.si/upskill-demo",
            now=now)
        self._note("the author hosts a live session next week.")

    # --- community ---------------------------------------------------------------------------

    def _peer_review_round(self, people: dict[str, User], role: Role | None, now: datetime) -> None:
        try:
            community.get_activity(REVIEW_ROUND)
            return
        except NotFound:
            pass
        try:
            community.open_round(people[STAFF], REVIEW_TEMPLATE,
                                 deadline=now + timedelta(days=14), slug=REVIEW_ROUND)
        except NotFound:
            self._skipped("the peer-review round", f"the assignment {REVIEW_TEMPLATE!r} is "
                                                   "not imported")
            return
        self._note("staff opened a peer-review round due in two weeks.")

    def _first_lesson(self, role: Role | None) -> tuple[str, str] | None:
        if role is None or role.program is None:
            return None
        courses = catalog.program_courses(role.program)
        if not courses:
            return None
        course = courses[0][0]
        for module in catalog.course_outline(course):
            for lesson in module.lessons.all():
                return course.slug, lesson.slug
        return None

    def _lesson_question(self, people: dict[str, User], role: Role | None, now: datetime) -> None:
        where = self._first_lesson(role)
        if where is None:
            self._skipped("the lesson question", f"the {DEMO_ROLE!r} program has no course")
            return
        learner, mentor = people[LEARNER], people[MENTOR]
        board = community.open_board(learner, *where)
        if any(summary.thread.title == QUESTION_TITLE
               for summary in community.list_threads(learner, board)):
            return
        thread = community.start_thread(learner, board, kind="question", title=QUESTION_TITLE,
                                        body=QUESTION_BODY)
        community.reply(mentor, thread.pk, MENTOR_ANSWER)
        self._note(f"the learner asked on the board of {where[0]}/{where[1]} and the mentor "
                   "answered.")

    def _study_group(self, people: dict[str, User], role: Role | None, now: datetime) -> None:
        learner = people[LEARNER]
        if any(view.group.name == GROUP_NAME and view.is_member
               for view in community.list_study_groups(learner)):
            return
        community.create_study_group(learner, name=GROUP_NAME,
                                     role_slug=DEMO_ROLE if role is not None else "",
                                     timezone_name=DEMO_ZONE, pace_hours_per_week=4)
        self._note("the learner started a study group.")
