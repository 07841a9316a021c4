from django.db import models

from upskill.core.models import Job


class RecordedOutcome(models.Model):
    """What the test job kinds record: one row per completed job, if exactly-once holds."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE)
    value = models.IntegerField()

    def __str__(self) -> str:
        return f"job {self.job_id}: {self.value}"
