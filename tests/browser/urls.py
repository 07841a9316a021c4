"""The site's URLs, with /media/ served from MEDIA_ROOT as it is when asked.

``upskill.urls`` binds MEDIA_ROOT when it is imported, which is right for a
server; the browser tests move MEDIA_ROOT to a temporary folder after that, so
the narrated lectures they build must be served from the setting of the moment.
"""

from __future__ import annotations

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse
from django.urls import re_path
from django.views.static import serve

from upskill import urls as site


def serve_media(request: HttpRequest, path: str) -> HttpResponse | FileResponse:
    return serve(request, path, document_root=str(settings.MEDIA_ROOT))


urlpatterns = [re_path(r"^media/(?P<path>.+)$", serve_media), *site.urlpatterns]
handler404 = site.handler404
handler500 = site.handler500
