from django.apps import AppConfig


class CredentialsConfig(AppConfig):
    name = "upskill.credentials"
    label = "credentials"
    verbose_name = "Credentials"

    def ready(self) -> None:
        from upskill.catalog import services as catalog
        from upskill.credentials import renewal

        # A major content release asks holders to renew (runs inside the import).
        catalog.register_package_writer(renewal.mark_renewal_due)
