"""Public operations of labs: browse labs, submit code, follow grading, compare on leaderboards.

Every function that acts for a learner takes that learner and touches only their own
submissions; another learner's submission is ``NotFound`` (its existence is not revealed).

Grading is the durable job :data:`GRADE_JOB` (handler and record step in ``tasks.py``): the
run step (:func:`grade_submission`) only reads the submission and runs the sandbox
(:mod:`upskill.labs.grader`); the record step (:func:`record_grading`) stores the outcome and
the skill evidence once, in the job's completion transaction, so a job that runs twice (a
worker died mid-run) records one result.

What counts toward the daily limit (:attr:`Lab.daily_limit`, per learner and lab, per UTC day):
every submission that was sent to grading, except those that could not be graded through our
fault (status ``error``, or a grading job that gave up). A submission refused before running
(a syntax error, a missing entry point) is stored as ``failed`` so it shows in the history,
and does not count. Invalid input (empty, too large, not UTF-8, a broken notebook) is refused
with ``Invalid`` before anything is stored.

Scores: the public part of the holdout is scored and shown at once; the private part is scored
at the same time but shown (with the final ranking) only from the lab's
``private_visible_after`` on. Whether a scored check passed uses the public score.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any, Final

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from upskill import sandbox
from upskill.accounts.models import User
from upskill.catalog.models import Release, Skill
from upskill.catalog.services import Package
from upskill.core import jobs
from upskill.core.errors import Invalid, NotFound, Throttled
from upskill.core.markdown import render_markdown
from upskill.core.models import Job
from upskill.labs import grader, grading
from upskill.labs.models import Lab, LabPreference, Submission
from upskill.learning import services as learning

__all__ = [
    "GRADE_JOB",
    "MAX_CODE_BYTES",
    "MAX_NOTEBOOK_BYTES",
    "MAX_REFUSED_PER_DAY",
    "Leaderboard",
    "LeaderboardEntry",
    "LimitReached",
    "PortfolioItem",
    "SubmissionView",
    "check_size",
    "get_lab",
    "grade_submission",
    "history",
    "lab_slugs",
    "leaderboard",
    "leaderboard_preference",
    "list_labs",
    "passed_labs",
    "portfolio_items",
    "primary_metric",
    "private_visible",
    "read_submission",
    "record_grading",
    "sandbox_mode",
    "set_leaderboard_preference",
    "starter_file",
    "submission_status",
    "submissions_left_today",
    "submit",
    "training_data",
    "write_labs",
]

GRADE_JOB: Final = "labs.grade_submission"
MAX_CODE_BYTES: Final = grading.MAX_CODE_BYTES
# Notebooks carry outputs and images besides their code; 10 MB is generous for a lab's.
MAX_NOTEBOOK_BYTES: Final = 10_000_000
PUBLIC_NAME_MAX: Final = 60
# Submissions refused before running (syntax errors) do not count toward the daily limit, but
# are stored for the history: this caps how many a learner can store per lab and day.
MAX_REFUSED_PER_DAY: Final = 50
ANONYMOUS: Final = "Anonymous learner"


class LimitReached(Throttled):
    """The learner has used today's submissions for this lab (HTTP 429)."""


# --------------------------------------------------------------------------- browsing


def list_labs() -> list[Lab]:
    """The labs of every package's current release, by title."""
    return list(Lab.objects.filter(release__is_current=True).prefetch_related("skills"))


def lab_slugs() -> set[str]:
    return set(Lab.objects.values_list("slug", flat=True))


def passed_labs(user: User, slugs: Iterable[str]) -> set[str]:
    """Which of the labs ``slugs`` the learner has passed (a graded submission whose scored
    checks all passed). One query."""
    return set(Submission.objects.filter(user=user, lab__slug__in=list(slugs), passed=True,
                                         status=Submission.Status.GRADED)
               .values_list("lab__slug", flat=True).distinct())


def get_lab(slug: str) -> Lab:
    """The current release's lab ``slug``; ``NotFound`` if there is none."""
    lab = (Lab.objects.filter(slug=slug, release__is_current=True)
           .select_related("release__package").prefetch_related("skills").first())
    if lab is None:
        raise NotFound(_("There is no lab %s.") % slug)
    return lab


