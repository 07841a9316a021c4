"""``manage.py content validate|import <folder>``: check or import content packages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from upskill.catalog import lecture_media, services


class Command(BaseCommand):
    help = "Validate or import content packages (see docs/authoring.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["validate", "import", "build-media"])
        parser.add_argument("folder", nargs="?", default="content",
                            help="a content folder or one package folder (default: content)")

    def handle(self, *args: Any, action: str, folder: str, **options: Any) -> None:
        if action == "build-media":
            self._build_media()
            return
        root = Path(folder)
        if not root.is_dir():
            raise CommandError(f"{root} is not a folder.")
        try:
            if action == "validate":
                report = services.validate_content(root)
            else:
                report = services.import_content(root)
        except DatabaseError as error:
            # Validation compares with what is imported, so it needs the tables too.
            raise CommandError(
                f"The database is not ready ({error}); run `manage.py migrate` first."
            ) from error
        for problem in report.problems:
            self.stderr.write(f"  {problem}")
        if not report.ok:
            raise CommandError(
                f"{len(report.problems)} problem(s) found; nothing was imported."
            )
        verb = "would release" if action == "validate" else "released"
        for package_id, version in report.released:
            self.stdout.write(f"  {verb} {package_id} {version}")
        if report.unchanged:
            self.stdout.write(f"  unchanged: {', '.join(report.unchanged)}")
        self.stdout.write(self.style.SUCCESS(
            f"{action}: {len(report.released)} package(s) {verb}, "
            f"{len(report.unchanged)} unchanged."))

    def _build_media(self) -> None:
        """Narrate every lecture that has no media yet, now (without the worker)."""
        lessons = services.lectures_needing_media()
        for lesson in lessons:
            try:
                files = services.build_lecture_media(lesson.pk)
            except lecture_media.MediaToolMissing as missing:
                raise CommandError(str(missing)) from missing
            services.attach_lecture_media(lesson.pk, files)
            self.stdout.write(f"  narrated {lesson.slug}")
        self.stdout.write(self.style.SUCCESS(f"build-media: {len(lessons)} lecture(s) narrated."))
