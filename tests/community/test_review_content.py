"""Peer-review assignments as content: the starter package imports, every broken template is
reported with file and field (nothing imported), a new version adds templates without touching
running rounds, and staff or instructors open rounds from them on a page or through the
service; an opened round runs end to end with the peer review services."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.content_fixtures import write
from tests.labs.conftest import CONTENT, write_lab_skills
from upskill.accounts import services as accounts
from upskill.accounts.models import User
from upskill.catalog import services as catalog
from upskill.community import review_content, review_services, reviewing
from upskill.community.review_content_models import PeerReviewTemplate, TemplateRound
from upskill.community.review_models import PeerReviewActivity
from upskill.core.errors import Conflict, Invalid, NotFound, PermissionDenied

pytestmark = pytest.mark.django_db

CHURN = "churn-threshold-memo"
FRAUD = "card-fraud-review-rule"


def template_path(root: Path, slug: str = CHURN) -> Path:
    return root / "peer-reviews" / "peer-reviews" / f"{slug}.yaml"


def load(root: Path, slug: str = CHURN) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(template_path(root, slug).read_text())
    return data


def save(root: Path, data: dict[str, Any], slug: str = CHURN) -> None:
    template_path(root, slug).write_text(yaml.safe_dump(data, sort_keys=False,
                                                        allow_unicode=True))


def bump(root: Path, version: str) -> None:
    write(root / "peer-reviews" / "package.yaml", f"""
    id: peer-reviews
    title: Peer-reviewed write-ups
    version: {version}
    changelog:
      - version: {version}
        date: 2026-12-01
        changes: [Clearer rubric labels.]
      - version: 1.0.0
        date: 2026-11-26
        changes: [First release.]
    """)


@pytest.fixture
def review_root(tmp_path: Path) -> Path:
    """The real labs and peer-reviews packages (copied, so a test may change them) and the
    skills the labs evidence."""
    root = tmp_path / "content"
    shutil.copytree(CONTENT / "labs", root / "labs")
    shutil.copytree(CONTENT / "peer-reviews", root / "peer-reviews")
    write_lab_skills(root)
    return root


@pytest.fixture
def imported(review_root: Path) -> Path:
    report = catalog.import_content(review_root)
    assert report.ok, "\n".join(str(p) for p in report.problems)
    return review_root


def person(make_user: Callable[..., User], email: str, role: str | None = None) -> User:
    user = make_user(email, display_name=email.split("@")[0].title())
    if role is not None:
        accounts.grant_role(None, user, role)
    return user


@pytest.fixture
def staff(make_user: Callable[..., User]) -> User:
    return person(make_user, "opener@example.test", "staff")


def in_days(days: int) -> datetime:
    return timezone.now() + timedelta(days=days)


# --------------------------------------------------------------------------- the package


def test_the_starter_package_imports_both_templates_as_written(imported: Path) -> None:
    templates = {t.slug: t for t in PeerReviewTemplate.objects.all()}
    assert set(templates) == {CHURN, FRAUD}
    churn = templates[CHURN]
    assert churn.lab_slug == "telco-churn" and templates[FRAUD].lab_slug == "card-fraud"
    assert churn.release.package.package_id == "peer-reviews" and churn.release.is_current
    assert "<strong>Priya, the head of customer retention</strong>" in churn.prompt_html
    rubric = reviewing.Rubric.from_dict(churn.rubric)
    assert [c.key for c in rubric.criteria] == ["costs", "evidence", "audience", "limits"]
    assert rubric.max_total == 12
    # Training teaches the whole scale: the examples' staff totals are all different.
    totals = [rubric.total(example["scores"]) for example in churn.examples]
    assert totals == [12, 4, 5]
    assert all(example["explanation"] for example in churn.examples)


def test_reimporting_the_unchanged_package_adds_nothing(imported: Path) -> None:
    again = catalog.import_content(imported)
    assert again.ok and again.released == []
    assert PeerReviewTemplate.objects.count() == 2


def test_the_real_content_tree_has_no_peer_review_problems() -> None:
    report = catalog.validate_content(CONTENT)
    assert [p for p in report.problems if "peer-reviews/" in p.file] == []


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    target: Any = data
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value


@pytest.mark.parametrize(("dotted", "value", "where", "reason"), [
    ("rubric.1.options.2.points", 1, "rubric.1", "must be ordered by points"),
    ("rubric.2.options", [{"key": "a", "label": "A", "points": 1},
                          {"key": "b", "label": "B", "points": 1}],
     "rubric.2", "must differ in points"),
    ("rubric.0.options.1.key", "none", "rubric.0", "option keys of “Ties the threshold to "
                                                   "business costs” must be unique"),
    ("rubric.3.key", "costs", "rubric", "criterion keys must be unique"),
    ("rubric.0.options", [{"key": "only", "label": "Only", "points": 1}],
     "rubric.0.options", "at least 2 items"),
    ("rubric.0.options.0.points", -1, "rubric.0.options.0.points", "greater than or equal to 0"),
    ("examples.0.scores", {"costs": "brilliant", "evidence": "solid", "audience": "plain",
                           "limits": "full"},
     "examples.0.scores", "“brilliant” is not an option of “Ties the threshold"),
    ("examples.1.scores", {"costs": "partial", "evidence": "some", "audience": "jargon"},
     "examples.1.scores", "choose an option for “Says what would change the choice”"),
    ("examples.2.scores", {"costs": "partial", "evidence": "none", "audience": "plain",
                           "limits": "partial", "tone": "warm"},
     "examples.2.scores", "unknown criteria: tone"),
    ("examples.2.explanation", "", "examples.2.explanation", "at least 1 character"),
    ("examples", [], "examples", "at least 1 item"),
    ("lab", "telco-churn-2", "lab", "unknown lab 'telco-churn-2'"),
    ("reviews_required", 2, "reviews_required", "must be at least reviews_per_submission (3)"),
    ("training_tolerance_steps", 2, "training_tolerance_steps", "accepts every answer"),
    ("slug", "churn-memo", "slug", "must equal the file name 'churn-threshold-memo'"),
    ("deadline", "2027-01-01", "deadline", "Extra inputs are not permitted"),
])
def test_a_broken_template_is_reported_with_file_and_field_and_nothing_is_imported(
        review_root: Path, dotted: str, value: Any, where: str, reason: str) -> None:
    data = load(review_root)
    _set(data, dotted, value)
    save(review_root, data)

    report = catalog.import_content(review_root)

    assert not report.ok and report.released == []
    found = [(p.file, p.field, p.reason) for p in report.problems]
    assert any(file == f"peer-reviews/peer-reviews/{CHURN}.yaml" and field == where
               and reason in why for file, field, why in found), found
    assert not PeerReviewTemplate.objects.exists()


def test_a_copied_example_is_reported(review_root: Path) -> None:
    data = load(review_root)
    data["examples"][2]["text"] = data["examples"][0]["text"].replace("\n", "  \n")
    save(review_root, data)
    problems = catalog.validate_content(review_root).problems
    assert [(p.field, p.reason) for p in problems] == [
        ("examples.2.text", "the same text as example 0")]


def test_bad_yaml_and_a_slug_defined_twice_are_reported(review_root: Path) -> None:
    template_path(review_root, FRAUD).write_text("slug: [unclosed\n")
    shutil.copytree(review_root / "peer-reviews", review_root / "more-reviews")
    write(review_root / "more-reviews" / "package.yaml", """
    id: more-reviews
    title: More reviews
    version: 1.0.0
    changelog:
      - version: 1.0.0
        date: 2026-11-26
        changes: [First.]
    """)
    problems = {(p.file, p.field, p.reason.split(":")[0])
                for p in catalog.validate_content(review_root).problems}
    assert (f"peer-reviews/peer-reviews/{FRAUD}.yaml", "line 2", "not valid YAML") in problems
    # Packages are read in folder order: the later one is told about the earlier.
    assert (f"peer-reviews/peer-reviews/{CHURN}.yaml", "slug",
            f"peer review '{CHURN}' is also defined in package more-reviews") in problems


def test_a_template_about_a_lab_needs_the_lab(tmp_path: Path) -> None:
    root = tmp_path / "content"
    shutil.copytree(CONTENT / "peer-reviews", root / "peer-reviews")
    problems = {(p.file, p.field, p.reason) for p in catalog.validate_content(root).problems}
    assert problems == {(f"peer-reviews/peer-reviews/{CHURN}.yaml", "lab",
                         "unknown lab 'telco-churn'"),
                        (f"peer-reviews/peer-reviews/{FRAUD}.yaml", "lab",
                         "unknown lab 'card-fraud'")}


def test_a_new_version_adds_templates_and_running_rounds_keep_theirs(
        imported: Path, staff: User) -> None:
    first = review_content.open_round(staff, CHURN, deadline=in_days(10))
    data = load(imported)
    data["rubric"][0]["label"] = "Lets the costs of each mistake set the threshold"
    data["reviews_per_submission"] = 2
    save(imported, data)
    bump(imported, "1.1.0")

    report = catalog.import_content(imported)

    assert report.ok and report.released == [("peer-reviews", "1.1.0")]
    current = review_content.get_template(CHURN)
    assert current.release.version == "1.1.0" and current.reviews_per_submission == 2
    assert current.rubric["criteria"][0]["label"].startswith("Lets the costs")
    assert PeerReviewTemplate.objects.filter(slug=CHURN).count() == 2
    first.refresh_from_db()
    assert first.reviews_per_submission == 3
    assert first.rubric["criteria"][0]["label"] == "Ties the threshold to business costs"
    assert TemplateRound.objects.get(activity=first).template.release.version == "1.0.0"
    second = review_content.open_round(staff, CHURN, deadline=in_days(11))
    assert second.reviews_per_submission == 2
    card = next(c for c in review_content.list_templates(staff) if c.template.slug == CHURN)
    assert card.version == "1.1.0" and card.rounds == [second, first]


# --------------------------------------------------------------------------- opening rounds


def test_only_staff_and_instructors_open_rounds(
        imported: Path, staff: User, make_user: Callable[..., User]) -> None:
    learner = person(make_user, "learner@example.test")
    mentor = person(make_user, "mentor@example.test", "mentor")
    for refused in (learner, mentor):
        with pytest.raises(PermissionDenied):
            review_content.open_round(refused, CHURN, deadline=in_days(7))
        with pytest.raises(PermissionDenied):
            review_content.list_templates(refused)
    assert not PeerReviewActivity.objects.exists()

    activity = review_content.open_round(staff, CHURN, deadline=in_days(7))

    assert activity.created_by == staff and activity.lab is not None
    assert activity.lab.slug == "telco-churn"
    assert activity.slug == f"{CHURN}-{in_days(7).astimezone(UTC):%Y-%m-%d}"
    assert activity.training_examples.count() == 3
    assert TemplateRound.objects.get(activity=activity).opened_by == staff


def test_an_instructor_opens_a_round(imported: Path, make_user: Callable[..., User]) -> None:
    instructor = person(make_user, "instructor@example.test", "author")
    assert review_content.can_open_rounds(instructor)
    activity = review_content.open_round(instructor, FRAUD, deadline=in_days(7))
    assert activity.created_by == instructor


def test_open_round_refuses_bad_deadlines_and_addresses(imported: Path, staff: User) -> None:
    with pytest.raises(Invalid, match="time zone"):
        review_content.open_round(staff, CHURN, deadline=datetime(2030, 1, 1, 12, 0))
    for deadline in (timezone.now() - timedelta(days=1), in_days(0), in_days(400)):
        with pytest.raises(Invalid, match="between a day and a year"):
            review_content.open_round(staff, CHURN, deadline=deadline)
    for slug in ("open", "Churn Round", "x" * 81):
        with pytest.raises(Invalid):
            review_content.open_round(staff, CHURN, deadline=in_days(5), slug=slug)
    with pytest.raises(NotFound):
        review_content.open_round(staff, "no-such-assignment", deadline=in_days(5))
    review_content.open_round(staff, CHURN, deadline=in_days(5), slug="spring-cohort")
    with pytest.raises(Conflict):
        review_content.open_round(staff, FRAUD, deadline=in_days(6), slug="spring-cohort")
    assert PeerReviewActivity.objects.count() == 1


def test_the_page_opens_a_round_at_the_deadline_typed_in_the_staff_members_zone(
        imported: Path, staff: User, client_for: Callable[[User], Client]) -> None:
    accounts.update_profile(staff, staff, {"timezone": "Asia/Kolkata"})
    client = client_for(staff)
    page = client.get(reverse("peer_review:open"))
    assert page.status_code == 200
    assert "Explain your churn model" in page.text and "Propose a review rule" in page.text
    local = (timezone.now() + timedelta(days=9)).astimezone(ZoneInfo("Asia/Kolkata")).replace(
        hour=18, minute=0, second=0, microsecond=0)

    response = client.post(reverse("peer_review:open_template", args=[CHURN]), {
        f"{CHURN}-deadline": local.strftime("%Y-%m-%dT%H:%M"), f"{CHURN}-slug": "cohort-7"})

    assert response.status_code == 302
    assert response["Location"] == reverse("peer_review:activity", args=["cohort-7"])
    activity = PeerReviewActivity.objects.get(slug="cohort-7")
    assert activity.deadline == local.astimezone(UTC)  # 18:00 in Kolkata is 12:30 UTC
    assert activity.deadline.astimezone(UTC).strftime("%H:%M") == "12:30"
    listed = client.get(reverse("peer_review:open")).text
    assert reverse("peer_review:activity", args=["cohort-7"]) in listed
    # The same address again is refused on the form, with 409, and nothing changes.
    again = client.post(reverse("peer_review:open_template", args=[FRAUD]), {
        f"{FRAUD}-deadline": local.strftime("%Y-%m-%dT%H:%M"), f"{FRAUD}-slug": "cohort-7"})
    assert again.status_code == 409 and "A round with this slug exists." in again.text
    assert PeerReviewActivity.objects.get().title.startswith("Explain your churn model")


@pytest.mark.parametrize(("deadline", "message"), [
    ("next friday", "Enter a valid date/time"),
    ("2020-01-01T09:00", "between a day and a year from now"),
])
def test_a_bad_deadline_shows_the_form_again_with_400(
        imported: Path, staff: User, client_for: Callable[[User], Client], deadline: str,
        message: str) -> None:
    response = client_for(staff).post(reverse("peer_review:open_template", args=[FRAUD]),
                                      {f"{FRAUD}-deadline": deadline})
    assert response.status_code == 400
    assert message in response.text and "Open a peer review round" in response.text
    assert not PeerReviewActivity.objects.exists()


def test_learners_cannot_see_or_use_the_page(
        imported: Path, make_user: Callable[..., User],
        client_for: Callable[[User], Client]) -> None:
    client = client_for(person(make_user, "curious@example.test"))
    assert client.get(reverse("peer_review:open")).status_code == 403
    response = client.post(reverse("peer_review:open_template", args=[CHURN]),
                           {f"{CHURN}-deadline": in_days(5).strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 403
    assert not PeerReviewActivity.objects.exists()


def test_a_round_opened_from_the_template_runs_end_to_end(
        imported: Path, staff: User, make_user: Callable[..., User]) -> None:
    activity = review_content.open_round(staff, CHURN, deadline=in_days(7))
    template = review_content.get_template(CHURN)
    people = [person(make_user, f"writer{i}@example.test") for i in range(4)]
    for author in people:
        review_services.submit_write_up(author, activity, f"Call everyone above 0.3 ({author.pk}).")
        # Training with staff's own scores passes every example, in order.
        for example, spec in zip(activity.training_examples.all(), template.examples,
                                 strict=True):
            assert review_services.submit_training(author, activity, example.pk,
                                                   spec["scores"]).passed
        assert review_services.training_page(author, activity).complete
    solid = {"costs": "full", "evidence": "solid", "audience": "mixed", "limits": "partial"}
    for reviewer in people:
        for _ in range(3):
            assignment = review_services.request_review(reviewer, activity)
            assert assignment is not None
            review_services.submit_review(reviewer, assignment.pk, solid, "Clear numbers.")

    for author in people:
        page = review_services.feedback_page(author, activity)
        assert page.state == "graded" and page.grade is not None
        assert (page.grade.total, page.grade.max_total) == (10, 12)


def test_a_wrong_training_answer_on_a_template_round_names_the_criterion(
        imported: Path, staff: User, make_user: Callable[..., User]) -> None:
    activity = review_content.open_round(staff, CHURN, deadline=in_days(7))
    learner = person(make_user, "trainee@example.test")
    first = activity.training_examples.first()
    assert first is not None
    attempt = review_services.submit_training(learner, activity, first.pk, {
        "costs": "full", "evidence": "some", "audience": "plain", "limits": "full"})
    assert not attempt.passed
    (miss,) = review_services.training_page(learner, activity).last_misses
    assert miss.criterion_label == "Backs the choice with held-out numbers"