def primary_metric(lab: Lab) -> grading.Metric:
    """The metric of the lab's first scored check: the one leaderboards rank by."""
    return grading.LabRules.from_spec(lab.spec).scored[0].metric


def private_visible(lab: Lab, now: datetime | None = None) -> bool:
    """Whether private scores and the final ranking of ``lab`` may be shown now."""
    moment = now or timezone.now()
    return lab.private_visible_after is not None and moment >= lab.private_visible_after


def starter_file(slug: str, kind: str) -> tuple[str, str]:
    """(file name, text) of the lab's starter template: ``kind`` is ``py`` or ``ipynb``."""
    lab = get_lab(slug)
    if kind == "py":
        return f"{lab.slug}.py", lab.starter_py
    if kind == "ipynb":
        return f"{lab.slug}.ipynb", lab.starter_ipynb
    raise Invalid(_("The starter comes as py or ipynb."))


def _data_root() -> Path:
    return Path(getattr(settings, "LABS_DATA_DIR", settings.VAR_DIR / "labs" / "data"))


def _scratch_root() -> Path:
    return Path(getattr(settings, "LABS_SCRATCH_DIR", settings.VAR_DIR / "labs" / "scratch"))


def training_data(slug: str) -> tuple[str, Path]:
    """(download name, path) of the data the learner works with: the training file (features
    and target) or, for a forecast, the history. Prepared on first use, which can take a few
    seconds. Never the holdout labels."""
    lab = get_lab(slug)
    prepared = grader.prepare_data(lab.spec, _data_root())
    name = "history.csv" if lab.kind == Lab.Kind.FORECAST else "train.csv"
    return f"{lab.slug}-{name}", prepared.public_dir / name


# --------------------------------------------------------------------------- importing


def write_labs(release: Release, package: Package) -> None:
    """Import a package's labs (registered as a catalog package writer): one :class:`Lab` per
    ``labs/<slug>/`` folder, belonging to ``release``. The reference and baseline solutions
    stay in the package: they are never stored or served."""
    if not package.labs:
        return
    slugs = {entry.skill for doc in package.labs.values() for entry in doc.spec.rubric}
    skills = {s.slug: s for s in Skill.objects.filter(slug__in=slugs)}
    for slug, doc in package.labs.items():
        spec = doc.spec
        # Checked by the package reader already; extracting proves the grader reads it too.
        grading.extract_notebook_code(doc.files["starter.ipynb"].encode())
        visible_after = spec.private_visible_after
        lab = Lab.objects.create(
            release=release, slug=slug, title=spec.title, summary=spec.summary, kind=spec.kind,
            minutes=spec.minutes, brief_markdown=doc.brief, brief_html=render_markdown(doc.brief),
            hints_html=[render_markdown(hint) for hint in spec.hints],
            dataset_title=spec.dataset.title, licence=spec.dataset.licence,
            source_url=spec.dataset.source_url, citation=spec.dataset.citation,
            starter_py=doc.files["starter.py"], starter_ipynb=doc.files["starter.ipynb"],
            daily_limit=spec.daily_limit,
            private_visible_after=(datetime.combine(visible_after, time.min, tzinfo=UTC)
                                   if visible_after else None),
            spec=spec.model_dump(mode="json"))
        lab.skills.set([skills[entry.skill] for entry in spec.rubric])


# --------------------------------------------------------------------------- submitting


def _size(n_bytes: int) -> str:
    if n_bytes >= 1_000_000:
        return f"{n_bytes / 1_000_000:.1f} MB"
    return f"{n_bytes / 1000:.0f} KB"


def _what(source_kind: str) -> str:
    return {"editor": _("Your code"), "py": _("The file"), "ipynb": _("The notebook")}[
        source_kind]


def check_size(n_bytes: int, source_kind: str) -> None:
    """Refuse (``Invalid``) a submission of ``n_bytes`` over its kind's limit: 200 KB of code,
    10 MB for a notebook. Pages and the API call it before reading an upload."""
    if source_kind not in Submission.Source.values:
        raise Invalid(_("Send code from the editor, a .py file or a .ipynb notebook."))
    limit = MAX_NOTEBOOK_BYTES if source_kind == Submission.Source.IPYNB else MAX_CODE_BYTES
    if n_bytes > limit:
        raise Invalid(_("%(what)s is %(size)s; the limit is %(limit)s.")
                      % {"what": _what(source_kind), "size": _size(n_bytes),
                         "limit": _size(limit)})


