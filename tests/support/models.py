from django.db import models

from upskill.core.models import Job


class RecordedOutcome(models.Model):
    """What the test job kinds record: one row per completed job, if exactly-once holds."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE)
    value = models.IntegerField()
