from django.urls import path

from upskill.learning import plan_views, views

app_name = "learning"

urlpatterns = [
    path("my/skills/", plan_views.skills, name="skills"),
    path("my/path/", plan_views.path, name="path"),
    path("my/path/move/", plan_views.move, name="move_step"),
    path("my/path/test-out/<slug:skill_slug>/", plan_views.test_out, name="test_out"),
    path("programs/<slug:program_slug>/enrol/", views.enrol, name="enrol"),
    path("courses/<slug:slug>/", views.course, name="course"),
    path("courses/<slug:slug>/move/", views.move_release, name="move_release"),
    path("courses/<slug:slug>/<slug:lesson_slug>/", views.lesson, name="lesson"),
    path("courses/<slug:slug>/<slug:lesson_slug>/complete/", views.complete, name="complete"),
    path("courses/<slug:slug>/<slug:lesson_slug>/practice/", views.practice, name="practice"),
]
