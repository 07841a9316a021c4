from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "upskill.accounts"
    label = "accounts"
    verbose_name = "People and organizations"
