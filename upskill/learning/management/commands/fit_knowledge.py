"""``manage.py fit_knowledge [--now] [skill-slug ...]``: fit the skills' BKT parameters."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from upskill.catalog import services as catalog
from upskill.core.errors import NotFound
from upskill.learning import services


class Command(BaseCommand):
    help = ("Fit the knowledge-tracing parameters of skills from the learners' answers: "
            "queue the job for the worker, or fit now with --now.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("skills", nargs="*", metavar="skill-slug",
                            help="skills to fit (default: every skill with answers)")
        parser.add_argument("--now", action="store_true",
                            help="fit in this process instead of queueing a job")

    def handle(self, *args: Any, skills: list[str], now: bool, **options: Any) -> None:
        try:
            skill_ids = [catalog.get_skill(slug).pk for slug in skills] or None
        except NotFound as missing:
            raise CommandError(missing.detail) from missing
        if not now:
            job = services.schedule_knowledge_fit(skill_ids)
            self.stdout.write(self.style.SUCCESS(f"Queued job {job.pk} ({job.kind})."))
            return
        result = services.fit_knowledge(skill_ids)
        stored = services.store_knowledge_fit(result)
        for entry in result["too_little_data"]:
            self.stdout.write(f"  skill {entry['skill_id']}: {entry['n_learners']} learner(s), "
                              "too few to fit; defaults stay")
        self.stdout.write(self.style.SUCCESS(
            f"fit_knowledge: {len(result['fitted'])} skill(s) fitted, {stored} stored."))
