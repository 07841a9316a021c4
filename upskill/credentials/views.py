"""The pages of credentials. First the machine-readable documents, served as JSON for anyone:
a credential exactly as signed, the signed status lists, and our did:web document. Then the
human pages built on the same services: the verification page, verifying any credential, the
certificate, "My credentials", the public portfolio and the staff status page."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import quote, urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from upskill.accounts import services as accounts
from upskill.accounts.models import PlatformRole
from upskill.core.apierrors import error_response
from upskill.core.errors import Conflict, Invalid, NotFound
from upskill.credentials import certificate, services
from upskill.credentials.endpoints import MAX_BODY_BYTES

JSON_TYPE = "application/json; charset=utf-8"
# Status lists change when staff revoke or suspend: verifiers may cache them briefly.
STATUS_LIST_MAX_AGE_S = 300


def _not_found(error: NotFound) -> HttpResponse:
    return error_response(404, error.code, error.detail)


def _document(text: str, *, max_age_s: int, filename: str | None = None) -> HttpResponse:
    response = HttpResponse(text.encode("utf-8"), content_type=JSON_TYPE)
    response["Cache-Control"] = f"public, max-age={max_age_s}"
    response["Access-Control-Allow-Origin"] = "*"
    if filename:
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
def credential_json(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The signed credential, byte for byte as signed."""
    try:
        text = services.credential_json(public_id)
    except NotFound as error:
        return _not_found(error)
    return _document(text, max_age_s=300, filename=f"credential-{public_id}.json")


@require_GET
def status_list(request: HttpRequest, purpose: str, number: int) -> HttpResponse:
    try:
        text = services.status_list_json(purpose, number)
    except NotFound as error:
        return _not_found(error)
    return _document(text, max_age_s=STATUS_LIST_MAX_AGE_S)


@require_GET
def did_json(request: HttpRequest) -> HttpResponse:
    try:
        document = services.did_json()
    except NotFound as error:
        return _not_found(error)
    return _document(json.dumps(document), max_age_s=3600)


# ----------------------------------------------------------------------------- pages
# The human side: the public verification page of a credential, verifying any credential,
# the holder's own credentials, the certificate downloads, the public portfolio, and the staff
# page that changes a credential's status. Thin: each calls credentials.services; a domain
# error becomes its page through core's DomainErrorMiddleware. Nothing is cached: a status
# can change at any moment, and "my" pages are private.

# A credential is a few KB; the VC-API's limit serves the form too.
MAX_CREDENTIAL_BYTES = MAX_BODY_BYTES
# A form post carries the file or text and a few fields: room for the multipart framing.
MAX_FORM_BYTES = MAX_CREDENTIAL_BYTES + 16 * 1024
LINKEDIN_ADD = "https://www.linkedin.com/profile/add"
STATUS_ACTIONS = {"suspend": services.suspend, "lift": services.lift_suspension,
                  "revoke": services.revoke}


def _viewer_is_staff(request: HttpRequest) -> bool:
    return request.user.is_authenticated and accounts.has_role(
        accounts.person(request.user), PlatformRole.STAFF)


