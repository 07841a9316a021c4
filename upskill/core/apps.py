from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class CoreConfig(AppConfig):
    name = "upskill.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        # Every app's tasks.py registers its job handlers; a worker must know them all.
        autodiscover_modules("tasks")
