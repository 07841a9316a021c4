"""Every page of the site a person can reach, and how to get there.

A ``Screen`` names a page, who looks at it, and how a person arrives on it
(most by typing the address; some only by submitting a form). The page tests
run the same checks over all of them, so a new page is one line here.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Page, Response, expect

from tests.assessment.test_certification import take
from tests.browser.content import (
    COURSE,
    LECTURE,
    NEXT_READING_TITLE,
    PROGRAM,
    READING,
    ROLE,
    release_new_version,
)
from tests.browser.support import problems_of
from tests.content_fixtures import exam_yaml, write_exam_bank
from tests.labs.conftest import CONTENT as ALL_CONTENT
from tests.labs.conftest import write_lab_skills
from tests.labs.test_services import GOOD_CODE as LAB_CODE
from tests.labs.test_services import result_for as lab_result
from tests.simulations.conftest import SCENARIOS as SIM_CONTENT
from tests.simulations.conftest import write_scenario_taxonomy
from upskill.accounts import services
from upskill.accounts.models import Organization, User
from upskill.assessment import certification
from upskill.assessment import services as diagnostic
from upskill.assessment.models import (
    DiagnosticAttempt,
    DifFinding,
    Exam,
    FairnessAudit,
    Item,
)
from upskill.catalog import services as catalog_services
from upskill.core import notifications
from upskill.credentials import services as credentials
from upskill.credentials.models import Credential, Portfolio
from upskill.labs import services as labs
from upskill.learning import services as learning
from upskill.simulations import services as simulations

ANONYMOUS = "anonymous"
LEARNER = "learner"

LAB_CONTENT = ALL_CONTENT / "labs"

LEARNER_EMAIL = "ada@example.test"
TEAM_NAME = "Acme Analytics"


@dataclass(frozen=True)
class Screen:
    name: str
    path: str
    who: str = ANONYMOUS
    status: int = 200
    # How a person gets here when typing the address is not enough.
    arrive: Callable[[Page], Response] | None = field(default=None, compare=False)
    # Pages of the catalog and of learning need the browsed catalog imported
    # (tests/browser/content.py), some also a learner who has been studying.
    catalog: bool = False
    prepare: Callable[[User, Path], None] | None = field(default=None, compare=False)
    # Text the page shows only when it is in the state the screen is named for.
    shows: str = ""

    def __str__(self) -> str:
        return self.name


def submit(page: Page, button: str) -> Response:
    """Press a form's submit button; the answer to the navigation it starts."""
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name=button, exact=True).click()
    response = navigation.value
    assert response is not None
    return response


def submit_empty_signup(page: Page) -> Response:
    page.goto("/account/signup/")
    return submit(page, "Create account")


def create_token_in_form(page: Page) -> Response:
    page.goto("/account/tokens/")
    page.get_by_label("Token name").fill("reporting script on the team laptop")
    return submit(page, "Create token")


def get_locked_out(page: Page) -> Response:
    """As many wrong passwords in a row as django-axes allows; the last one typed here.

    The ones before go through the test client, which axes sees as the same
    address (127.0.0.1) and the same username, so the lockout is the real one.
    A single wrong password answers 400, so a 429 proves the lockout.
    """
    client = Client(REMOTE_ADDR="127.0.0.1")
    for _attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post("/account/login/", {"username": LEARNER_EMAIL, "password": "wrong-guess-1"})
    page.goto("/account/login/")
    page.get_by_label("Email address").fill(LEARNER_EMAIL)
    page.get_by_label("Password").fill("wrong-guess-2")
    return submit(page, "Log in")


def answer_practice(page: Page) -> Response:
    """On the reading lesson, answer its practice questions, one right and one wrong."""
    page.get_by_role("group", name=re.compile("Which clause filters rows")).get_by_label(
        "WHERE").check()
    page.get_by_role("group", name=re.compile("Which clause sorts rows")).get_by_label(
        "WHERE").check()
    return submit(page, "Check my answers")


