from django.urls import path

from upskill.assessment import analysis_views, views

app_name = "assessment"

urlpatterns = [
    path("authoring/item-analysis/", analysis_views.item_analysis, name="item_analysis"),
    path("authoring/item-analysis/recalibrate/", analysis_views.schedule_calibration,
         name="schedule_calibration"),
    path("diagnostic/", views.choose_role, name="choose_role"),
    path("diagnostic/attempts/<int:attempt_id>/", views.attempt, name="attempt"),
    path("diagnostic/attempts/<int:attempt_id>/abandon/", views.abandon, name="abandon"),
    path("diagnostic/attempts/<int:attempt_id>/review/", views.review, name="review"),
    path("diagnostic/<slug:role_slug>/", views.start, name="start"),
]
