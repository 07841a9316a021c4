"""The catalog the browser tests browse: the small import-test tree, grown to what a
learner meets on real pages (two roles, a reading lesson with a code block and a
table, a narrated lecture with captions), imported the way an administrator does.
"""

from __future__ import annotations

from pathlib import Path

from tests.content_fixtures import (
    QUESTIONS,
    bank_items,
    lesson_md,
    package_yaml,
    release_new_course_version,
    write,
)
from upskill.catalog import services as catalog
from upskill.core import jobs
from upskill.core.models import Job

COURSE = "sql-basics"
COURSE_TITLE = "SQL basics"
ROLE = "data-analyst"
ROLE_TITLE = "Data analyst"
PROGRAM = "data-analyst-certificate"
READING = "where-clause"
READING_TITLE = "Where Clause"
NEXT_READING = "churn-queries"
NEXT_READING_TITLE = "Churn Queries"
LECTURE = "reading-query-results"
LECTURE_TITLE = "Reading Query Results"
# What the narrator says; the captions must carry the same words.
LECTURE_SENTENCE = "A query result is a table, and every row answers one small question."

READING_BODY = """
A `WHERE` clause keeps the rows for which its condition is true. Everything else
is left out before the rows are counted, grouped or sorted.

```sql
SELECT customer_id, plan, monthly_revenue_eur, cancelled_at
FROM subscriptions
WHERE cancelled_at >= DATE '2026-10-01' AND cancelled_at < DATE '2026-11-01'
  AND plan IN ('team', 'business')  -- only the paid plans the sales team looks after
ORDER BY monthly_revenue_eur DESC;
```

| customer_id | plan | monthly_revenue_eur | cancelled_at | reason given |
|---|---|---|---|---|
| 1042 | business | 1,240.00 | 2026-10-03 | moved to a competitor |
| 977 | team | 310.00 | 2026-10-17 | budget cut |

Read the condition aloud: *cancelled in October, on a paid plan*. If that is
not the question you were asked, the query is wrong however clean it looks.
"""

LECTURE_BODY = f"""
Welcome to the lecture on reading query results. {LECTURE_SENTENCE}

Before you trust a number, check how many rows produced it. A total from three
rows is a rumour, not a finding.

Next, look at the columns. A column called revenue may hold euros, cents or
pounds, and a blank may mean zero or unknown. Ask whoever owns the table.

Then look at the edges. Sort by the column you care about and read the first
and the last ten rows. Outliers, test accounts and duplicates live there.

Compare the result with something you already know. If last month had about two
thousand orders and your query says twenty, the join or the filter is wrong.

Write down the question the query answers, in one plain sentence. Put that
sentence next to the number whenever you share it.

Finally, keep the query. A result nobody can rerun is a result nobody can check,
and next month someone will ask for the same number again.
"""

ROLES = """
- slug: data-analyst
  title: Data analyst
  for_whom: People who like answering business questions with data.
  tasks: [Write SQL to answer business questions., Explain results to colleagues.]
  skills: {sql-querying: 3, data-literacy: 2}
  program:
    slug: data-analyst-certificate
    title: Data analyst certificate
    courses: [sql-basics]
- slug: supply-chain-analyst
  title: Supply chain analyst
  for_whom: People in operations who want to forecast demand and plan stock with data.
  tasks: [Forecast demand for the next quarter.]
  skills: {data-literacy: 3, sql-querying: 2}
  program:
    slug: supply-chain-certificate
    title: Supply chain analytics certificate
    courses: [sql-basics]
"""

COURSE_YAML = """
slug: sql-basics
title: SQL basics
summary: Answer questions with SELECT.
level: foundations
audience: Anyone who has opened a spreadsheet and wants the same answers from a database.
modules:
  - slug: select
    title: Select
    lessons: [where-clause, churn-queries]
  - slug: results
    title: Reading results
    lessons: [reading-query-results]
  - slug: tables
    title: Tables
    lessons: [what-a-table-is]
"""

# Placed last in the course but teaching sql-querying's prerequisite: a learner who lacks both
# skills must meet it first on their path.
TABLE_LESSON = "what-a-table-is"
TABLE_LESSON_TITLE = "What A Table Is"
TABLE_BODY = """
A table has one row per *thing* (an order, a customer, a day) and one column per fact about
it. Before using a table, say in one sentence what a row is: "one row per order line" is a
different table from "one row per order", and counting rows means different things in each.
"""


def write_catalog(root: Path) -> Path:
    """Grow the import-test tree under ``root`` (``content_root``) into the browsed one."""
    write(root / "taxonomy" / "roles.yaml", ROLES)
    course = root / COURSE
    write(course / "course.yaml", COURSE_YAML)
    write(course / "lessons" / f"{READING}.md", lesson_md(READING, body=READING_BODY))
    write(course / "lessons" / f"{LECTURE}.md",
          lesson_md(LECTURE, kind="lecture", minutes=4, body=LECTURE_BODY))
    write(course / "questions" / f"{LECTURE}.yaml", QUESTIONS)
    write(course / "lessons" / f"{TABLE_LESSON}.md",
          lesson_md(TABLE_LESSON, skills="[data-literacy]", body=TABLE_BODY, minutes=5))
    bank = root / "diagnostic-bank"
    write(bank / "package.yaml", package_yaml("diagnostic-bank"))
    for skill in ("data-literacy", "sql-querying"):
        write(bank / "items" / f"{skill}.yaml", bank_items(skill))
    return root


def import_catalog(root: Path) -> None:
    """Import the tree and narrate its lecture, as the queued background job does.

    Narration is content-addressed: with MEDIA_ROOT kept for the whole session,
    only the first test speaks the lecture (seconds); later ones find the files."""
    report = catalog.import_content(root)
    assert report.ok, report.problems
    for job in Job.objects.filter(kind=catalog.LECTURE_MEDIA_JOB):
        assert jobs.run_job(job.pk) == "done", job.last_error


def release_new_version(root: Path) -> None:
    """Publish version 1.1.0 of the course with a rewritten reading lesson."""
    release_new_course_version(root, READING, "Read the condition aloud",
                               "Say the condition out loud")