def check_answers(page: Page) -> Response:
    page.goto(f"/courses/{COURSE}/{READING}/")
    return answer_practice(page)


def complete_first_lesson(learner: User, _root: Path) -> None:
    learning.enrol(learner, PROGRAM)
    learning.complete_lesson(learner, COURSE, READING)


def want_captions(learner: User, _root: Path) -> None:
    services.update_profile(learner, learner, {"captions": True})


def start_then_release(learner: User, root: Path) -> None:
    learning.complete_lesson(learner, COURSE, READING)
    release_new_version(root)


def enrol_and_open_lecture(learner: User, _root: Path) -> None:
    learning.enrol(learner, PROGRAM)
    learning.open_lesson(learner, COURSE, LECTURE)


EXPERIENCE = {"foundations": "none", "data": "some"}


def start_diagnostic_in_form(page: Page) -> Response:
    """Choose experience and start; on a second visit the open attempt is resumed instead."""
    page.goto(f"/diagnostic/{ROLE}/")
    resume = page.get_by_text("Continue where you left off")
    if resume.count():
        with page.expect_navigation() as navigation:
            resume.click()
        response = navigation.value
        assert response is not None
        return response
    page.get_by_role("group", name="Foundations").get_by_label("New to this").check()
    page.get_by_role("group", name="Data").get_by_label("Some experience").check()
    return submit(page, "Start the diagnostic")


def submit_empty_diagnostic_start(page: Page) -> Response:
    page.goto(f"/diagnostic/{ROLE}/")
    return submit(page, "Start the diagnostic")


def diagnostic_showing(kind: str) -> Callable[[User, Path], None]:
    """Start a diagnostic and put an item of ``kind`` on screen (each kind renders apart)."""
    def prepare(learner: User, _root: Path) -> None:
        state = diagnostic.start_diagnostic(learner, ROLE, EXPERIENCE)
        item = Item.objects.filter(kind=kind, skill__slug="sql-querying").first()
        DiagnosticAttempt.objects.filter(pk=state.attempt.pk).update(current_item=item)
    return prepare


def resume_diagnostic(page: Page) -> Response:
    page.goto("/diagnostic/")
    with page.expect_navigation() as navigation:
        page.get_by_role("link", name=re.compile("Continue your diagnostic")).click()
    response = navigation.value
    assert response is not None
    return response


def submit_without_answer(page: Page) -> Response:
    resume_diagnostic(page)
    return submit(page, "Submit answer")


def finish_diagnostic(learner: User, _root: Path) -> None:
    """A finished diagnostic with every answer wrong: both skills are gaps."""
    state = diagnostic.start_diagnostic(learner, ROLE, EXPERIENCE)
    while state.question is not None:
        state = diagnostic.answer_item(learner, state.attempt.pk, state.question.key, ["3"]
                                       if state.question.kind != "numeric" else ["7"])


def review_answers(page: Page) -> Response:
    page.goto("/my/skills/")
    with page.expect_navigation() as navigation:
        page.get_by_role("link", name="Review my answers").click()
    response = navigation.value
    assert response is not None
    return response


def make_author_after_a_diagnostic(learner: User, root: Path) -> None:
    services.grant_role(None, learner, "author")
    finish_diagnostic(learner, root)


def import_labs(root: Path) -> None:
    """The real labs package and the skills it evidences, imported next to ``root``'s catalog."""
    labs_root = root.parent / "labs-content"
    if not labs_root.exists():
        shutil.copytree(LAB_CONTENT, labs_root / "labs")
        write_lab_skills(labs_root)
    report = catalog_services.import_content(labs_root)
    assert report.ok, report.problems


def with_a_graded_lab(learner: User, root: Path) -> None:
    """The labs imported, and one graded churn submission of the learner (graded as the
    worker records it, without running the sandbox)."""
    import_labs(root)
    submission = labs.submit(learner, "telco-churn", LAB_CODE, "editor")
    assert submission.job is not None
    with transaction.atomic():  # the worker records inside the job's completion transaction
        labs.record_grading(submission.job, lab_result(submission))


