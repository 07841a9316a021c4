"""Issued credentials, the issuer's keys, status lists and the audit log of status changes.

A ``Credential`` keeps the signed JSON *text* exactly as it was signed (``document``): parse it
to read it, never re-serialize it into the column (re-serializing dates or numbers breaks the
proof). Revocation and suspension live in two places that change together, in one
transaction: the bit in the ``StatusList`` (what outside verifiers read, through the signed list
credential) and ``revoked_at`` / ``suspended_at`` on the credential (what our pages read).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from upskill.assessment.models import ExamAttempt
from upskill.catalog.models import Program, Release


class IssuerKey(models.Model):
    """One Ed25519 signing key of the issuer: its public half and its life. The private half is
    a file (``var/credentials/issuer-key-<number>.pem`` or ``UPSKILL_CREDENTIALS_KEY_FILE``),
    never a database row. Retired keys stay listed in ``did.json`` so that what they signed
    still verifies."""

    number = models.PositiveIntegerField(unique=True, help_text="n of the fragment #key-n")
    public_key_multibase = models.CharField(max_length=64, unique=True,
                                            help_text="z6Mk… (0xed01 + 32 key bytes)")
    created_at = models.DateTimeField(default=timezone.now)
    retired_at = models.DateTimeField(null=True, blank=True)
    is_current = models.BooleanField(default=False)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["is_current"], condition=models.Q(is_current=True),
                                    name="one_current_issuer_key"),
        ]

    def __str__(self) -> str:
        return f"issuer key {self.number}"

    @property
    def fragment(self) -> str:
        return f"key-{self.number}"


class Recipient(models.Model):
    """The stable, opaque id a person's credentials name as their subject (``urn:uuid:…``),
    so that no credential carries an email address."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="credential_recipient")
    subject_uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    def __str__(self) -> str:
        return f"recipient {self.subject_uuid}"


class StatusList(models.Model):
    """A Bitstring Status List (one purpose, one issuer) served at
    ``/credentials/status/<purpose>/<number>``. ``signed`` caches the signed list credential as
    text; it is re-signed whenever a bit changes."""

    class Purpose(models.TextChoices):
        REVOCATION = "revocation", "Revocation"
        SUSPENSION = "suspension", "Suspension"

    purpose = models.CharField(max_length=10, choices=Purpose.choices)
    number = models.PositiveIntegerField()
    issuer = models.CharField(max_length=200, help_text="the DID whose credentials point here")
    bits = models.BinaryField(help_text="the bitstring, entry 0 = most significant bit of byte 0")
    size = models.PositiveIntegerField(help_text="entries; at least 131,072")
    next_index = models.PositiveIntegerField(default=0)
    signed = models.TextField(blank=True, help_text="the signed list credential, as served")
    signed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["purpose", "number"]
        constraints = [
            models.UniqueConstraint(fields=["purpose", "number"], name="one_status_list_number"),
            models.CheckConstraint(condition=models.Q(size__gte=131_072),
                                   name="status_list_at_least_131072"),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} list {self.number}"


class Credential(models.Model):
    """An Open Badges 3.0 credential Upskill issued for a passed certification exam."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="credentials")
    exam_attempt = models.OneToOneField(ExamAttempt, on_delete=models.PROTECT,
                                        related_name="credential")
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="credentials")
    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="credentials",
                                help_text="the exam bank release the credential certifies")
    issuer = models.CharField(max_length=200)
    issuer_key = models.ForeignKey(IssuerKey, on_delete=models.PROTECT,
                                   related_name="credentials")
    issued_at = models.DateTimeField()
    valid_from = models.DateTimeField()
    valid_until = models.DateTimeField(null=True, blank=True)
    document = models.TextField(help_text="the signed JSON, byte for byte as signed")
    revocation_list = models.ForeignKey(StatusList, on_delete=models.PROTECT,
                                        related_name="+")
    revocation_index = models.PositiveIntegerField()
    suspension_list = models.ForeignKey(StatusList, on_delete=models.PROTECT,
                                        related_name="+")
    suspension_index = models.PositiveIntegerField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    suspended_at = models.DateTimeField(null=True, blank=True)
    superseded_by = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True,
                                      related_name="supersedes")
    renewal_due = models.CharField(
        max_length=200, blank=True, help_text="why the holder should renew before expiry "
        "(e.g. a major release of the program's content); empty: nothing asks for it")
    show_in_portfolio = models.BooleanField(default=True)

    class Meta:
        ordering = ["-issued_at"]
        constraints = [
            models.UniqueConstraint(fields=["revocation_list", "revocation_index"],
                                    name="one_credential_per_revocation_bit"),
            models.UniqueConstraint(fields=["suspension_list", "suspension_index"],
                                    name="one_credential_per_suspension_bit"),
        ]
        indexes = [models.Index(fields=["user", "-issued_at"], name="credentials_of_user")]

    def __str__(self) -> str:
        return f"credential {self.public_id}"


class StatusChange(models.Model):
    """Audit log: who set or cleared which status bit of which credential, when, and why."""

    class Action(models.TextChoices):
        SET = "set", "Set"
        CLEARED = "cleared", "Cleared"

    credential = models.ForeignKey(Credential, on_delete=models.CASCADE,
                                   related_name="status_changes")
    purpose = models.CharField(max_length=10, choices=StatusList.Purpose.choices)
    action = models.CharField(max_length=7, choices=Action.choices)
    reason = models.TextField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "pk"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(reason=""), name="status_change_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} {self.action} on {self.credential_id}"


class ApiIssuance(models.Model):
    """Audit log of ``POST /credentials/issue``: staff signed an arbitrary document with our
    key. The signed text is kept so that anything bearing our signature can be accounted for."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="+")
    document_id = models.CharField(max_length=500, blank=True)
    document = models.TextField()
    issuer_key = models.ForeignKey(IssuerKey, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"issued {self.document_id or self.pk} by {self.actor_id}"


class RenewalReminder(models.Model):
    """A reminder sent to the holder before the credential expires (one per step)."""

    credential = models.ForeignKey(Credential, on_delete=models.CASCADE,
                                   related_name="renewal_reminders")
    days_before = models.PositiveSmallIntegerField(help_text="the step: 90, 30 or 7 days")
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["credential", "days_before"],
                                    name="one_reminder_per_step"),
        ]

    def __str__(self) -> str:
        return f"{self.days_before}-day reminder for {self.credential_id}"


class Portfolio(models.Model):
    """A learner's public portfolio page: off until they switch it on; the address is a
    random handle, not their email or id."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="portfolio")
    handle = models.SlugField(max_length=40, unique=True)
    public = models.BooleanField(default=False)
    headline = models.CharField(max_length=160, blank=True)
    show_projects = models.BooleanField(default=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"portfolio {self.handle}"
