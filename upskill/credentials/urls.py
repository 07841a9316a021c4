from django.urls import path

from upskill.credentials import views

app_name = "credentials"

urlpatterns = [
    path("credentials/status/<str:purpose>/<int:number>", views.status_list,
         name="status_list"),
    path("credentials/<uuid:public_id>.json", views.credential_json, name="json"),
    path(".well-known/did.json", views.did_json, name="did_json"),
    # The human pages (public: the verification page, verifying, certificates, portfolios).
    path("credentials/verify/", views.verify_page, name="verify"),
    path("credentials/<uuid:public_id>/", views.credential_page, name="page"),
    path("credentials/<uuid:public_id>/certificate.pdf", views.certificate_pdf,
         name="certificate_pdf"),
    path("credentials/<uuid:public_id>/certificate.png", views.certificate_png,
         name="certificate_png"),
    path("my/credentials/", views.my_credentials, name="mine"),
    path("my/credentials/<uuid:public_id>/portfolio", views.show_in_portfolio,
         name="show_in_portfolio"),
    path("my/portfolio/", views.portfolio_settings, name="portfolio_settings"),
    path("p/<slug:handle>/", views.public_portfolio, name="portfolio"),
    path("staff/credentials/<uuid:public_id>/", views.staff_credential, name="staff"),
]