def open_my_submission(page: Page) -> Response:
    page.goto("/labs/portfolio/")
    with page.expect_navigation() as navigation:
        page.get_by_role("link", name=re.compile("See submission")).first.click()
    response = navigation.value
    assert response is not None
    return response


def submit_empty_lab(page: Page) -> Response:
    page.goto("/labs/telco-churn/")
    page.locator("textarea#code").evaluate("el => { el.value = ''; }")
    return submit(page, "Submit for grading")


EXAM_LENGTH = 8


def import_exam(root: Path, form: str = "fixed") -> Exam:
    """The program's certification exam (tests/content_fixtures.exam_yaml), imported next to
    the browsed catalog and prepared as the ``assessment.prepare_exam`` job does."""
    text = (exam_yaml(form=form, min_items=EXAM_LENGTH, max_items=EXAM_LENGTH)
            if form == "fixed" else exam_yaml(form=form))
    write_exam_bank(root, text)
    report = catalog_services.import_content(root)
    assert report.ok, report.problems
    certification.prepare_exam(Exam.objects.get().pk)
    return Exam.objects.get()


def with_exam(_learner: User, root: Path) -> None:
    import_exam(root)


def exam_in_progress(learner: User, root: Path) -> None:
    """A fixed-form exam started, two questions answered, the third on screen."""
    import_exam(root)
    attempt = certification.start_exam(learner, PROGRAM)
    for position in (1, 2):
        state = certification.move_to(learner, attempt.pk, position)
        assert state.question is not None
        answer = ["42"] if state.question.kind == "numeric" else ["0"]
        certification.save_answer(learner, attempt.pk, position, state.question.key, answer)
    certification.move_to(learner, attempt.pk, 3)


def exam_finished(learner: User, root: Path) -> None:
    exam_in_progress(learner, root)
    attempt = certification.attempts_of(learner)[0]
    certification.finish_exam(learner, attempt.pk)


def follow_link(page: Page, path: str, name: str | re.Pattern[str]) -> Response:
    page.goto(path)
    with page.expect_navigation() as navigation:
        page.get_by_role("link", name=name).first.click()
    response = navigation.value
    assert response is not None
    return response


def resume_exam(page: Page) -> Response:
    page.goto(f"/exams/{PROGRAM}/")
    return submit(page, "Resume the exam")


def open_exam_review(page: Page) -> Response:
    resume_exam(page)
    return submit(page, "Review and submit")


def open_exam_report(page: Page) -> Response:
    return follow_link(page, f"/exams/{PROGRAM}/", re.compile("Score report of"))


def with_a_fairness_audit(learner: User, root: Path) -> None:
    """The learner is an author; the exam is imported and the latest fairness audit (stored as
    the ``assessment.audit_fairness`` job records it) flags one item C and one B, and finds
    the non-binary group too small."""
    services.grant_role(None, learner, "author")
    import_exam(root)
    first, second = Item.objects.filter(pool=Item.Pool.EXAM).order_by("pk")[:2]
    audit = FairnessAudit.objects.create(
        started_at=timezone.now(), n_attempts=2430,
        summary={"n_responses": 97_200, "n_items": 40, "classes": {"A": 77, "B": 1, "C": 1},
                 "variables": [{"variable": "gender", "reference": "man",
                                "focal": ["woman", "non_binary"], "not_compared": 200,
                                "group_sizes": {"man": 1200, "woman": 1200,
                                                "non_binary": 30}}]})
    evidence = {"audit": audit, "variable": "gender", "reference": "man", "status": "analysed",
                "n_reference": 1200}
    DifFinding.objects.bulk_create([
        DifFinding(item=first, focal="woman", n_focal=1200, ets_class="C", mh_d_dif=-2.06,
                   mh_p_value=6e-17, lr_chi2=73.0, lr_p_value=1e-16, lr_delta_r2=0.028,
                   lr_effect="A", favours="man", **evidence),
        DifFinding(item=second, focal="woman", n_focal=1200, ets_class="B", mh_d_dif=1.2,
                   mh_p_value=0.001, lr_chi2=12.0, lr_p_value=0.002, lr_delta_r2=0.004,
                   lr_effect="A", favours="woman", **evidence),
        DifFinding(audit=audit, item=first, variable="gender", reference="man",
                   focal="non_binary", n_reference=1200, n_focal=30, status="not_enough_data"),
    ])