def read_submission(content: str | bytes, source_kind: str) -> str:
    """The Python code in what the learner sent: text from the editor, or the bytes of an
    uploaded ``.py`` or ``.ipynb`` (whose code cells are extracted). Raises ``Invalid`` with
    a sentence for the learner for an empty, oversized, non-UTF-8 or unreadable upload."""
    data = content.encode("utf-8", errors="surrogatepass") if isinstance(content, str) \
        else content
    check_size(len(data), source_kind)
    what = _what(source_kind)
    if not data.strip():
        raise Invalid(_("%s is empty: there is no code to grade.") % what)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise Invalid(_("%(what)s is not UTF-8 text (byte 0x%(byte)02x at position "
                        "%(position)d); save it as UTF-8 and upload it again.")
                      % {"what": what, "byte": data[error.start], "position": error.start + 1}
                      ) from error
    text = text.removeprefix("\ufeff")
    if source_kind == Submission.Source.IPYNB:
        try:
            text = grading.extract_notebook_code(text.encode("utf-8"))
        except grading.NotebookError as error:
            raise Invalid(_("The notebook cannot be read: %s.") % error) from error
        if len(text.encode("utf-8")) > MAX_CODE_BYTES:
            raise Invalid(_("The notebook's code is %(size)s; the limit is %(limit)s.")
                          % {"size": _size(len(text.encode())), "limit": _size(MAX_CODE_BYTES)})
    if not text.strip() or not _has_code(text):
        raise Invalid(_("%s has no code to grade (only comments or blank lines).") % what)
    return text


def _has_code(text: str) -> bool:
    return any(line.strip() and not line.strip().startswith("#") for line in text.splitlines())


def _utc_day_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _counted_today(user: User, lab: Lab, now: datetime) -> int:
    return (Submission.objects
            .filter(user=user, lab__slug=lab.slug, created_at__gte=_utc_day_start(now),
                    counts_toward_limit=True)
            .exclude(status=Submission.Status.ERROR)
            .exclude(job__state=Job.State.FAILED)
            .count())


def _refused_today(user: User, lab: Lab, now: datetime) -> int:
    return Submission.objects.filter(user=user, lab__slug=lab.slug, job__isnull=True,
                                     created_at__gte=_utc_day_start(now)).count()


def submissions_left_today(user: User, slug: str) -> int:
    """How many more submissions ``user`` may send to lab ``slug`` today (UTC)."""
    lab = get_lab(slug)
    return max(0, lab.daily_limit - _counted_today(user, lab, timezone.now()))


def _refuse_before_running(code: str, lab: Lab) -> str | None:
    problem = grading.syntax_problem(code)
    if problem is not None:
        return problem.describe() + _(". Fix it and submit again; this one does not count "
                                      "toward your daily limit.")
    missing = grading.missing_entry_points(code, grading.ENTRY_POINTS[lab.kind])
    if missing:
        return (_("Your code does not define %s: keep the function names of the starter "
                  "template. This submission does not count toward your daily limit.")
                % ", ".join(f"{name}()" for name in missing))
    return None


