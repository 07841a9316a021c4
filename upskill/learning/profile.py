"""The skill profile: where a learner stands on each skill of a target role, and the gap.

Evidence comes from two places. The diagnostic (assessment) measures an ability with a
standard error per skill; knowledge tracing (``mastery.py``) turns every practice answer into
a mastery probability. A skill is *ready* when its mastery probability reaches the threshold:
from practice, BKT's conventional 0.95; from the diagnostic alone, 0.8 that the ability is at
or above the role's target level (a 20-30 question test cannot be 95% sure of 15 skills; a
learner who is wrongly judged ready is still offered the lessons through "test out" and
the path's re-planning as practice evidence arrives).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext as _

from upskill.accounts.models import User
from upskill.assessment import services as assessment
from upskill.assessment import services as levels
from upskill.catalog import services as catalog
from upskill.catalog.models import Role, Skill
from upskill.learning import mastery as knowledge
from upskill.learning.models import Enrollment

__all__ = ["DIAGNOSTIC_READY_AT", "SkillProfile", "SkillRow", "profile_role", "skill_profile"]

DIAGNOSTIC_READY_AT = 0.8
# The chart's ability axis: the calibration scale clipped to where almost everyone lies.
AXIS_MIN, AXIS_MAX = -3.0, 3.0
# An interval of ±1.28 SE covers 80% of the posterior: the "likely range" on the chart.
RANGE_Z = 1.2816

LEVEL_NAMES = {1: "aware", 2: "with help", 3: "independent", 4: "expert"}


def _percent(theta: float) -> float:
    clipped = min(max(theta, AXIS_MIN), AXIS_MAX)
    return round(100.0 * (clipped - AXIS_MIN) / (AXIS_MAX - AXIS_MIN), 2)


@dataclass(frozen=True)
class SkillRow:
    skill: Skill
    category_name: str
    target_level: int
    theta: float | None
    standard_error: float | None
    n_items: int
    mastery: float
    source: str  # "practice", "diagnostic" or "none"
    status: str  # "ready", "gap" or "unmeasured"

    @property
    def low(self) -> float | None:
        if self.theta is None or self.standard_error is None:
            return None
        return self.theta - RANGE_Z * self.standard_error

    @property
    def high(self) -> float | None:
        if self.theta is None or self.standard_error is None:
            return None
        return self.theta + RANGE_Z * self.standard_error

    @property
    def level(self) -> int | None:
        return None if self.theta is None else levels.level_of(self.theta)

    @property
    def level_name(self) -> str:
        return _(LEVEL_NAMES.get(self.level or 0, "not yet aware"))

    @property
    def target_name(self) -> str:
        return _(LEVEL_NAMES[self.target_level])

    @property
    def mastery_percent(self) -> int:
        return round(100 * self.mastery)

    @property
    def uncertain(self) -> bool:
        return self.standard_error is not None and self.standard_error > 0.6

    # Chart coordinates (percent of the axis width).
    @property
    def x_theta(self) -> float | None:
        return None if self.theta is None else _percent(self.theta)

    @property
    def x_low(self) -> float | None:
        low = self.low
        return None if low is None else _percent(low)

    @property
    def x_high(self) -> float | None:
        high = self.high
        return None if high is None else _percent(high)

    @property
    def x_target(self) -> float:
        return _percent(levels.TARGET_THETA[self.target_level])


@dataclass(frozen=True)
class SkillProfile:
    role: Role
    rows: list[SkillRow]
    measured_at: datetime | None
    attempt_id: int | None

    @property
    def ready(self) -> list[SkillRow]:
        return [row for row in self.rows if row.status == "ready"]

    @property
    def gaps(self) -> list[SkillRow]:
        """Skills below target, the biggest shortfall (lowest mastery) first."""
        return sorted((row for row in self.rows if row.status == "gap"),
                      key=lambda row: (row.mastery, row.skill.slug))

    @property
    def unmeasured(self) -> list[SkillRow]:
        return [row for row in self.rows if row.status == "unmeasured"]

    @property
    def unsure(self) -> list[SkillRow]:
        return [row for row in self.rows if row.source == "diagnostic" and row.uncertain]

    @property
    def sentences(self) -> list[str]:
        out: list[str] = []
        if self.ready:
            out.append(_("You are ready for %(skills)s.")
                       % {"skills": _join([row.skill.name for row in self.ready])})
        if self.gaps:
            out.append(_("You need %(skills)s.")
                       % {"skills": _join([row.skill.name for row in self.gaps])})
        if not self.gaps and self.ready and not self.unmeasured:
            out.append(_("You meet every skill target of this role."))
        if self.unmeasured:
            out.append(_("Not measured yet: %(skills)s.")
                       % {"skills": _join([row.skill.name for row in self.unmeasured])})
        if self.unsure:
            out.append(_("We are less sure about %(skills)s; your practice answers in the "
                         "lessons will sharpen the picture.")
                       % {"skills": _join([row.skill.name for row in self.unsure])})
        return out

    @property
    def chart_height(self) -> int:
        return 40 + 44 * len(self.rows)

    @property
    def axis_ticks(self) -> list[tuple[float, str]]:
        """(x, label) of each role level's line; the label is the level number (the caption
        names them), so the ticks never collide on a phone."""
        return [(_percent(theta), str(level)) for level, theta in levels.TARGET_THETA.items()]


def _join(names: Sequence[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return _("%(first)s and %(last)s") % {"first": ", ".join(names[:-1]), "last": names[-1]}


def profile_role(user: User, role_slug: str | None = None) -> Role | None:
    """The role to show: the one asked for, else the last diagnostic's, else the newest
    enrolment's program role."""
    if role_slug:
        return catalog.get_role(role_slug)
    latest = assessment.latest_finished_attempt(user)
    if latest is not None:
        return latest.role
    enrollment = (Enrollment.objects.filter(user=user).select_related("program__role")
                  .order_by("-enrolled_at").first())
    return enrollment.program.role if enrollment is not None else None


def skill_profile(user: User, role: Role) -> SkillProfile:
    """Per skill of the role: estimate, uncertainty, mastery probability, status."""
    required = list(role.required_skills.select_related("skill").order_by("skill__slug"))
    skill_ids = [rs.skill_id for rs in required]
    estimates = assessment.estimates_for(user, skill_ids)
    practice = knowledge.mastery_for(user, skill_ids)
    category_names = dict(Skill.Category.choices)
    rows: list[SkillRow] = []
    for rs in required:
        estimate = estimates.get(rs.skill_id)
        traced = practice.get(rs.skill_id)
        if traced is not None and traced.source == "practice":
            p, source, ready = traced.p, "practice", traced.p >= knowledge.MASTERED_AT
        elif estimate is not None:
            p = levels.mastery_probability(estimate.theta, estimate.standard_error, rs.level)
            source, ready = "diagnostic", p >= DIAGNOSTIC_READY_AT
        else:
            p, source, ready = 0.0, "none", False
        rows.append(SkillRow(
            skill=rs.skill,
            category_name=str(category_names.get(rs.skill.category, rs.skill.category)),
            target_level=rs.level,
            theta=estimate.theta if estimate else None,
            standard_error=estimate.standard_error if estimate else None,
            n_items=estimate.n_items if estimate else 0,
            mastery=p,
            source=source,
            status="ready" if ready else ("unmeasured" if source == "none" else "gap"),
        ))
    times = [e.measured_at for e in estimates.values()]
    latest = assessment.latest_finished_attempt(user, role.slug)
    return SkillProfile(role=role, rows=rows, measured_at=max(times) if times else None,
                        attempt_id=latest.pk if latest else None)
