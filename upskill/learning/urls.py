from django.urls import path

from upskill.learning import views

app_name = "learning"

urlpatterns = [
    path("programs/<slug:program_slug>/enrol/", views.enrol, name="enrol"),
    path("courses/<slug:slug>/", views.course, name="course"),
    path("courses/<slug:slug>/move/", views.move_release, name="move_release"),
    path("courses/<slug:slug>/<slug:lesson_slug>/", views.lesson, name="lesson"),
    path("courses/<slug:slug>/<slug:lesson_slug>/complete/", views.complete, name="complete"),
    path("courses/<slug:slug>/<slug:lesson_slug>/practice/", views.practice, name="practice"),
]