def submit(user: User, lab_slug: str, content: str | bytes, source_kind: str) -> Submission:
    """Submit code to the current release of lab ``lab_slug`` and queue its grading.

    Validates first (``Invalid``, nothing stored). Code that does not compile or lacks an
    entry point is stored at once as ``failed`` with the reason and is not run. Otherwise
    checks the daily limit (``LimitReached``) with the learner's row locked, so two
    submissions at once cannot both take the last slot, stores the submission and enqueues
    one grading job (deduplicated per submission), woken after commit."""
    lab = get_lab(lab_slug)
    code = read_submission(content, source_kind)
    refusal = _refuse_before_running(code, lab)
    now = timezone.now()
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()
        if refusal is not None:
            if _refused_today(user, lab, now) >= MAX_REFUSED_PER_DAY:
                raise LimitReached(_("You have sent %d submissions to this lab today that "
                                     "could not run. Check your code locally (python -m "
                                     "py_compile) before submitting again.")
                                   % MAX_REFUSED_PER_DAY)
            return Submission.objects.create(
                user=user, lab=lab, code=code, source_kind=source_kind,
                status=Submission.Status.FAILED, counts_toward_limit=False, graded_at=now,
                feedback={"checks": _refused_checks(refusal), "public": [], "passed_checks": []})
        used = _counted_today(user, lab, now)
        if used >= lab.daily_limit:
            reset = _utc_day_start(now) + timedelta(days=1)
            minutes = max(1, int((reset - now).total_seconds() // 60))
            raise LimitReached(
                _("You have used all %(limit)d submissions to this lab for today. The count "
                  "starts again at midnight UTC, in %(hours)d h %(minutes)02d min.")
                % {"limit": lab.daily_limit, "hours": minutes // 60, "minutes": minutes % 60})
        submission = Submission.objects.create(user=user, lab=lab, code=code,
                                               source_kind=source_kind)
        submission.job = jobs.enqueue(GRADE_JOB, {"submission_id": submission.pk},
                                      dedupe_key=f"{GRADE_JOB}:{submission.pk}")
        submission.save(update_fields=["job"])
    return submission


def _refused_checks(reason: str) -> list[dict[str, Any]]:
    checks = [grading.CheckResult("runs", grading.VISIBLE_CHECKS["runs"], False, reason)]
    checks += [grading.CheckResult(check_id, title, None, _("Not checked: your code was not "
                                                            "run."))
               for check_id, title in grading.VISIBLE_CHECKS.items() if check_id != "runs"]
    return [check.as_dict() for check in checks]


# --------------------------------------------------------------------------- grading


def sandbox_mode() -> sandbox.Mode:
    """``LABS_SANDBOX_MODE``: ``secure`` (default) or ``insecure-dev``, which runs learner code
    without isolation and is refused unless DEBUG is on (the sandbox also refuses it when
    UPSKILL_ENV=production)."""
    configured = str(getattr(settings, "LABS_SANDBOX_MODE", "secure")).strip().lower()
    if configured == sandbox.Mode.INSECURE_DEV.value:
        if not settings.DEBUG:
            raise sandbox.SandboxUnavailable(
                "the insecure development sandbox is refused when DEBUG is off")
        return sandbox.Mode.INSECURE_DEV
    return sandbox.Mode.SECURE


def grade_submission(submission_id: int) -> dict[str, Any]:
    """The job's run step: run the submission in the sandbox and grade it. Reads only; the
    outcome is stored by :func:`record_grading`. Safe to run more than once."""
    submission = Submission.objects.select_related("lab").filter(pk=submission_id).first()
    if submission is None:  # deleted with its learner's account: nothing to grade or record
        return {"submission_id": submission_id, "status": "gone"}
    try:
        mode = sandbox_mode()
    except sandbox.SandboxUnavailable as error:
        outcome = grader.GradingOutcome("error", message=_(
            "Grading is unavailable on this server, so your code was not run: %s") % error)
    else:
        outcome = grader.run_and_grade(submission.code, submission.lab.spec,
                                       cache_root=_data_root(), scratch_root=_scratch_root(),
                                       mode=mode)
    return {"submission_id": submission.pk, **outcome.as_dict()}


def record_grading(job: Job, result: dict[str, Any]) -> None:
    """The job's record step, inside its completion transaction: store the outcome and, for a
    graded submission, one piece of evidence per rubric skill (correct when every check the
    rubric names for it passed). A pass on a lab the learner already passed those checks of
    adds no evidence, so resubmitting a passing solution cannot inflate mastery."""
    submission = (Submission.objects.select_for_update().select_related("lab", "user")
                  .filter(pk=result["submission_id"]).first())
    if submission is None or submission.status != Submission.Status.QUEUED:
        return  # deleted, or already recorded
    status = result["status"]
    submission.status = status
    submission.graded_at = timezone.now()
    submission.counts_toward_limit = status != Submission.Status.ERROR
    submission.passed = result["passed"]
    submission.public_score = result["public_score"]
    submission.private_score = result["private_score"]
    submission.feedback = {"message": result["message"], "checks": result["checks"],
                           "public": result["public"],
                           "passed_checks": result["passed_checks"]}
    submission.private_feedback = result["private"]
    submission.output_excerpt = result["output_excerpt"]
    submission.runtime_s = result["runtime_s"]
    submission.save()
    if status == Submission.Status.GRADED:
        _record_evidence(submission, set(result["passed_checks"]))


def _record_evidence(submission: Submission, passed: set[str]) -> None:
    rubric = submission.lab.spec["rubric"]
    earlier = [set(s.feedback.get("passed_checks", [])) for s in Submission.objects.filter(
        user=submission.user, lab__slug=submission.lab.slug, status=Submission.Status.GRADED,
    ).exclude(pk=submission.pk)]
    skills = {s.slug: s for s in Skill.objects.filter(
        slug__in=[entry["skill"] for entry in rubric])}
    for entry in rubric:
        needed = set(entry["checks"])
        correct = needed <= passed
        if correct and any(needed <= before for before in earlier):
            continue
        learning.record_evidence(submission.user, skills[entry["skill"]], correct, "lab")


# --------------------------------------------------------------------------- following


@dataclass(frozen=True)
class SubmissionView:
    """A submission as its owner may see it. ``status`` is ``running`` while its job runs;
    ``private`` is None until the lab's private window opens."""

    submission: Submission
    status: str
    message: str
    checks: list[dict[str, Any]]
    public: list[dict[str, Any]]
    private: list[dict[str, Any]] | None
    private_visible_after: datetime | None

    @property
    def finished(self) -> bool:
        return self.status in {Submission.Status.GRADED, Submission.Status.FAILED,
                               Submission.Status.ERROR}

    @property
    def lab(self) -> Lab:
        return self.submission.lab


def _view(submission: Submission, now: datetime) -> SubmissionView:
    status, message = submission.status, str(submission.feedback.get("message", ""))
    job = submission.job
    if status == Submission.Status.QUEUED and job is not None:
        if job.state == Job.State.RUNNING:
            status = Submission.Status.RUNNING
        elif job.state == Job.State.FAILED:
            status = Submission.Status.ERROR
            message = _("Grading failed on our side; this submission does not count toward "
                        "your daily limit. Please submit it again.")
    visible = private_visible(submission.lab, now)
    return SubmissionView(
        submission=submission, status=status, message=message,
        checks=list(submission.feedback.get("checks", [])),
        public=list(submission.feedback.get("public", [])),
        private=list(submission.private_feedback) if visible and status == "graded" else None,
        private_visible_after=submission.lab.private_visible_after)


def submission_status(user: User, submission_id: int) -> SubmissionView:
    """One of ``user``'s own submissions with its status and feedback; ``NotFound`` for a
    submission of anyone else (whether it exists is not revealed)."""
    submission = (Submission.objects.select_related("lab", "job")
                  .filter(pk=submission_id, user=user).first())
    if submission is None:
        raise NotFound(_("There is no submission %d of yours.") % submission_id)
    return _view(submission, timezone.now())


def history(user: User, lab_slug: str) -> list[SubmissionView]:
    """``user``'s submissions to lab ``lab_slug`` (any release), newest first."""
    get_lab(lab_slug)
    now = timezone.now()
    return [_view(s, now) for s in Submission.objects.select_related("lab", "job").filter(
        user=user, lab__slug=lab_slug)]


# --------------------------------------------------------------------------- leaderboards


@dataclass(frozen=True)
class LeaderboardEntry:
    rank: int
    name: str
    score: float
    submitted_at: datetime
    is_you: bool


@dataclass(frozen=True)
class Leaderboard:
    """Best public score per learner on the lab's current release, and, once the private
    window is open, the final ranking: each learner's private score of the submission with
    their best public score (so nobody can choose by the private score)."""

    lab: Lab
    metric_label: str
    higher_is_better: bool
    public: list[LeaderboardEntry]
    final: list[LeaderboardEntry] | None


def _best_per_learner(lab: Lab, higher_is_better: bool) -> list[Submission]:
    order = ("-public_score" if higher_is_better else "public_score", "created_at", "pk")
    best: dict[int, Submission] = {}
    graded = (Submission.objects.filter(lab=lab, status=Submission.Status.GRADED,
                                        public_score__isnull=False)
              .only("user_id", "public_score", "private_score", "created_at").order_by(*order))
    for submission in graded:
        best.setdefault(submission.user_id, submission)
    return list(best.values())


def _ranked(rows: Iterable[tuple[Submission, float]], names: dict[int, str],
            viewer: User | None, higher_is_better: bool) -> list[LeaderboardEntry]:
    ordered = sorted(rows, key=lambda row: ((-row[1] if higher_is_better else row[1]),
                                            row[0].created_at, row[0].pk))
    return [LeaderboardEntry(rank=index, name=names.get(submission.user_id, ANONYMOUS),
                             score=score, submitted_at=submission.created_at,
                             is_you=viewer is not None and submission.user_id == viewer.pk)
            for index, (submission, score) in enumerate(ordered, start=1)]


def leaderboard(lab_slug: str, viewer: User | None = None) -> Leaderboard:
    """The lab's leaderboards. Names appear only for learners who opted in
    (:func:`set_leaderboard_preference`); everyone else is "Anonymous learner". ``viewer``'s
    own rows are marked. Private scores appear only in ``final``, which is None before the
    lab's private window opens."""
    lab = get_lab(lab_slug)
    metric = primary_metric(lab)
    best = _best_per_learner(lab, metric.higher_is_better)
    names = dict(LabPreference.objects.filter(
        user_id__in=[s.user_id for s in best], show_on_leaderboard=True,
    ).exclude(public_name="").values_list("user_id", "public_name"))
    public = _ranked(((s, float(s.public_score or 0.0)) for s in best), names, viewer,
                     metric.higher_is_better)
    final = None
    if private_visible(lab):
        final = _ranked(((s, float(s.private_score)) for s in best
                         if s.private_score is not None), names, viewer,
                        metric.higher_is_better)
    return Leaderboard(lab=lab, metric_label=metric.label,
                       higher_is_better=metric.higher_is_better, public=public, final=final)


def leaderboard_preference(user: User) -> LabPreference:
    """``user``'s leaderboard preference (not shown by name until they opt in)."""
    return LabPreference.objects.filter(user=user).first() or LabPreference(user=user)


def set_leaderboard_preference(user: User, *, show: bool, public_name: str = "") -> LabPreference:
    """Opt in to (``show``) or out of appearing by ``public_name`` on leaderboards; acts for
    ``user`` only. The name is required to opt in: 2 to 60 printable characters."""
    name = " ".join(public_name.split())
    if show:
        if not 2 <= len(name) <= PUBLIC_NAME_MAX:
            raise Invalid(_("Choose a public name of 2 to %d characters.") % PUBLIC_NAME_MAX)
        if any(unicodedata.category(ch).startswith("C") for ch in name):
            raise Invalid(_("The public name may contain only printable characters."))
    preference, _created = LabPreference.objects.update_or_create(
        user=user, defaults={"show_on_leaderboard": show, "public_name": name})
    return preference


# --------------------------------------------------------------------------- portfolio


@dataclass(frozen=True)
class PortfolioItem:
    """A lab ``user`` has a graded submission for: their best one, for a portfolio page."""

    lab: Lab
    submission: Submission
    metric_label: str
    public_score: float
    private_score: float | None
    passed: bool
    graded_at: datetime
    skills: list[str]


def portfolio_items(user: User) -> list[PortfolioItem]:
    """One item per lab (by slug) with a graded submission of ``user``: the best by public
    score, with its private score once the lab's window is open. Newest first."""
    now = timezone.now()
    graded = (Submission.objects.select_related("lab").prefetch_related("lab__skills")
              .filter(user=user, status=Submission.Status.GRADED, public_score__isnull=False))
    best: dict[str, tuple[Submission, grading.Metric]] = {}
    for submission in graded:
        metric = primary_metric(submission.lab)
        current = best.get(submission.lab.slug)
        if current is None or _better(submission, current[0], metric.higher_is_better):
            best[submission.lab.slug] = (submission, metric)
    items = [PortfolioItem(
        lab=s.lab, submission=s, metric_label=metric.label, public_score=float(s.public_score or 0),
        private_score=s.private_score if private_visible(s.lab, now) else None,
        passed=bool(s.passed), graded_at=s.graded_at or s.created_at,
        skills=[skill.name for skill in s.lab.skills.all()]) for s, metric in best.values()]
    return sorted(items, key=lambda item: item.graded_at, reverse=True)


def _better(candidate: Submission, current: Submission, higher_is_better: bool) -> bool:
    a, b = float(candidate.public_score or 0), float(current.public_score or 0)
    return a > b if higher_is_better else a < b

