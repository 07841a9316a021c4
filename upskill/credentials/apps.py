from django.apps import AppConfig


class CredentialsConfig(AppConfig):
    name = "upskill.credentials"
    label = "credentials"
    verbose_name = "Credentials"
