from django.urls import path

from upskill.community import views

app_name = "community"

urlpatterns = [
    path("community/", views.hub, name="hub"),
    path("community/boards/<slug:course_slug>/", views.course_board, name="course_board"),
    path("community/boards/<slug:course_slug>/ask/", views.ask, name="ask_course"),
    path("community/boards/<slug:course_slug>/similar/", views.similar, name="similar"),
    path("community/boards/<slug:course_slug>/lessons/<slug:lesson_slug>/", views.lesson_board,
         name="lesson_board"),
    path("community/boards/<slug:course_slug>/lessons/<slug:lesson_slug>/ask/", views.ask,
         name="ask_lesson"),
    path("community/threads/<int:thread_id>/", views.thread, name="thread"),
    path("community/threads/<int:thread_id>/reply/", views.reply, name="reply"),
    path("community/threads/<int:thread_id>/lock/", views.lock, name="lock"),
    path("community/threads/<int:thread_id>/unaccept/", views.unaccept, name="unaccept"),
    path("community/posts/<int:post_id>/edit/", views.edit, name="edit"),
    path("community/posts/<int:post_id>/delete/", views.delete, name="delete"),
    path("community/posts/<int:post_id>/vote/", views.vote, name="vote"),
    path("community/posts/<int:post_id>/accept/", views.accept, name="accept"),
    path("community/posts/<int:post_id>/flag/", views.flag, name="flag"),
    path("community/posts/<int:post_id>/hide/", views.hide, name="hide"),
    path("community/posts/<int:post_id>/unhide/", views.unhide, name="unhide"),
    path("community/posts/<int:post_id>/dismiss/", views.dismiss, name="dismiss"),
    path("community/moderation/", views.moderation, name="moderation"),
    path("community/moderation/suspend/", views.suspend, name="suspend"),
    path("community/moderation/suspensions/<int:suspension_id>/lift/", views.lift,
         name="lift"),
    path("community/groups/", views.groups, name="groups"),
    path("community/groups/new/", views.create_group, name="create_group"),
    path("community/groups/find/", views.find_group, name="find_group"),
    path("community/groups/find/withdraw/", views.withdraw_group_request,
         name="withdraw_group_request"),
    path("community/groups/<slug:slug>/", views.group, name="group"),
    path("community/groups/<slug:slug>/join/", views.join_group, name="join_group"),
    path("community/groups/<slug:slug>/leave/", views.leave_group, name="leave_group"),
    path("community/groups/<slug:slug>/discussions/", views.group_discussion,
         name="group_discussion"),
]
