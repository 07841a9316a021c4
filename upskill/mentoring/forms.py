"""The mentoring forms: shape checks only; the services validate the meaning."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from upskill.accounts.models import TIMEZONE_CHOICES
from upskill.mentoring.models import MAX_CAPACITY

AVAILABILITY_HELP = _("One line per weekly time, in your own time zone, e.g. "
                      "\"Tue 18:00-20:00\" or \"Sat 09:00-11:30\". Half hours only.")


class RequestForm(forms.Form):
    role = forms.ChoiceField(label=_("Role you are working towards"))
    goals = forms.CharField(label=_("What would you like help with?"), max_length=5000,
                            widget=forms.Textarea(attrs={"rows": 4}))
    languages = forms.MultipleChoiceField(label=_("Languages you can meet in"),
                                          widget=forms.CheckboxSelectMultiple)
    availability = forms.CharField(label=_("When you are free each week"), max_length=2000,
                                   widget=forms.Textarea(attrs={"rows": 3}),
                                   help_text=AVAILABILITY_HELP)
    industry = forms.CharField(label=_("Your industry (optional)"), max_length=80,
                               required=False)
    wants_career_changer = forms.BooleanField(
        label=_("I would like a mentor who changed careers too"), required=False)
    wants_same_industry = forms.BooleanField(
        label=_("I would like a mentor from my industry"), required=False)

    def __init__(self, *args: object, roles: list[tuple[str, str]],
                 languages: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["role"].choices = [("", _("Choose a role")), *roles]  # type: ignore[attr-defined]
        self.fields["languages"].choices = languages  # type: ignore[attr-defined]


class MentorProfileForm(forms.Form):
    bio = forms.CharField(label=_("About you"), max_length=5000, required=False,
                          widget=forms.Textarea(attrs={"rows": 4}))
    skills = forms.MultipleChoiceField(label=_("Skills you can help with"),
                                       widget=forms.CheckboxSelectMultiple)
    languages = forms.MultipleChoiceField(label=_("Languages you can mentor in"),
                                          widget=forms.CheckboxSelectMultiple)
    industries = forms.CharField(label=_("Industries you know (comma-separated)"),
                                 max_length=400, required=False)
    timezone = forms.ChoiceField(label=_("Your time zone"), choices=TIMEZONE_CHOICES)
    availability = forms.CharField(label=_("When you are free each week"), max_length=2000,
                                   widget=forms.Textarea(attrs={"rows": 3}),
                                   help_text=AVAILABILITY_HELP)
    capacity = forms.IntegerField(label=_("Mentees at a time"), min_value=1,
                                  max_value=MAX_CAPACITY, initial=2)
    changed_careers = forms.BooleanField(label=_("I changed careers myself"), required=False)
    accepting = forms.BooleanField(label=_("I am taking new mentees"), required=False,
                                   initial=True)

    def __init__(self, *args: object, skills: list[tuple[str, str]],
                 languages: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["skills"].choices = skills  # type: ignore[attr-defined]
        self.fields["languages"].choices = languages  # type: ignore[attr-defined]


class NotesForm(forms.Form):
    notes = forms.CharField(label=_("Notes"), max_length=5000, required=False,
                            widget=forms.Textarea(attrs={"rows": 5}))
    action_items = forms.CharField(label=_("Action items (one per line)"), max_length=5000,
                                   required=False, widget=forms.Textarea(attrs={"rows": 4}))


class LiveSessionForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=160)
    description = forms.CharField(label=_("What it is about"), max_length=5000, required=False,
                                  widget=forms.Textarea(attrs={"rows": 4}))
    start = forms.DateTimeField(
        label=_("Starts (your time zone)"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                   format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M"])
    minutes = forms.IntegerField(label=_("Length in minutes"), min_value=15, max_value=240,
                                 initial=60)
    capacity = forms.IntegerField(label=_("Seats"), min_value=1, max_value=1000, initial=30)
    join_url = forms.URLField(label=_("Join link (https://…)"), max_length=500,
                              assume_scheme="https")
    lesson_ref = forms.SlugField(
        label=_("Course lesson reference (optional)"), max_length=120, required=False,
        help_text=_("The ref of a course's live lesson: that lesson then shows this session, "
                    "and afterwards its recording."))


class RecordingForm(forms.Form):
    """The recording of a live session that has ended, with its captions."""

    video = forms.FileField(label=_("Recording (WebM, MP4, Ogg or MP3)"),
                            widget=forms.ClearableFileInput(
                                attrs={"accept": "video/webm,video/mp4,video/ogg,audio/*"}))
    captions = forms.FileField(label=_("Captions (WebVTT, .vtt)"),
                               widget=forms.ClearableFileInput(attrs={"accept": ".vtt,text/vtt"}))
