from django.apps import AppConfig


class LabsConfig(AppConfig):
    name = "upskill.labs"
    label = "labs"
    verbose_name = "Labs"

    def ready(self) -> None:
        from upskill.catalog import services as catalog
        from upskill.labs import services

        catalog.register_package_writer(services.write_labs)
        catalog.register_known_labs(services.lab_slugs)
