"""``manage.py calibrate_items [--now]``: recalibrate the diagnostic's items from responses."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from upskill.assessment import calibration


class Command(BaseCommand):
    help = ("Recalibrate the diagnostic items from the collected responses, compute item "
            "statistics and re-tune exposure control: queue the job for the worker (one at a "
            "time), or run it in this process with --now.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--now", action="store_true",
                            help="run in this process instead of queueing a job")

    def handle(self, *args: Any, now: bool, **options: Any) -> None:
        if not now:
            job = calibration.schedule_calibration()
            self.stdout.write(self.style.SUCCESS(f"Queued job {job.pk} ({job.kind}, {job.state})."))
            return
        result = calibration.calibrate_items()
        run = calibration.store_calibration(result)
        for group in result["groups"]:
            self.stdout.write(f"  {group['area']} {group['model']}: {group['n_items']} item(s), "
                              f"{group['n_attempts']} attempt(s): {group['status']}")
        if run is None:
            self.stdout.write(self.style.WARNING("A later run was stored meanwhile; "
                                                 "this one was discarded."))
            return
        self.stdout.write(self.style.SUCCESS(
            f"calibrate_items: {run.n_responses} response(s), {run.n_items_calibrated} item(s) "
            f"calibrated, {run.summary['flagged']} flagged."))
