from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import include, path, re_path
from django.views.static import serve as static_serve

from upskill.api import api, vc_api
from upskill.core import views as core_views
from upskill.learning import views as learning_views

urlpatterns = [
    path("", core_views.landing, name="landing"),
    path("dashboard/", learning_views.dashboard, name="dashboard"),
    path("account/", include("upskill.accounts.urls")),
    path("", include("upskill.catalog.urls")),
    path("", include("upskill.learning.urls")),
    path("", include("upskill.assessment.urls")),
    path("", include("upskill.labs.urls")),
    path("", include("upskill.credentials.urls")),
    path("", include("upskill.simulations.urls")),
    path("", include("upskill.mentoring.urls")),
    path("", include("upskill.community.urls")),
    path("", include("upskill.community.review_urls")),
    path("api/v1/", api.urls),
    path("credentials/", vc_api.urls),
    path("notifications/", core_views.notification_list, name="notifications"),
    path("notifications/read/", core_views.notification_read, name="notification_read"),
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("admin/", admin.site.urls),
]


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "error.html", {"status": 404}, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    return render(request, "error.html", {"status": 500}, status=500)


handler404 = page_not_found
handler500 = server_error

if settings.STORAGES["default"]["BACKEND"].endswith("FileSystemStorage"):
    # Embedded mode keeps media (narrated lectures, submissions) on local disk and
    # serves it itself; scaled mode puts it in object storage (docs/deploy.md).
    urlpatterns += [
        re_path(r"^media/(?P<path>.+)$", static_serve, {"document_root": settings.MEDIA_ROOT}),
    ]
