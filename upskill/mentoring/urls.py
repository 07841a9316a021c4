from django.urls import path

from upskill.mentoring import views

app_name = "mentoring"

urlpatterns = [
    path("mentoring/", views.hub, name="hub"),
    path("mentoring/request/", views.request_mentor, name="request"),
    path("mentoring/requests/<int:request_id>/close/", views.close_request, name="close"),
    path("mentoring/requests/<int:request_id>/respond/", views.respond, name="respond"),
    path("mentoring/mentor/", views.mentor_profile, name="mentor_profile"),
    path("mentoring/match/", views.run_matching, name="match"),
    path("mentoring/<int:mentorship_id>/", views.mentorship, name="mentorship"),
    path("mentoring/<int:mentorship_id>/consent/", views.consent, name="consent"),
    path("mentoring/<int:mentorship_id>/book/", views.book, name="book"),
    path("mentoring/<int:mentorship_id>/advice/", views.advice, name="advice"),
    path("mentoring/<int:mentorship_id>/progress/", views.progress, name="progress"),
    path("mentoring/sessions/<int:session_id>/", views.session, name="session"),
    path("mentoring/sessions/<int:session_id>/notes/", views.notes, name="notes"),
    path("mentoring/sessions/<int:session_id>/cancel/", views.cancel, name="cancel"),
    path("mentoring/sessions/<int:session_id>/invite.ics", views.invite, name="invite"),
    path("mentoring/live/", views.live_list, name="live_list"),
    path("mentoring/live/new/", views.live_new, name="live_new"),
    path("mentoring/live/<int:live_id>/", views.live, name="live"),
    path("mentoring/live/<int:live_id>/register/", views.live_register, name="live_register"),
    path("mentoring/live/<int:live_id>/join/", views.live_join, name="live_join"),
    path("mentoring/live/<int:live_id>/cancel/", views.live_cancel, name="live_cancel"),
    path("mentoring/live/<int:live_id>/recording/", views.live_recording,
         name="live_recording"),
    path("mentoring/live/<int:live_id>/session.ics", views.live_invite, name="live_invite"),
]
