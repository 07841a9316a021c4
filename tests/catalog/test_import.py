"""Importing content packages: all-or-nothing, precise problems, releases."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.content_fixtures import package_yaml, write
from upskill.catalog import services
from upskill.catalog.models import Course, Lesson, Question, Release, Role, Skill
from upskill.catalog.packages import find_cycle


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count()
            for model in (Release, Skill, Role, Course, Lesson, Question)}


@pytest.mark.django_db
class TestImport:
    def test_imports_everything(self, content_root: Path):
        report = services.import_content(content_root)
        assert report.ok, report.problems
        assert sorted(report.released) == [("sql-basics", "1.0.0"), ("taxonomy", "1.0.0")]
        assert counts() == {"Release": 2, "Skill": 2, "Role": 1, "Course": 1, "Lesson": 2,
                            "Question": 4}
        sql = Skill.objects.get(slug="sql-querying")
        assert [s.slug for s in sql.prerequisites.all()] == ["data-literacy"]
        role = Role.objects.get(slug="data-analyst")
        assert role.program.course_slugs == ["sql-basics"]
        assert {rs.skill.slug: rs.level for rs in role.required_skills.all()} == {
            "sql-querying": 3, "data-literacy": 2}
        lesson = Lesson.objects.get(slug="churn-queries")
        assert "<strong>churned</strong>" in lesson.body_html

    def test_reimporting_unchanged_content_creates_no_release(self, content_root: Path):
        services.import_content(content_root)
        before = counts()
        report = services.import_content(content_root)
        assert report.ok and report.released == []
        assert report.unchanged == ["sql-basics", "taxonomy"]
        assert counts() == before

    def test_changed_package_needs_a_new_version(self, content_root: Path):
        services.import_content(content_root)
        lesson = content_root / "sql-basics" / "lessons" / "where-clause.md"
        lesson.write_text(lesson.read_text().replace("Some text.", "Better text."))
        report = services.import_content(content_root)
        assert not report.ok
        assert any(p.file == "sql-basics/package.yaml" and p.field == "version"
                   for p in report.problems)
        write(content_root / "sql-basics" / "package.yaml", package_yaml("sql-basics", "1.1.0"))
        report = services.import_content(content_root)
        assert report.released == [("sql-basics", "1.1.0")]
        releases = Release.objects.filter(package__package_id="sql-basics")
        assert releases.count() == 2
        assert releases.get(is_current=True).version == "1.1.0"
        assert Course.objects.filter(slug="sql-basics").count() == 2

    def test_three_different_errors_are_all_reported_and_nothing_is_imported(
            self, content_root: Path):
        course = content_root / "sql-basics"
        (course / "questions" / "where-clause.yaml").write_text("- id: q-1\n  stem: [unclosed\n")
        lesson = course / "lessons" / "churn-queries.md"
        lesson.write_text(lesson.read_text().replace("[sql-querying]", "[sql-wizardry]"))
        skills = content_root / "taxonomy" / "skills.yaml"
        skills.write_text(skills.read_text().replace(
            "category: foundations\n", "category: foundations\n  prerequisites: [sql-querying]\n"))
        report = services.import_content(content_root)
        assert not report.ok
        found = {(p.file, p.field.split(" ")[0]) for p in report.problems}
        reasons = " | ".join(str(p) for p in report.problems)
        assert ("sql-basics/questions/where-clause.yaml", "line") in found, reasons
        assert ("sql-basics/lessons/churn-queries.md", "skills.0") in found, reasons
        assert ("taxonomy/skills.yaml", "[0].prerequisites") in found, reasons
        assert "not valid YAML" in reasons
        assert "unknown skill 'sql-wizardry'" in reasons
        assert "prerequisite cycle" in reasons
        assert counts() == dict.fromkeys(counts(), 0)

    @pytest.mark.parametrize(("relative", "text", "field", "reason"), [
        ("sql-basics/lessons/where-clause.md",
         "---\nslug: where-clause\ntitle: T\nkind: reading\nminutes: 40\nskills: [sql-querying]"
         "\n---\nx\n", "minutes", "less than or equal to 15"),
        ("sql-basics/lessons/where-clause.md", "no front matter", "front matter", "---"),
        ("sql-basics/package.yaml", "id: sql-basics\ntitle: X\nversion: one\nchangelog: []\n",
         "version", "pattern"),
        ("sql-basics/questions/where-clause.yaml",
         "- {id: a, skill: sql-querying, stem: S, options: [x, y], answer: 5, explanation: E}\n",
         "[0].answer", "only 2 options"),
    ])
    def test_field_level_problems(self, content_root, relative, text, field, reason):
        (content_root / relative).write_text(text)
        report = services.validate_content(content_root)
        assert any(p.file == relative and p.field == field and reason in p.reason
                   for p in report.problems), [str(p) for p in report.problems]

    def test_management_command_reports_and_fails(self, content_root: Path, capsys):
        (content_root / "sql-basics" / "course.yaml").write_text("slug: [")
        with pytest.raises(CommandError, match="nothing was imported"):
            call_command("content", "import", str(content_root))
        assert "sql-basics/course.yaml" in capsys.readouterr().err
        assert Release.objects.count() == 0


def test_find_cycle():
    assert find_cycle({"a": ["b"], "b": ["c"], "c": []}) is None
    assert find_cycle({"a": ["b"], "b": ["a"]}) == ["a", "b", "a"]
    assert find_cycle({"a": ["a"]}) == ["a", "a"]


@pytest.mark.django_db
class TestSearch:
    def test_finds_lessons_skills_and_roles(self, content_root: Path):
        services.import_content(content_root)
        hits = services.search("churn")
        assert [(h.kind, h.title) for h in hits][:1] == [("lesson", "Churn Queries")]
        kinds = {h.kind for h in services.search("SQL")}
        assert {"skill", "role"} <= kinds
        assert services.search("") == []
        assert services.search('"); DROP TABLE x; --') == []

    def test_stemming_matches_word_forms(self, content_root: Path):
        services.import_content(content_root)
        assert any(h.kind == "lesson" for h in services.search("churning"))


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["_", "a & b | !c", "C++", "ölçü", "'", "x:*", "(", "AND",
                                   "NEAR(a b)", "*", "the of and", "a" * 300, "\x00"])
def test_search_tolerates_any_text(content_root: Path, query: str):
    services.import_content(content_root)
    hits = services.search(query)
    assert isinstance(hits, list)
