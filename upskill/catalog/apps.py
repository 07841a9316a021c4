from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "upskill.catalog"
    label = "catalog"
    verbose_name = "Catalog"