def with_a_credential(learner: User, root: Path) -> None:
    """The learner passed the exam (every answer right) and its credential is issued, as the
    ``credentials.issue`` job does; their portfolio is public with a headline."""
    import_exam(root)
    attempt = take(learner, certification.start_exam(learner, PROGRAM).pk, lambda _p: True)
    assert attempt.passed
    credentials.issue_credential(attempt.pk)
    credentials.update_portfolio(learner, public=True, headline="Data analyst, SQL and Python",
                                 show_projects=True)


def with_a_revoked_credential_as_staff(learner: User, root: Path) -> None:
    """The learner is also staff, and has suspended, lifted and then revoked a credential."""
    with_a_credential(learner, root)
    services.grant_role(None, learner, "staff")
    public_id = Credential.objects.get().public_id
    credentials.suspend(learner, public_id, "Plagiarism reported by a reviewer")
    credentials.lift_suspension(learner, public_id, "The report was unfounded")


def open_the_credential(page: Page) -> Response:
    return _goto(page, f"/credentials/{Credential.objects.get().public_id}/")


def open_the_staff_page(page: Page) -> Response:
    return _goto(page, f"/staff/credentials/{Credential.objects.get().public_id}/")


def open_the_portfolio(page: Page) -> Response:
    return _goto(page, f"/p/{Portfolio.objects.get().handle}/")


def _goto(page: Page, path: str) -> Response:
    response = page.goto(path)
    assert response is not None
    return response


def verify_junk(page: Page) -> Response:
    page.goto("/credentials/verify/")
    page.get_by_label("The credential's JSON").fill('{"name": "not a credential"')
    return submit(page, "Verify")


def verify_the_credential(page: Page) -> Response:
    page.goto("/credentials/verify/")
    page.get_by_label("The credential's JSON").fill(Credential.objects.get().document)
    return submit(page, "Verify")


SCENARIO = "inventory-holiday-peak"
SCENARIO_TITLE = "Holiday peak at a souvenir chain"
# Two parameter runs that differ in the reorder point alone (weeks of demand; the slider's
# step is half a week and the textbook value four weeks).
FIRST_REORDER_POINT, SECOND_REORDER_POINT = 4.0, 6.0


def import_simulations(root: Path) -> None:
    """The real simulations package and the skills and roles it names, imported next to
    ``root``'s catalog (tests/simulations/conftest.py; the roles' programs list the browsed
    course, which must be imported already)."""
    sims_root = root.parent / "simulations-content"
    if not sims_root.exists():
        shutil.copytree(SIM_CONTENT, sims_root / "simulations")
        write_scenario_taxonomy(sims_root, course=COURSE)
    report = catalog_services.import_content(sims_root)
    assert report.ok, report.problems


def with_simulations(_learner: User, root: Path) -> None:
    import_simulations(root)


def with_two_simulation_runs(learner: User, root: Path) -> None:
    """The simulations imported, and two parameter-mode runs of the inventory scenario that
    differ in the reorder point, played by the service the scenario page's form calls."""
    import_simulations(root)
    for reorder_point in (FIRST_REORDER_POINT, SECOND_REORDER_POINT):
        simulations.run_parameters(learner, SCENARIO, {"reorder_point": reorder_point})


def with_notifications(learner: User, _root: Path) -> None:
    notifications.notify(learner, kind="reply", subject="A mentor answered your question",
                         body="Open the thread to read the answer.", url="/dashboard/",
                         email=False)
    read = notifications.notify(learner, kind="reminder", subject="Your session is tomorrow",
                                email=False)
    notifications.mark_read(learner, read.pk)


