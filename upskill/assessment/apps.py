from django.apps import AppConfig


class AssessmentConfig(AppConfig):
    name = "upskill.assessment"
    label = "assessment"
    verbose_name = "Assessment"

    def ready(self) -> None:
        from upskill.assessment import certification, services
        from upskill.catalog import services as catalog

        catalog.register_package_writer(services.write_bank_items)
        catalog.register_package_writer(certification.write_exams)
