"""``manage.py credentials rotate-key|issue-missing|send-reminders``: retire the signing key and
make a new one current; issue the credentials of passed exams whose issuing job failed; send the
renewal reminders due now (the worker also does it daily)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from upskill.core.errors import DomainError
from upskill.credentials import renewal, services
from upskill.credentials.keys import KeyUnavailable


class Command(BaseCommand):
    help = ("Manage the credential signing key. rotate-key: retire the current key (it stays "
            "listed in did.json) and make a new one current — generated in embedded mode, or "
            "the key now in UPSKILL_CREDENTIALS_KEY_FILE. issue-missing: issue now the "
            "credentials of passed exams that have none (after failed issuing jobs). "
            "send-reminders: email the renewal reminders due now (90, 30 and 7 days before "
            "expiry, once each) and make sure the daily run is scheduled.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["rotate-key", "issue-missing", "send-reminders"])

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        try:
            if action == "issue-missing":
                issued = services.issue_missing()
                self.stdout.write(self.style.SUCCESS(f"Issued {len(issued)} credential(s)."))
                return
            if action == "send-reminders":
                sent = renewal.send_renewal_reminders()
                renewal.schedule_reminders()
                self.stdout.write(self.style.SUCCESS(f"Sent {sent} renewal reminder(s)."))
                return
            key = services.rotate_key(None)
        except (DomainError, KeyUnavailable) as error:
            raise CommandError(str(getattr(error, "detail", error))) from error
        self.stdout.write(self.style.SUCCESS(
            f"Key {key.number} ({key.public_key_multibase}) is now current."))
