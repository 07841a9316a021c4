from django.apps import AppConfig


class CommunityConfig(AppConfig):
    name = "upskill.community"
    label = "community"
    verbose_name = "Community"

    def ready(self) -> None:
        # Peer-review assignments are content: checked at validation, written at import.
        from upskill.catalog import services as catalog
        from upskill.community import review_content

        catalog.register_package_writer(review_content.write_peer_reviews)
        catalog.register_content_check(review_content.check_peer_reviews)
