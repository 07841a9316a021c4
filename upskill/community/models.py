"""Community: discussion boards (threads, posts, votes, flags, moderation) and study groups.

A board belongs to a course, or to one lesson of a course, by *slug*: courses and lessons
are stored anew with every content release, but a conversation about "the WHERE lesson"
should survive a new release, so boards key on ``course_slug`` / ``lesson_slug`` (like
``learning.CoursePin``) instead of a foreign key to one release's row.

Post bodies are stored twice: the Markdown the author wrote and the sanitized HTML rendered
once, at save time, by ``core.markdown.render_markdown``; pages only ever show the HTML.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from upskill.catalog.models import Role


class Board(models.Model):
    """The discussion board of a course (``lesson_slug`` empty), of one of its lessons, or of a
    study group (``group`` set, no course): a group board is open to its members only."""

    course_slug = models.SlugField(max_length=80, blank=True)
    lesson_slug = models.SlugField(max_length=100, blank=True, default="")
    group = models.ForeignKey("StudyGroup", null=True, blank=True, on_delete=models.CASCADE,
                              related_name="boards", help_text="set: the group's own board")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["course_slug", "lesson_slug"],
                                    condition=models.Q(group__isnull=True),
                                    name="one_board_per_course_or_lesson"),
            models.UniqueConstraint(fields=["group"], condition=models.Q(group__isnull=False),
                                    name="one_board_per_study_group"),
            models.CheckConstraint(
                condition=models.Q(group__isnull=True) & ~models.Q(course_slug="")
                | models.Q(group__isnull=False, course_slug="", lesson_slug=""),
                name="board_of_a_course_or_a_group"),
        ]

    def __str__(self) -> str:
        if self.group_id is not None:
            return f"group {self.group_id}"
        return f"{self.course_slug}/{self.lesson_slug}" if self.lesson_slug else self.course_slug


class Thread(models.Model):
    class Kind(models.TextChoices):
        QUESTION = "question", _("Question")
        DISCUSSION = "discussion", _("Discussion")

    board = models.ForeignKey(Board, on_delete=models.CASCADE, related_name="threads")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                               related_name="community_threads")
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.QUESTION)
    title = models.CharField(max_length=160)
    search_text = models.TextField(
        blank=True, help_text="normalized words of the title and opening post, for similar "
        "threads (space-separated, with a leading and trailing space)")
    created_at = models.DateTimeField(default=timezone.now)
    last_activity_at = models.DateTimeField(default=timezone.now)
    locked_at = models.DateTimeField(null=True, blank=True)
    accepted_answer = models.ForeignKey("Post", null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+")
    routed_to_mentors_at = models.DateTimeField(
        null=True, blank=True, help_text="when the unanswered question was sent to mentors")

    class Meta:
        ordering = ["-last_activity_at", "-pk"]
        indexes = [models.Index(fields=["board", "-last_activity_at"])]

    def __str__(self) -> str:
        return self.title

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None


class Post(models.Model):
    """The opening post of a thread or a reply to it."""

    class Badge(models.TextChoices):
        NONE = "", _("Learner")
        MENTOR = "mentor", _("Mentor")
        STAFF = "staff", _("Staff")

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="posts")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                               related_name="community_posts")
    is_opening = models.BooleanField(default=False)
    body_markdown = models.TextField()
    body_html = models.TextField(help_text="sanitized at save time; the only form shown")
    author_badge = models.CharField(
        max_length=10, choices=Badge.choices, blank=True, default=Badge.NONE,
        help_text="the author's platform role when they posted: a marker on the post")
    score = models.IntegerField(default=0, help_text="up votes minus down votes")
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["author", "-created_at"])]

    def __str__(self) -> str:
        return f"post {self.pk} in thread {self.thread_id}"

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None


class Vote(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="community_votes")
    value = models.SmallIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["post", "user"], name="one_vote_per_person_and_post"),
            models.CheckConstraint(condition=models.Q(value__in=[-1, 1]),
                                   name="vote_is_up_or_down"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.value:+d} on post {self.post_id}"


class Flag(models.Model):
    """A learner's report that a post breaks the rules, until a moderator resolves it."""

    class Reason(models.TextChoices):
        SPAM = "spam", _("Spam or advertising")
        ABUSE = "abuse", _("Rude or abusive")
        OFF_TOPIC = "off_topic", _("Off topic")
        OTHER = "other", _("Something else")

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="flags")
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                 related_name="community_flags")
    reason = models.CharField(max_length=12, choices=Reason.choices)
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["post", "reporter"],
                                    name="one_flag_per_person_and_post"),
        ]
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"flag {self.reason} on post {self.post_id}"


class Suspension(models.Model):
    """A person may not post on the boards until ``until`` (or until a moderator lifts it)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="community_suspensions")
    until = models.DateTimeField()
    reason = models.CharField(max_length=300)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    lifted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "until"])]

    def __str__(self) -> str:
        return f"{self.user_id} suspended until {self.until:%Y-%m-%d %H:%M}"


class ModerationAction(models.Model):
    """The audit record: who did what to which post, thread or person, and why."""

    class Action(models.TextChoices):
        HIDE = "hide", _("Hid a post")
        UNHIDE = "unhide", _("Showed a hidden post again")
        LOCK = "lock", _("Locked a thread")
        UNLOCK = "unlock", _("Unlocked a thread")
        SUSPEND = "suspend", _("Suspended a person from posting")
        LIFT = "lift", _("Lifted a suspension")
        DISMISS_FLAGS = "dismiss_flags", _("Dismissed the flags on a post")

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                              related_name="+")
    action = models.CharField(max_length=16, choices=Action.choices)
    post = models.ForeignKey(Post, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    thread = models.ForeignKey(Thread, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    target_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_id} at {self.created_at:%Y-%m-%d %H:%M}"


class StudyGroup(models.Model):
    """A small group of learners working towards the same role at the same pace."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=80, unique=True)
    target_role = models.ForeignKey(Role, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="study_groups")
    # created_at comes first: below it, ``timezone`` names the field, not the module.
    created_at = models.DateTimeField(default=timezone.now)
    timezone = models.CharField(max_length=64, default="UTC")
    pace_hours_per_week = models.PositiveSmallIntegerField(default=3)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="StudyGroupMembership",
                                     related_name="study_groups")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class StudyGroupMembership(models.Model):
    group = models.ForeignKey(StudyGroup, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="study_group_memberships")
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "user"], name="one_membership_per_group"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.group_id}"


class StudyGroupRequest(models.Model):
    """A learner's "find me a group" for a target role: waiting in the role's pool until a
    group is found (placed) or they withdraw. One waiting request per person."""

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        PLACED = "placed", _("Placed in a group")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="study_group_requests")
    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="study_group_requests")
    pace_hours_per_week = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    group = models.ForeignKey(StudyGroup, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="requests", help_text="where the person was placed")
    closed_at = models.DateTimeField(null=True, blank=True, help_text="placed or withdrawn")

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["user"], condition=models.Q(status="waiting"),
                                    name="one_waiting_group_request_per_person"),
        ]
        indexes = [models.Index(fields=["role", "status"])]

    def __str__(self) -> str:
        return f"{self.user_id} for {self.role_id} ({self.status})"


from upskill.community.review_content_models import *  # noqa: E402, F403
from upskill.community.review_models import *  # noqa: E402, F403
