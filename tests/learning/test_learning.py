"""Enrolment, the lesson player, progress, release pinning and catalog pages."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.content_fixtures import release_new_course_version
from upskill.catalog import services as catalog
from upskill.learning import services
from upskill.learning.models import CoursePin, Enrollment


@pytest.fixture
def catalog_loaded(content_root: Path) -> Path:
    report = catalog.import_content(content_root)
    assert report.ok, report.problems
    return content_root


def release_new_version(root: Path) -> None:
    release_new_course_version(root, "where-clause", "Some text.", "Clearer text about WHERE.")


@pytest.mark.django_db
class TestEnrolAndProgress:
    def test_enrol_is_idempotent_and_unknown_program_is_404(self, catalog_loaded, learner,
                                                          client_for):
        client = client_for(learner)
        response = client.post("/programs/data-analyst-certificate/enrol/")
        assert response.status_code == 302
        assert response["Location"] == "/courses/sql-basics/"
        client.post("/programs/data-analyst-certificate/enrol/")
        assert Enrollment.objects.filter(user=learner).count() == 1
        assert client.post("/programs/no-such/enrol/").status_code == 404

    def test_open_complete_and_continue(self, catalog_loaded, learner, client_for):
        client = client_for(learner)
        page = client.get("/courses/sql-basics/where-clause/")
        assert page.status_code == 200
        assert "Which clause filters rows?" in page.content.decode()
        response = client.post("/courses/sql-basics/where-clause/complete/")
        assert response["Location"] == "/courses/sql-basics/churn-queries/"
        client.get("/courses/sql-basics/churn-queries/")
        assert services.continue_point(learner).slug == "churn-queries"
        dashboard = client.get("/dashboard/").content.decode()
        assert "Continue where you left off" in dashboard and "Churn Queries" in dashboard
        assert "6 of 180 minutes" in dashboard

    def test_practice_feedback(self, catalog_loaded, learner, client_for):
        client = client_for(learner)
        client.get("/courses/sql-basics/where-clause/")
        questions = list(catalog.current_course("sql-basics").modules.first()
                         .lessons.get(slug="where-clause").questions.all())
        response = client.post("/courses/sql-basics/where-clause/practice/", {
            f"q{questions[0].pk}": "1", f"q{questions[1].pk}": "9"})
        body = response.content.decode()
        assert response.status_code == 200
        assert "Correct." in body and "Not answered." in body

    def test_progress_is_private(self, catalog_loaded, learner, other_learner, client_for):
        client_for(learner).post("/courses/sql-basics/where-clause/complete/")
        assert services.course_for(other_learner, "sql-basics").completed == frozenset()
        dashboard = client_for(other_learner).get("/dashboard/").content.decode()
        assert "Continue where you left off" not in dashboard

    def test_unknown_course_or_lesson_is_404(self, catalog_loaded, learner, client_for):
        client = client_for(learner)
        assert client.get("/courses/nope/").status_code == 404
        assert client.get("/courses/sql-basics/nope/").status_code == 404

    def test_lesson_needs_login_but_course_outline_is_public(self, catalog_loaded, client):
        assert client.get("/courses/sql-basics/").status_code == 200
        assert client.get("/courses/sql-basics/where-clause/").status_code == 302


@pytest.mark.django_db
class TestReleasePinning:
    def test_learner_mid_course_stays_sees_changelog_and_can_move(
            self, catalog_loaded, learner, client_for):
        client = client_for(learner)
        client.post("/courses/sql-basics/where-clause/complete/")
        release_new_version(catalog_loaded)

        page = client.get("/courses/sql-basics/where-clause/").content.decode()
        assert "Some text." in page and "Clearer text" not in page
        assert "Version 1.1.0 of this course is available" in page
        assert "Rewrote the WHERE lesson" in page

        newcomer_state = services.course_for(None, "sql-basics")
        assert newcomer_state.course.release.version == "1.1.0"

        response = client.post("/courses/sql-basics/move/")
        assert response.status_code == 302
        page = client.get("/courses/sql-basics/where-clause/").content.decode()
        assert "Clearer text" in page and "is available" not in page
        state = services.course_for(learner, "sql-basics")
        assert state.completed == frozenset({"where-clause"})
        assert CoursePin.objects.get(user=learner).release.version == "1.1.0"

    def test_moving_without_starting_is_a_clear_error(self, catalog_loaded, learner,
                                                     client_for):
        response = client_for(learner).post("/courses/sql-basics/move/")
        assert response.status_code == 409
        assert "not started" in response.content.decode()


@pytest.mark.django_db
class TestCatalogPages:
    def test_roles_guide_and_role_page(self, catalog_loaded, client):
        page = client.get("/roles/").content.decode()
        assert "Data analyst" in page and "Which role fits me?" in page
        guided = client.get("/roles/", {"background": "analysis", "goal": "answers"})
        assert "Roles that fit your answers" in guided.content.decode()
        role = client.get("/roles/data-analyst/").content.decode()
        assert "Querying data with SQL" in role and "SQL basics" in role
        assert client.get("/roles/nope/").status_code == 404

    def test_search_page(self, catalog_loaded, client):
        body = client.get("/search/", {"q": "churn"}).content.decode()
        assert "/courses/sql-basics/churn-queries/" in body
        body = client.get("/search/", {"q": "Querying data with SQL"}).content.decode()
        assert "/skills/sql-querying/" in body and "/roles/data-analyst/" in body
        assert client.get("/search/", {"q": "\"*)(&^"}).status_code == 200

    def test_skill_page(self, catalog_loaded, client):
        body = client.get("/skills/sql-querying/").content.decode()
        assert "Data analyst" in body and "Where Clause" in body
        assert client.get("/skills/nope/").status_code == 404


def test_role_guide_ranks_by_answers():
    from upskill.catalog.role_guide import suggest_roles

    ranked = suggest_roles({"background": "software", "goal": "apps", "code": "lots"})
    assert ranked[0].role_slug == "genai-app-developer"
    assert suggest_roles({"background": "nonsense"}) == []


@pytest.mark.django_db
class TestApi:
    def test_catalog_reads_are_public(self, catalog_loaded, client):
        roles = client.get("/api/v1/catalog/roles").json()
        assert [r["slug"] for r in roles] == ["data-analyst"]
        role = client.get("/api/v1/catalog/roles/data-analyst").json()
        assert role["program"]["courses"] == ["sql-basics"]
        course = client.get("/api/v1/catalog/courses/sql-basics").json()
        assert [lesson["slug"] for lesson in course["modules"][0]["lessons"]] == [
            "where-clause", "churn-queries"]
        lesson = client.get("/api/v1/catalog/courses/sql-basics/lessons/where-clause").json()
        assert "answer" not in lesson["questions"][0]
        hits = client.get("/api/v1/catalog/search", {"q": "churn"}).json()
        assert hits[0]["url"] == "/courses/sql-basics/churn-queries/"
        skills = client.get("/api/v1/catalog/skills").json()
        prerequisites = {s["slug"]: s["prerequisites"] for s in skills}
        assert prerequisites == {"data-literacy": [], "sql-querying": ["data-literacy"]}
        error = client.get("/api/v1/catalog/roles/nope").json()
        assert error["error"] == "not_found"
        assert client.get("/api/v1/catalog/search").status_code == 422

    def test_enrol_and_progress_for_the_caller_only(self, catalog_loaded, learner,
                                                     other_learner):
        from django.test import Client

        from upskill.accounts import services as accounts

        _t, mine = accounts.create_token(learner, name="t")
        _t, theirs = accounts.create_token(other_learner, name="t")
        client = Client()
        auth = f"Bearer {mine}"
        assert client.post("/api/v1/learning/programs/data-analyst-certificate/enrol",
                           HTTP_AUTHORIZATION=auth).status_code == 201
        done = client.post("/api/v1/learning/courses/sql-basics/lessons/where-clause/complete",
                           HTTP_AUTHORIZATION=auth).json()
        assert done["completed"] == ["where-clause"]
        other = client.get("/api/v1/learning/courses/sql-basics/progress",
                           HTTP_AUTHORIZATION=f"Bearer {theirs}").json()
        assert other["completed"] == []
        assert client.get("/api/v1/learning/enrollments",
                          HTTP_AUTHORIZATION=f"Bearer {theirs}").json() == []
        assert client.post("/api/v1/learning/courses/sql-basics/move",
                           HTTP_AUTHORIZATION=f"Bearer {theirs}").status_code == 409
        assert client.get("/api/v1/learning/enrollments").status_code == 401
