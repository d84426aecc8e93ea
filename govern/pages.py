"""What every page does with a service's answer: refusals shown where the person acted, never a 500."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404

from govern import policy
from govern.errors import Conflict


def form_errors(form, error: ValidationError) -> None:
    """Put a service's ValidationError onto the form, field by field where it names the form's fields."""
    if hasattr(error, "error_dict"):
        for field, problems in error.message_dict.items():
            form.add_error(field if field in form.fields else None, problems)
    else:
        form.add_error(None, error.messages)


def perform(request, action, success: str) -> bool:
    """Run one button's service call; a refusal becomes a message, success another. Returns whether it was done."""
    try:
        action()
    except policy.RoleRefused:
        raise  # no role that may do this: a 403, not a message
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except (PermissionDenied, Conflict) as exc:
        messages.error(request, str(exc) or "You may not do this.")
    else:
        messages.success(request, success)
        return True
    return False


def added(request, form, permission: str, record, success) -> bool:
    """A register's add form on POST: the role to add is checked, then the form; a valid one is handed to `record`
    (the service, called with the cleaned data), whose refusal goes onto the form. Returns whether it was recorded
    (the page then redirects); `success(recorded)` is the message."""
    if request.method != "POST":
        return False
    policy.require(request.user, permission)
    if not form.is_valid():
        return False
    try:
        recorded = record(**form.cleaned_data)
    except ValidationError as exc:
        form_errors(form, exc)
        return False
    messages.success(request, success(recorded))
    return True


def act_with_reason(request, permission: str, queryset, pk, form_class, act, success):
    """A one-reason decision posted from a page (retire, close, revoke): the role is checked before the lookup (no
    object refuses a role alike), the object found as `visible_or_404` does, the reason read from `form_class` (a
    blank one is left for the service to refuse) and `act(object, reason)` run through `perform`, with
    `success(object)` as its message. Returns the object, for the redirect."""
    policy.require(request.user, permission)
    found = visible_or_404(request.user, queryset, pk)
    form = form_class(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    perform(request, lambda: act(found, reason), success(found))
    return found


def visible_or_404(user, queryset, pk, verb: str = "view"):
    """The object if the user may see it: a role that sees none of the model is refused (403), not told 404."""
    meta = queryset.model._meta
    policy.require(user, f"{meta.app_label}.{verb}_{meta.model_name}")
    return get_object_or_404(queryset.restrict(user, verb), pk=pk)


def posted_revision(request) -> int | None:
    """The revision a form was rendered at (its hidden `revision` field), so the service refuses a change or a
    decision on a version changed meanwhile; None when the form sent none. A revision that is not one is refused,
    never read as none: that would skip the check."""
    value = request.POST.get("revision", "").strip()
    if not value:
        return None
    if not (value.isdigit() and len(value) <= 9):
        raise ValidationError("The form's revision is not one this page sent: load the page again.")
    return int(value)


def confirmed(request) -> bool:
    """Whether the POST is the confirmation step of a decision (forms/_confirm.html), not its first choice."""
    return request.POST.get("confirmed") == "yes"
