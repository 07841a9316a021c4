from django.urls import path

from upskill.catalog import views

app_name = "catalog"

urlpatterns = [
    path("roles/", views.roles, name="roles"),
    path("roles/<slug:slug>/", views.role, name="role"),
    path("skills/<slug:slug>/", views.skill, name="skill"),
    path("search/", views.search, name="search"),
]
