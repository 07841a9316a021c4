"""Create the demo people and organization (idempotent) and print how to log in."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from upskill.accounts import services
from upskill.accounts.models import Organization, User

DEMO_PEOPLE = [
    # email, display name, password, platform roles
    ("learner@demo.upskill.test", "Dana Learner", "demo-learner-2026", []),
    ("mentor@demo.upskill.test", "Maya Mentor", "demo-mentor-2026", ["mentor"]),
    ("author@demo.upskill.test", "Arjun Author", "demo-author-2026", ["author"]),
    ("staff@demo.upskill.test", "Sam Staff", "demo-staff-2026", ["staff"]),
]


class Command(BaseCommand):
    help = "Load demo people and a demo organization, then print the demo logins."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("Refusing to load demo accounts with known passwords in production.")
        with transaction.atomic():
            people = {email: self._person(email, name, password, roles)
                      for email, name, password, roles in DEMO_PEOPLE}
            self._organization(people)
        self.stdout.write("Demo logins (email / password):")
        for email, name, password, roles in DEMO_PEOPLE:
            label = ", ".join(["learner", *roles])
            self.stdout.write(f"  {email:32} {password:20} {name} ({label})")

    def _person(self, email: str, name: str, password: str, roles: list[str]) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = services.sign_up(email=email, password=password, display_name=name)
        else:
            user.set_password(password)
            user.save(update_fields=["password"])
        for role in roles:
            services.grant_role(None, user, role)
        if "staff" in roles and not user.is_superuser:
            user.is_superuser = True
            user.save(update_fields=["is_superuser"])
        return user

    def _organization(self, people: dict[str, User]) -> None:
        if Organization.objects.filter(slug="northwind-analytics").exists():
            return
        manager = people["mentor@demo.upskill.test"]
        org = services.create_organization(manager, name="Northwind Analytics", kind="company")
        if org.slug != "northwind-analytics":
            org.slug = "northwind-analytics"
            org.save(update_fields=["slug"])
        services.add_member(manager, org, email="learner@demo.upskill.test", role="member")
