"""Small content packages written into a temporary folder, for import tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")


def package_yaml(pid: str, version: str = "1.0.0") -> str:
    return f"""
    id: {pid}
    title: {pid.replace('-', ' ').title()}
    version: {version}
    changelog:
      - version: {version}
        date: 2026-11-26
        changes: [Release {version}.]
    """


def lesson_md(slug: str, skills: str = "[sql-querying]", body: str = "Some text.",
              kind: str = "reading", minutes: int = 6) -> str:
    return (
        f"---\nslug: {slug}\ntitle: {slug.replace('-', ' ').title()}\nkind: {kind}\n"
        f"minutes: {minutes}\nskills: {skills}\n---\n{body}\n"
    )


QUESTIONS = """
- id: q-1
  skill: sql-querying
  stem: Which clause filters rows?
  options: [ORDER BY, WHERE, GROUP BY]
  answer: 1
  explanation: WHERE keeps the rows for which the condition is true.
- id: q-2
  skill: sql-querying
  stem: Which clause sorts rows?
  options: [ORDER BY, WHERE]
  answer: 0
  explanation: ORDER BY sorts.
"""


@pytest.fixture
def content_root(tmp_path: Path) -> Path:
    """A valid tree: a taxonomy package and one course package with two lessons."""
    root = tmp_path / "content"
    taxo = root / "taxonomy"
    write(taxo / "package.yaml", package_yaml("taxonomy"))
    write(taxo / "skills.yaml", """
    - slug: data-literacy
      name: Data literacy
      category: foundations
      description: Reads tables and charts critically.
    - slug: sql-querying
      name: Querying data with SQL
      category: data
      description: Writes SELECT queries that filter and sort.
      prerequisites: [data-literacy]
    """)
    write(taxo / "roles.yaml", """
    - slug: data-analyst
      title: Data analyst
      for_whom: People who like answering questions with data.
      tasks: [Write SQL to answer business questions.]
      skills: {sql-querying: 3, data-literacy: 2}
      program:
        slug: data-analyst-certificate
        title: Data analyst certificate
        courses: [sql-basics]
    """)
    course = root / "sql-basics"
    write(course / "package.yaml", package_yaml("sql-basics"))
    write(course / "course.yaml", """
    slug: sql-basics
    title: SQL basics
    summary: Answer questions with SELECT.
    level: foundations
    audience: Anyone.
    modules:
      - slug: select
        title: Select
        lessons: [where-clause, churn-queries]
    """)
    write(course / "lessons" / "where-clause.md", lesson_md("where-clause"))
    write(course / "lessons" / "churn-queries.md", lesson_md(
        "churn-queries", body="## Churn\n\nFind customers who **churned** last month."))
    write(course / "questions" / "where-clause.yaml", QUESTIONS)
    write(course / "questions" / "churn-queries.yaml", QUESTIONS)
    return root


def release_new_course_version(root: Path, lesson_slug: str, old: str, new: str) -> None:
    """Rewrite part of one lesson of sql-basics and import it as version 1.1.0."""
    from upskill.catalog import services as catalog

    lesson = root / "sql-basics" / "lessons" / f"{lesson_slug}.md"
    text = lesson.read_text()
    assert old in text
    lesson.write_text(text.replace(old, new))
    write(root / "sql-basics" / "package.yaml", """
    id: sql-basics
    title: SQL basics
    version: 1.1.0
    changelog:
      - version: 1.1.0
        date: 2026-12-01
        changes: [Rewrote the WHERE lesson with a clearer example.]
      - version: 1.0.0
        date: 2026-11-26
        changes: [Release 1.0.0.]
    """)
    assert catalog.import_content(root).released == [("sql-basics", "1.1.0")]


def bank_items(skill: str, count: int = 8) -> str:
    """``count`` items for one skill, cycling through the four kinds and ratings 1..5.

    Keys are chosen so that tests can answer right or wrong on purpose: single and code items
    have key 0, multi items key [0, 1], numeric items key 42 (tolerance 0.5).
    """
    blocks = []
    for n in range(1, count + 1):
        kind = ("single", "multi", "numeric", "code")[(n - 1) % 4]
        head = (f"- id: {skill}-{n}\n  kind: {kind}\n  difficulty: {(n - 1) % 5 + 1}\n"
                f"  stem: Question {n} about `{skill}`?\n"
                f"  explanation: Because item {n} of {skill} says so.\n")
        if kind == "numeric":
            body = "  answer: 42\n  tolerance: 0.5\n  unit: '%'\n"
        elif kind == "multi":
            body = "  options: [Right A, Right B, Wrong C, Wrong D]\n  answer: [0, 1]\n"
        else:
            body = "  options: [Right, Wrong one, Wrong two, Wrong three]\n  answer: 0\n"
            if kind == "code":
                body += ("  language: sql\n  code: |\n    SELECT id\n    FROM t\n"
                         "    WHERE x > 1\n")
        blocks.append(head + body)
    return "\n".join(blocks)


@pytest.fixture
def diagnostic_root(content_root: Path) -> Path:
    """``content_root`` plus a diagnostic bank with eight items for each of its two skills."""
    bank = content_root / "diagnostic-bank"
    write(bank / "package.yaml", package_yaml("diagnostic-bank"))
    for skill in ("data-literacy", "sql-querying"):
        (bank / "items").mkdir(parents=True, exist_ok=True)
        (bank / "items" / f"{skill}.yaml").write_text(bank_items(skill), encoding="utf-8")
    return content_root


def exam_items(skill: str, count: int) -> str:
    """Exam-pool items (ids ``x-<skill>-<n>``) with the same answer keys as :func:`bank_items`."""
    return bank_items(skill, count).replace(f"- id: {skill}-", f"- id: x-{skill}-")


def exam_yaml(form: str = "adaptive", *, min_items: int = 6, max_items: int = 12,
              minutes: int = 30, labs: str = "[]", max_attempts: int = 3, wait_days: int = 14,
              per_skill: int = 20) -> str:
    """The fixture role's exam: two areas (one skill each), Angoff ratings for every item."""
    ratings = "\n".join(
        f"    x-{skill}-{n}: [0.6, 0.65, 0.7]"
        for skill in ("data-literacy", "sql-querying") for n in range(1, per_skill + 1))
    return f"""
program: data-analyst-certificate
title: Data analyst certification exam
summary: Shows you can answer business questions with data.
form: {form}
items: {{min: {min_items}, max: {max_items}}}
time_limit_minutes: {minutes}
confidence: 0.95
blueprint:
  - area: Reading data
    weight: 0.4
    min_items: 2
    skills: [data-literacy]
  - area: Querying data
    weight: 0.6
    min_items: 3
    skills: [sql-querying]
cut_score:
  method: modified-angoff
  panel: Three test authors rated each item independently.
  raters: [a, b, c]
  ratings:
{ratings}
eligibility:
  labs: {labs}
attempts:
  max: {max_attempts}
  wait_days: {wait_days}
valid_months: 24
"""


def write_exam_bank(root: Path, exam: str, per_skill: int = 20, version: str = "1.0.0") -> None:
    bank = root / "exam-bank"
    write(bank / "package.yaml",
          textwrap.dedent(package_yaml("exam-bank", version)) + "item_pool: exam\n")
    for skill in ("data-literacy", "sql-querying"):
        (bank / "items").mkdir(parents=True, exist_ok=True)
        (bank / "items" / f"{skill}.yaml").write_text(exam_items(skill, per_skill),
                                                      encoding="utf-8")
    (bank / "exams").mkdir(parents=True, exist_ok=True)
    (bank / "exams" / "data-analyst-certificate.yaml").write_text(exam.lstrip(),
                                                                  encoding="utf-8")
