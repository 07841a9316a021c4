from django.apps import AppConfig


class MentoringConfig(AppConfig):
    name = "upskill.mentoring"
    label = "mentoring"
    verbose_name = "Mentoring"
