from django.urls import path

from upskill.labs import views

app_name = "labs"

urlpatterns = [
    path("labs/", views.lab_list, name="list"),
    path("labs/portfolio/", views.portfolio, name="portfolio"),
    path("labs/<slug:slug>/", views.lab_detail, name="detail"),
    path("labs/<slug:slug>/submit/", views.submit, name="submit"),
    path("labs/<slug:slug>/starter.<str:kind>", views.starter, name="starter"),
    path("labs/<slug:slug>/data.csv", views.training_data, name="training_data"),
    path("labs/<slug:slug>/submissions/<int:submission_id>/", views.submission,
         name="submission"),
    path("labs/<slug:slug>/submissions/<int:submission_id>/status/", views.submission_status,
         name="submission_status"),
    path("labs/<slug:slug>/leaderboard/", views.leaderboard, name="leaderboard"),
]
