from django.urls import path

from upskill.simulations import views

app_name = "simulations"

urlpatterns = [
    path("simulations/", views.scenario_list, name="list"),
    path("simulations/<slug:slug>/", views.scenario_detail, name="detail"),
    path("simulations/<slug:slug>/run/", views.run_parameters, name="run"),
    path("simulations/<slug:slug>/code/", views.submit_code, name="code"),
    path("simulations/<slug:slug>/compare/", views.compare, name="compare"),
    path("simulations/<slug:slug>/runs/<int:number>/", views.run_detail, name="run_detail"),
    path("simulations/<slug:slug>/runs/<int:number>/status/", views.run_status,
         name="run_status"),
]
