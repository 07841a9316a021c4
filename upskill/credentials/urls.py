from django.urls import path

from upskill.credentials import views

app_name = "credentials"

urlpatterns = [
    path("credentials/status/<str:purpose>/<int:number>", views.status_list,
         name="status_list"),
    path("credentials/<uuid:public_id>.json", views.credential_json, name="json"),
    path(".well-known/did.json", views.did_json, name="did_json"),
]
