from django.apps import AppConfig


class CommunityConfig(AppConfig):
    name = "upskill.community"
    label = "community"
    verbose_name = "Community"
