from django.apps import AppConfig


class LearningConfig(AppConfig):
    name = "upskill.learning"
    label = "learning"
    verbose_name = "Learning"
