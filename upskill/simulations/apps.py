from django.apps import AppConfig


class SimulationsConfig(AppConfig):
    name = "upskill.simulations"
    label = "simulations"
    verbose_name = "Simulations"

    def ready(self) -> None:
        from upskill.catalog import services as catalog
        from upskill.simulations import services

        catalog.register_package_writer(services.write_scenarios)
        catalog.register_content_check(services.check_scenarios)