SCREENS = [
    Screen("landing", "/"),
    Screen("signup", "/account/signup/"),
    Screen("signup-errors", "/account/signup/", status=400, arrive=submit_empty_signup),
    Screen("login", "/account/login/"),
    Screen("password-reset", "/account/password/reset/"),
    Screen("password-reset-sent", "/account/password/reset/sent/"),
    Screen("password-reset-invalid-link", "/account/password/reset/MQ/no-such-token/"),
    Screen("not-found", "/no-such-page/", status=404),
    Screen("locked-out", "/account/login/", status=429, arrive=get_locked_out),
    Screen("landing-signed-in", "/", who=LEARNER),
    Screen("dashboard", "/dashboard/", who=LEARNER),
    Screen("profile", "/account/profile/", who=LEARNER),
    Screen("password-change", "/account/password/", who=LEARNER),
    Screen("fairness", "/account/profile/fairness/", who=LEARNER),
    Screen("tokens", "/account/tokens/", who=LEARNER),
    Screen("tokens-new-secret", "/account/tokens/", who=LEARNER, arrive=create_token_in_form),
    Screen("delete-account", "/account/delete/", who=LEARNER),
    Screen("organizations", "/account/organizations/", who=LEARNER),
    Screen("organization", "/account/organizations/acme-analytics/", who=LEARNER),
    Screen("not-found-signed-in", "/no-such-page/", who=LEARNER, status=404),
    # The catalog and the lesson player.
    Screen("roles-guide", "/roles/?background=analysis&goal=answers&code=some", catalog=True,
           shows="Roles that fit your answers"),
    Screen("role", f"/roles/{ROLE}/", catalog=True, shows="Sign up to enrol"),
    Screen("skill", "/skills/sql-querying/", catalog=True, shows="Lessons that teach it"),
    Screen("search", "/search/?q=churn", catalog=True, shows="Lesson in SQL basics"),
    Screen("search-no-results", "/search/?q=zeppelin", catalog=True, shows="Nothing matched"),
    Screen("course", f"/courses/{COURSE}/", catalog=True, shows="Log in to start this course"),
    Screen("course-signed-in", f"/courses/{COURSE}/", who=LEARNER, catalog=True,
           prepare=complete_first_lesson, shows=f"Continue: {NEXT_READING_TITLE}"),
    Screen("lesson-reading", f"/courses/{COURSE}/{READING}/", who=LEARNER, catalog=True,
           shows="Check your understanding"),
    Screen("lesson-lecture", f"/courses/{COURSE}/{LECTURE}/", who=LEARNER, catalog=True,
           prepare=want_captions, shows="Download the captions"),
    Screen("lesson-practice-feedback", f"/courses/{COURSE}/{READING}/practice/", who=LEARNER,
           catalog=True, arrive=check_answers, shows="Not quite."),
    Screen("course-new-version", f"/courses/{COURSE}/", who=LEARNER, catalog=True,
           prepare=start_then_release, shows="Version 1.1.0 of this course is available"),
    Screen("dashboard-continue", "/dashboard/", who=LEARNER, catalog=True,
           prepare=enrol_and_open_lecture, shows="Continue where you left off"),
    # The skills diagnostic, the profile and the path.
    Screen("diagnostic-roles", "/diagnostic/", who=LEARNER, catalog=True,
           shows="Measure your skills"),
    Screen("diagnostic-start", f"/diagnostic/{ROLE}/", who=LEARNER, catalog=True,
           shows="how much have you worked with each area"),
    Screen("diagnostic-start-errors", f"/diagnostic/{ROLE}/", who=LEARNER, catalog=True,
           status=422, arrive=submit_empty_diagnostic_start, shows="Tell us your experience"),
    Screen("diagnostic-question", "/diagnostic/", who=LEARNER, catalog=True,
           arrive=start_diagnostic_in_form, shows="Question 1"),
    Screen("diagnostic-question-code", "/diagnostic/", who=LEARNER, catalog=True,
           prepare=diagnostic_showing("code"), arrive=resume_diagnostic, shows="SELECT"),
    Screen("diagnostic-question-multi", "/diagnostic/", who=LEARNER, catalog=True,
           prepare=diagnostic_showing("multi"), arrive=resume_diagnostic,
           shows="Select all that apply"),
    Screen("diagnostic-question-numeric", "/diagnostic/", who=LEARNER, catalog=True,
           prepare=diagnostic_showing("numeric"), arrive=resume_diagnostic,
           shows="Your answer"),
    Screen("diagnostic-question-error", "/diagnostic/", who=LEARNER, catalog=True, status=422,
           prepare=diagnostic_showing("single"), arrive=submit_without_answer,
           shows="Choose an answer"),
    Screen("skills-unmeasured", "/my/skills/", who=LEARNER, catalog=True,
           shows="Take the skills diagnostic"),
    Screen("skills-profile", "/my/skills/", who=LEARNER, catalog=True,
           prepare=finish_diagnostic, shows="You need"),
    Screen("diagnostic-review", "/my/skills/", who=LEARNER, catalog=True,
           prepare=finish_diagnostic, arrive=review_answers, shows="correct answer"),
    Screen("path", "/my/path/", who=LEARNER, catalog=True, prepare=finish_diagnostic,
           shows="Lessons, in order"),
    Screen("test-out", "/my/path/test-out/sql-querying/", who=LEARNER, catalog=True,
           prepare=finish_diagnostic, shows="Test out of"),
    Screen("dashboard-skills", "/dashboard/", who=LEARNER, catalog=True,
           prepare=finish_diagnostic, shows="Open my learning path"),
    Screen("item-analysis", "/authoring/item-analysis/", who=LEARNER, catalog=True,
           prepare=make_author_after_a_diagnostic, shows="sql-querying-1"),
    Screen("labs", "/labs/", who=LEARNER, catalog=True, prepare=with_a_graded_lab,
           shows="Predict which telecom customers will leave"),
    Screen("lab", "/labs/telco-churn/", who=LEARNER, catalog=True, prepare=with_a_graded_lab,
           shows="Your solution (Python)"),
    Screen("lab-submit-errors", "/labs/telco-churn/", who=LEARNER, status=400, catalog=True,
           prepare=with_a_graded_lab, arrive=submit_empty_lab, shows="is empty"),
    Screen("lab-submission", "/labs/telco-churn/", who=LEARNER, catalog=True,
           prepare=with_a_graded_lab, arrive=open_my_submission, shows="Passed"),
    Screen("lab-leaderboard", "/labs/telco-churn/leaderboard/", who=LEARNER, catalog=True,
           prepare=with_a_graded_lab, shows="(you)"),
    Screen("lab-portfolio", "/labs/portfolio/", who=LEARNER, catalog=True,
           prepare=with_a_graded_lab, shows="comes with credentials"),
    # Certification exams.
    Screen("exams", "/exams/", who=LEARNER, catalog=True, prepare=with_exam,
           shows="Data analyst certification exam"),
    Screen("exam-overview", f"/exams/{PROGRAM}/", who=LEARNER, catalog=True, prepare=with_exam,
           shows="How the passing standard was set"),
    Screen("exam-sitting", "/exams/", who=LEARNER, catalog=True, prepare=exam_in_progress,
           arrive=resume_exam, shows=f"Question 3 of {EXAM_LENGTH}"),
    Screen("exam-review", "/exams/", who=LEARNER, catalog=True, prepare=exam_in_progress,
           arrive=open_exam_review, shows="Submit the exam"),
    Screen("exam-report", "/exams/", who=LEARNER, catalog=True, prepare=exam_finished,
           arrive=open_exam_report, shows="500 is the passing standard"),
    Screen("fairness-audit", "/authoring/fairness/", who=LEARNER, catalog=True,
           prepare=with_a_fairness_audit,
           shows="Harder for women than for men of the same ability."),
    # Credentials: public pages are prepared with Ada's account and opened by a visitor.
    Screen("credential", "/credentials/", catalog=True, prepare=with_a_credential,
           arrive=open_the_credential, shows="Check it yourself"),
    Screen("verify-credential", "/credentials/verify/", shows="Or choose its .json file"),
    Screen("verify-credential-errors", "/credentials/verify/", status=400, arrive=verify_junk,
           shows="That is not JSON"),
    Screen("verify-credential-result", "/credentials/verify/", catalog=True,
           prepare=with_a_credential, arrive=verify_the_credential, shows="Verification details"),
    Screen("my-credentials", "/my/credentials/", who=LEARNER, catalog=True,
           prepare=with_a_credential, shows="Add to LinkedIn profile"),
    Screen("my-credentials-empty", "/my/credentials/", who=LEARNER, shows="No credentials yet"),
    Screen("portfolio-settings", "/my/portfolio/", who=LEARNER, catalog=True,
           prepare=with_a_credential, shows="Make my portfolio public"),
    Screen("portfolio", "/p/", catalog=True, prepare=with_a_credential,
           arrive=open_the_portfolio, shows="Data analyst, SQL and Python"),
    Screen("staff-credential", "/staff/credentials/", who=LEARNER, catalog=True,
           prepare=with_a_revoked_credential_as_staff, arrive=open_the_staff_page,
           shows="The report was unfounded"),
    # Notifications.
    Screen("notifications-empty", "/notifications/", who=LEARNER, shows="Nothing new"),
    Screen("notifications", "/notifications/", who=LEARNER, catalog=True,
           prepare=with_notifications,
           shows="A mentor answered your question"),
    # Community and mentoring.
    Screen("community", "/community/", who=LEARNER, shows="Discussions of your courses"),
    Screen("study-groups", "/community/groups/", who=LEARNER, shows="Start a group"),
    Screen("mentoring", "/mentoring/", who=LEARNER),
    Screen("live-sessions", "/mentoring/live/", who=LEARNER,
           shows="No live sessions are scheduled"),
    # Business simulations.
    Screen("simulations", "/simulations/", who=LEARNER, catalog=True, prepare=with_simulations,
           shows=SCENARIO_TITLE),
    Screen("simulation", f"/simulations/{SCENARIO}/", who=LEARNER, catalog=True,
           prepare=with_simulations, shows="No runs yet"),
    Screen("simulation-two-runs", f"/simulations/{SCENARIO}/", who=LEARNER, catalog=True,
           prepare=with_two_simulation_runs, shows="Compare runs 1 and 2"),
    Screen("simulation-run", f"/simulations/{SCENARIO}/runs/2/", who=LEARNER, catalog=True,
           prepare=with_two_simulation_runs, shows="Debrief: why the numbers moved"),
    Screen("simulation-compare", f"/simulations/{SCENARIO}/compare/?run=1&run=2", who=LEARNER,
           catalog=True, prepare=with_two_simulation_runs, shows="Why run 2 differs from run 1"),
]


def furnish(learner: User, other: User) -> None:
    """Give the learner what a real account has, so tables and lists are not empty."""
    services.update_profile(learner, learner, {"display_name": "Ada Lovelace-Byron"})
    services.create_token(learner, name="nightly export")
    revoked, _secret = services.create_token(learner, name="old laptop")
    services.revoke_token(learner, revoked.pk)
    org = services.create_organization(
        learner, name=TEAM_NAME, kind=Organization.Kind.COMPANY
    )
    services.add_member(learner, org, email=other.email, role="member")


def visit(page: Page, screen: Screen) -> Page:
    """Arrive on the screen the way a person would and check the server answered as meant."""
    response = page.goto(screen.path) if screen.arrive is None else screen.arrive(page)
    assert response is not None
    assert response.status == screen.status, (
        f"{screen.name}: {response.url} answered {response.status}, expected {screen.status}"
    )
    page.wait_for_load_state("load")
    if screen.shows:
        expect(page.locator("main")).to_contain_text(screen.shows)
    problems = problems_of(page)
    assert not problems, f"{screen.name}: broken assets or CSP refusals: {problems}"
    return page

