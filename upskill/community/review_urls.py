"""Peer review pages, included from ``upskill/urls.py`` with
``path("", include("upskill.community.review_urls"))`` (namespace ``peer_review``)."""

from django.urls import path

from upskill.community import review_content_views
from upskill.community import review_views as views

app_name = "peer_review"

urlpatterns = [
    # Before the round pages: "open" would otherwise be read as a round's slug (open_round
    # refuses it as a slug).
    path("community/reviews/open/", review_content_views.open_rounds, name="open"),
    path("community/reviews/open/<slug:template_slug>/", review_content_views.open_template,
         name="open_template"),
    path("community/reviews/<slug:slug>/", views.activity, name="activity"),
    path("community/reviews/<slug:slug>/write-up/", views.submit, name="submit"),
    path("community/reviews/<slug:slug>/training/", views.training, name="training"),
    path("community/reviews/<slug:slug>/next/", views.next_review, name="next"),
    path("community/reviews/<slug:slug>/feedback/", views.feedback, name="feedback"),
    path("community/reviews/<slug:slug>/staff/", views.staff, name="staff"),
    path("community/reviews/<slug:slug>/escalations/<int:escalation_id>/resolve/",
         views.resolve, name="resolve"),
    path("community/reviews/assignments/<int:assignment_id>/", views.review, name="review"),
    path("community/reviews/write-ups/<int:write_up_id>/", views.write_up, name="write_up"),
]