@never_cache
@require_GET
def credential_page(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The public verification page: status in words, what was certified, by whom, when, and
    how to check it without us. Anyone may open it (it is shared to be checked)."""
    page = services.credential_page(public_id)
    return render(request, "credentials/credential.html", {
        "page": page, "report": page.report, "verification": page.report.verification,
        "staff": _viewer_is_staff(request),
    })


def _verify_form(request: HttpRequest, *, error: str = "", pasted: str = "",
                 report: services.VerificationReport | None = None,
                 status: int = 200) -> HttpResponse:
    return render(request, "credentials/verify.html", {
        "error": error, "pasted": pasted, "report": report,
        "limit_kb": MAX_CREDENTIAL_BYTES // 1024,
    }, status=status)


def _too_big(request: HttpRequest) -> HttpResponse:
    return _verify_form(request, status=413, error=_(
        "That is too big to be a credential: the limit is %(kb)d KB. Check that you chose the "
        "credential's .json file.") % {"kb": MAX_CREDENTIAL_BYTES // 1024})


def _sent_credential(request: HttpRequest) -> tuple[bytes | None, str]:
    """(the bytes to verify or None if too big, the pasted text to show again)."""
    pasted = request.POST.get("credential", "")
    upload = request.FILES.get("file")
    if upload is not None:
        if (upload.size or 0) > MAX_CREDENTIAL_BYTES:
            return None, ""
        return upload.read(), ""
    return pasted.encode("utf-8"), pasted


def _parsed(raw: bytes) -> tuple[dict[str, Any] | None, str]:
    """(the credential, "") or (None, what is wrong with what was sent)."""
    if not raw.strip():
        return None, _("Paste a credential's JSON or choose its .json file, then press Verify.")
    try:
        document = json.loads(raw)
    except UnicodeDecodeError:
        return None, _("That is not JSON: it is not even text (UTF-8). Choose the credential's "
                       ".json file.")
    except RecursionError:
        return None, _("That is not a credential: its JSON is nested too deeply.")
    except ValueError as error:
        return None, _("That is not JSON: %(error)s.") % {"error": error}
    if not isinstance(document, dict):
        return None, _("That is not a credential: a credential is a JSON object ({…}).")
    problem = services.not_a_credential(document)
    if problem:
        return None, _("That is JSON but not a verifiable credential: %(why)s.") % {
            "why": problem}
    return document, ""


@csrf_exempt  # verifying changes nothing, and the size is checked before the body is parsed
@never_cache
@require_http_methods(["GET", "POST"])
def verify_page(request: HttpRequest) -> HttpResponse:
    """Verify any credential, pasted or uploaded: its proof, dates and (when the status lists
    are ours) revocation and suspension. Every kind of bad input gets a 4xx page saying what
    is wrong, never a 500."""
    if request.method == "GET":
        return _verify_form(request)
    length = _content_length(request)
    if length is None:
        return _verify_form(request, status=400,
                            error=_("The request's Content-Length is not a number."))
    if length > MAX_FORM_BYTES:
        return _too_big(request)
    try:
        raw, pasted = _sent_credential(request)
    except RequestDataTooBig:
        return _too_big(request)
    if raw is None or len(raw) > MAX_CREDENTIAL_BYTES:
        return _too_big(request)
    document, error = _parsed(raw)
    if document is None:
        return _verify_form(request, error=error, pasted=pasted[:MAX_CREDENTIAL_BYTES],
                            status=400)
    return _verify_form(request, pasted=pasted, report=services.verify_document(document))


def _content_length(request: HttpRequest) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None


def linkedin_url(held: services.HeldCredential) -> str:
    """LinkedIn's "Add licence or certification" form, filled in for ``held``."""
    issued = timezone.localdate(held.issued_at)
    params = [("startTask", "CERTIFICATION_NAME"), ("name", held.program_title),
              ("organizationName", held.issuer_name),
              ("issueYear", str(issued.year)), ("issueMonth", str(issued.month))]
    if held.valid_until is not None:
        expires = timezone.localdate(held.valid_until)
        params += [("expirationYear", str(expires.year)),
                   ("expirationMonth", str(expires.month))]
    params += [("certUrl", services.public_page_url(held.public_id)),
               ("certId", str(held.public_id))]
    return f"{LINKEDIN_ADD}?{urlencode(params, quote_via=quote)}"


@never_cache
@login_required
@require_GET
def my_credentials(request: HttpRequest) -> HttpResponse:
    """The learner's credentials: status, validity and renewal, and every way to share one."""
    held = services.held_credentials(accounts.person(request.user))
    return render(request, "credentials/my_credentials.html", {
        "credentials": [(credential, linkedin_url(credential)) for credential in held],
        "notice_days": services.RENEWAL_NOTICE_DAYS,
    })


@login_required
@require_POST
def show_in_portfolio(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Show (``show=1``) or hide one of my credentials on my public portfolio."""
    shown = request.POST.get("show") == "1"
    services.set_shown_in_portfolio(accounts.person(request.user), public_id, shown)
    messages.success(request, _("It is now shown in your portfolio.") if shown
                     else _("It is now hidden from your portfolio."))
    return redirect(f"{reverse('credentials:mine')}#credential-{public_id}")


def _attachment(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@never_cache
@require_GET
def certificate_pdf(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The printable certificate (A4 PDF) with a QR code to the verification page. Public."""
    pdf = certificate.render_pdf(services.certificate_of(public_id))
    return _attachment(pdf, "application/pdf", f"certificate-{public_id}.pdf")


@never_cache
@require_GET
def certificate_png(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The certificate as an image, for where a PDF does not fit. Public."""
    png = certificate.render_png(services.certificate_of(public_id))
    return _attachment(png, "image/png", f"certificate-{public_id}.png")


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def portfolio_settings(request: HttpRequest) -> HttpResponse:
    """Switch the public portfolio on or off, its headline, and whether it lists projects."""
    user = accounts.person(request.user)
    portfolio = services.portfolio_settings(user)
    error, status = "", 200
    if request.method == "POST":
        try:
            portfolio = services.update_portfolio(
                user, public=request.POST.get("public") == "on",
                headline=request.POST.get("headline", ""),
                show_projects=request.POST.get("show_projects") == "on")
        except Invalid as invalid:
            error, status = invalid.detail, 400
        else:
            messages.success(request, _("Your portfolio is public.") if portfolio.public
                             else _("Your portfolio is switched off: nobody can open it."))
            return redirect("credentials:portfolio_settings")
    return render(request, "credentials/portfolio_settings.html", {
        "portfolio": portfolio, "error": error,
        "headline": request.POST.get("headline", "") if error else portfolio.headline,
        "headline_max": services.HEADLINE_MAX_CHARS,
        "public_url": services.public_portfolio_url(portfolio.handle),
        "credentials": services.held_credentials(user),
    }, status=status)


@never_cache
@require_GET
def public_portfolio(request: HttpRequest, handle: str) -> HttpResponse:
    """A learner's public portfolio, when they have switched it on (404 otherwise)."""
    return render(request, "credentials/portfolio.html",
                  {"portfolio": services.public_portfolio(handle)})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def staff_credential(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Staff: suspend, lift a suspension or revoke, with a reason; the audit history. Anyone
    else gets the 403 page (the services check the role)."""
    actor = accounts.person(request.user)
    error, status = "", 200
    if request.method == "POST":
        change = STATUS_ACTIONS.get(request.POST.get("action", ""))
        try:
            if change is None:
                raise Invalid(_("Choose suspend, lift the suspension or revoke."))
            change(actor, public_id, request.POST.get("reason", ""))
        except (Invalid, Conflict) as refused:
            error, status = refused.detail, refused.status
        else:
            messages.success(request, _("Done: the status list is re-signed and the change "
                                        "is in the audit history."))
            return redirect("credentials:staff", public_id=public_id)
    history = services.status_history(actor, public_id)
    page = services.credential_page(public_id)
    return render(request, "credentials/staff_credential.html", {
        "page": page, "report": page.report, "history": history, "error": error,
        "reason": request.POST.get("reason", "") if error else "",
    }, status=status)
