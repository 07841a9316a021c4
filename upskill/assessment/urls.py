from django.urls import path

from upskill.assessment import analysis_views, exam_views, views

app_name = "assessment"

urlpatterns = [
    path("authoring/item-analysis/", analysis_views.item_analysis, name="item_analysis"),
    path("authoring/item-analysis/recalibrate/", analysis_views.schedule_calibration,
         name="schedule_calibration"),
    path("authoring/fairness/", analysis_views.fairness, name="fairness"),
    path("authoring/fairness/run/", analysis_views.run_fairness_audit, name="run_fairness_audit"),
    path("authoring/fairness/pull/", analysis_views.pull_item, name="pull_item"),
    path("authoring/fairness/restore/", analysis_views.restore_item, name="restore_item"),
    path("diagnostic/", views.choose_role, name="choose_role"),
    path("diagnostic/attempts/<int:attempt_id>/", views.attempt, name="attempt"),
    path("diagnostic/attempts/<int:attempt_id>/abandon/", views.abandon, name="abandon"),
    path("diagnostic/attempts/<int:attempt_id>/review/", views.review, name="review"),
    path("diagnostic/<slug:role_slug>/", views.start, name="start"),
    path("exams/", exam_views.exam_list, name="exams"),
    path("exams/attempts/<int:attempt_id>/", exam_views.sitting, name="exam_attempt"),
    path("exams/attempts/<int:attempt_id>/save/", exam_views.save, name="exam_save"),
    path("exams/attempts/<int:attempt_id>/move/", exam_views.move, name="exam_move"),
    path("exams/attempts/<int:attempt_id>/review/", exam_views.review, name="exam_review"),
    path("exams/attempts/<int:attempt_id>/finish/", exam_views.finish, name="exam_finish"),
    path("exams/attempts/<int:attempt_id>/signal/", exam_views.signal, name="exam_signal"),
    path("exams/attempts/<int:attempt_id>/report/", exam_views.score_report,
         name="exam_report"),
    path("exams/<slug:program_slug>/", exam_views.overview, name="exam_overview"),
    path("exams/<slug:program_slug>/start/", exam_views.start, name="exam_start"),
]
