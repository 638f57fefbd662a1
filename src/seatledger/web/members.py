"""The Members page: the people of the workspace, the seat counter, invites and member actions.

Every change goes through the service layer's use cases (``seatledger.service.members``), which
judge it under the seat lock; a refusal is shown where the action was tried (the invite dialog,
the confirmation, the row) with the domain's own message, and nothing is written.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from seatledger.domain.errors import (
    FreeAllowanceReached,
    InvalidInput,
    NotFound,
    SeatLedgerError,
    SeatLimitReached,
)
from seatledger.domain.permissions import Action, allowed_roles
from seatledger.domain.seats import MemberStatus, normalize_email
from seatledger.service import members
from seatledger.service.results import ChangeResult
from seatledger.web.formatting import role_label
from seatledger.web.pages import PREFIX, Pages, Signed, hx_trigger, is_htmx
from seatledger.web.queries import MemberRow, WorkspaceView, workspace_view

MEMBERS = f"{PREFIX}/members"
# One batch is one transaction judged whole; a paste of thousands of addresses is a mistake.
MAX_BATCH = 200
ROW_ACTIONS = {
    MemberStatus.ACTIVE.value: (("deactivate", "Deactivate"), ("delete", "Delete")),
    MemberStatus.PENDING.value: (("delete", "Withdraw invite"),),
    MemberStatus.DEACTIVATED.value: (("reactivate", "Reactivate"), ("delete", "Delete")),
}
_FIELD_LABELS = {
    "email": "Each e-mail address",
    "emails": "E-mail addresses",
    "role": "The role",
    "scope": "The program or project",
}
_SEPARATORS = re.compile(r"[\s,;]+")


@dataclass
class InviteForm:
    emails: str = ""
    role: str = ""
    scope: str = ""
    error: str | None = None
    to_billing: bool = False


@dataclass
class Confirmation:
    action: str
    email: str
    title: str
    verb: str
    explanation: list[str] = field(default_factory=list)
    error: str | None = None
    to_billing: bool = False


def refusal_text(refusal: SeatLedgerError) -> str:
    """The domain's message, with an invalid field named in words rather than as a key."""
    if isinstance(refusal, InvalidInput):
        label = _FIELD_LABELS.get(refusal.field, refusal.field.replace("_", " ").capitalize())
        return f"{label} {refusal.rule}."
    return refusal.message


def points_to_billing(refusal: SeatLedgerError) -> bool:
    """Refusals that more seats would cure: the message links to Billing."""
    return isinstance(refusal, SeatLimitReached | FreeAllowanceReached)


def split_emails(text: str) -> list[str]:
    return [part for part in _SEPARATORS.split(text) if part]


def row_key(email: str) -> str:
    """A stable id for a person's row: element ids survive re-renders (htmx keeps focus on them)
    and do not carry the address itself."""
    return hashlib.sha256(email.encode()).hexdigest()[:12]


def _people(emails: list[str]) -> str:
    if len(emails) <= 3:
        return " and ".join([", ".join(emails[:-1]), emails[-1]] if len(emails) > 1 else emails)
    return f"{len(emails)} people"


def _emails(value: object) -> list[str]:
    return [str(e) for e in value] if isinstance(value, list | tuple) else []


def invited_notice(result: ChangeResult, role: str) -> str:
    admitted = _emails(result.detail.get("admitted"))
    refused = _emails(result.detail.get("refused"))
    notice = f"Invited {_people(admitted)} as {role_label(role)}."
    if refused:
        notice += f" Not invited, no seat left: {', '.join(refused)}."
    return notice


def default_role(view: WorkspaceView) -> str:
    """The role the invite form starts on: the first billable role that is not the owner's."""
    for role in view.policy.billable_roles:
        if role != view.policy.owner_role:
            return role
    return view.invitable_roles[0]


def managers_sentence(view: WorkspaceView) -> str:
    roles = allowed_roles(view.policy, Action.MANAGE_MEMBERS)
    words = " or ".join(role_label(r).lower() for r in roles) or "nobody"
    return f"Only {words} may invite people or change members."


def _find_row(view: WorkspaceView, email: str) -> MemberRow:
    person = normalize_email(email)
    for row in view.rows:
        if row.email == person:
            return row
    raise NotFound(kind="member", key=person)


def confirmation(view: WorkspaceView, action: str, email: str) -> Confirmation:
    """What the confirmation step says for ``action`` on the member ``email``."""
    row = _find_row(view, email)
    policy = view.policy
    who = row.email
    if action == "deactivate":
        sentences = [
            "Their data stays and nothing of theirs is deleted. You can reactivate them later, "
            "subject to the seats available then."
        ]
        if row.uses_seat:
            sentences.append(
                "They keep their seat while deactivated."
                if policy.count_deactivated
                else "Their seat is freed at once."
            )
        return Confirmation(action, who, f"Deactivate {who}?", "Deactivate", sentences)
    if action == "reactivate":
        sentences = ["They get back the roles they had."]
        billable = any(policy.is_billable(g.role) for g in (*row.grants, *row.scoped))
        if billable and not policy.count_deactivated:
            sentences.append(
                f"This takes a seat: {view.usage.available} of {view.usage.total} are available."
            )
        return Confirmation(action, who, f"Reactivate {who}?", "Reactivate", sentences)
    if action == "delete" and row.status is MemberStatus.PENDING:
        sentences = ["The invitation is cancelled."]
        if row.uses_seat:
            sentences.append("The seat it holds is freed at once.")
        return Confirmation(
            action, who, f"Withdraw the invite to {who}?", "Withdraw invite", sentences
        )
    if action == "delete":
        sentences = [
            "This is permanent and cannot be undone. Their membership is removed, and their "
            "personal data is erased when they belong to no other workspace of this account."
        ]
        if row.uses_seat:
            sentences.append("Their seat is freed at once.")
        return Confirmation(action, who, f"Delete {who}?", "Delete", sentences)
    raise NotFound(kind="member action", key=action)


_ACTIONS = {
    "deactivate": members.deactivate_member,
    "reactivate": members.reactivate_member,
    "delete": members.delete_member,
}
_DONE = {"deactivate": "Deactivated {}.", "reactivate": "Reactivated {}.", "delete": "Removed {}."}


def change_role(pages: Pages, signed: Signed, email: str, role: str) -> str:
    """Make ``role`` the member's one workspace-level role and say what happened.

    The new role is granted before the old ones are taken away, so a member never stands without
    a role in between, and a promotion that needs a seat is refused before anything changes. When
    taking an old role away is refused (the last holder of a required role), the new grant is
    taken back and the refusal raised.
    """
    row = _find_row(signed.view, email)
    identity = signed.session.identity
    common: dict[str, Any] = {
        "account_id": identity.account_id,
        "workspace": identity.workspace,
        "actor": identity.email,
        "email": row.email,
    }
    old = [g.role for g in row.grants]
    if not role:
        if not old:
            return f"{row.email} has no workspace role."
        raise InvalidInput("role", "must be chosen: pick the role this member should hold")
    if old == [role]:
        return f"{row.email} is {role_label(role)} already."
    granted = role not in old
    if granted:
        members.assign_role(pages.svc, **common, role=role)
    try:
        for previous in old:
            if previous != role:
                members.remove_role(pages.svc, **common, role=previous)
    except SeatLedgerError:
        if granted:
            members.remove_role(pages.svc, **common, role=role)
        raise
    return f"{row.email} is now {role_label(role)}."


def add_member_routes(router: APIRouter, pages: Pages) -> None:
    def context(view: WorkspaceView, **extra: Any) -> dict[str, Any]:
        return {
            "view": view,
            "oob": False,
            "heading": "h2",
            "row_errors": {},
            "row_keys": {row.email: row_key(row.email) for row in view.rows},
            "row_actions": ROW_ACTIONS,
            "member_managers_sentence": managers_sentence(view),
            "invite": InviteForm(role=default_role(view)),
            "notice": None,
            **extra,
        }

    def reload(signed: Signed) -> WorkspaceView:
        identity = signed.session.identity
        return workspace_view(
            pages.svc,
            account_id=identity.account_id,
            workspace=identity.workspace,
            actor=identity.email,
        )

    def guard(request: Request, csrf: str | None = None) -> Signed | Response:
        signed = pages.signed_in(request)
        if isinstance(signed, Response):
            return signed
        if csrf is not None and not pages.csrf_ok(request, signed.session, csrf):
            return pages.csrf_refusal(request, signed.session)
        return signed

    def not_permitted(request: Request, signed: Signed) -> Response | None:
        if signed.view.can_manage_members:
            return None
        return pages.refusal(request, signed.session, managers_sentence(signed.view))

    def changed(request: Request, signed: Signed, notice: str) -> Response:
        """After a change: the members section and the notice swapped in, the dialog closed."""
        if not is_htmx(request):
            return pages.redirect(request, MEMBERS, notice=notice)
        return pages.render(
            request,
            "members/_changed.html",
            context(reload(signed), notice=notice),
            session=signed.session,
            # Only the out-of-band parts are swapped; the form that asked is left as it is.
            headers={"HX-Reswap": "none", **hx_trigger({"seatledger:close-dialog": {}})},
        )

    @router.get("")
    @router.get("/")
    def home(request: Request) -> Response:
        return pages.redirect(request, MEMBERS)

    @router.get("/members")
    def members_page(request: Request) -> Response:
        signed = guard(request)
        if isinstance(signed, Response):
            return signed
        return pages.render(request, "members.html", context(signed.view), session=signed.session)

    @router.get("/members/invite")
    def invite_page(request: Request) -> Response:
        signed = guard(request)
        if isinstance(signed, Response):
            return signed
        refused = not_permitted(request, signed)
        if refused is not None:
            return refused
        return pages.render(
            request,
            "members/invite.html",
            context(signed.view, heading="h1"),
            session=signed.session,
        )

    @router.post("/members/invite")
    def invite(
        request: Request,
        emails: Annotated[str, Form()] = "",
        role: Annotated[str, Form()] = "",
        scope: Annotated[str, Form()] = "",
        csrf_token: Annotated[str, Form()] = "",
    ) -> Response:
        signed = guard(request, csrf_token)
        if isinstance(signed, Response):
            return signed
        form = InviteForm(emails=emails, role=role, scope=scope)
        identity = signed.session.identity
        addresses = split_emails(emails)
        try:
            if not addresses:
                raise InvalidInput("emails", "must list at least one e-mail address")
            if len(addresses) > MAX_BATCH:
                raise InvalidInput("emails", f"may list at most {MAX_BATCH} addresses at a time")
            result = members.invite_members(
                pages.svc,
                account_id=identity.account_id,
                workspace=identity.workspace,
                actor=identity.email,
                emails=addresses,
                role=role,
                scope=scope.strip() or None,
            )
        except SeatLedgerError as refusal:
            form.error = refusal_text(refusal)
            form.to_billing = points_to_billing(refusal)
            if is_htmx(request):
                # In place, in the dialog: htmx swaps only successful (2xx) answers.
                return pages.render(
                    request,
                    "members/_invite_form.html",
                    context(signed.view, invite=form),
                    session=signed.session,
                )
            return pages.render(
                request,
                "members/invite.html",
                context(signed.view, invite=form, heading="h1"),
                session=signed.session,
                status=409 if form.to_billing else 400,
            )
        return changed(request, signed, invited_notice(result, role))

    @router.get("/members/confirm")
    def confirm_page(request: Request, action: str = "", email: str = "") -> Response:
        signed = guard(request)
        if isinstance(signed, Response):
            return signed
        refused = not_permitted(request, signed)
        if refused is not None:
            return refused
        try:
            confirm = confirmation(signed.view, action, email)
        except SeatLedgerError as missing:
            return pages.refusal(request, signed.session, refusal_text(missing))
        template = "members/_confirm_form.html" if is_htmx(request) else "members/confirm.html"
        return pages.render(
            request,
            template,
            context(signed.view, confirm=confirm, heading="h2" if is_htmx(request) else "h1"),
            session=signed.session,
        )

    @router.post("/members/{action}")
    def member_action(
        request: Request,
        action: str,
        email: Annotated[str, Form()] = "",
        role: Annotated[str, Form()] = "",
        csrf_token: Annotated[str, Form()] = "",
    ) -> Response:
        signed = guard(request, csrf_token)
        if isinstance(signed, Response):
            return signed
        identity = signed.session.identity
        if action == "role":
            return role_change(request, signed, email, role)
        use_case = _ACTIONS.get(action)
        if use_case is None:
            return pages.refusal(request, signed.session, f"There is no member action {action!r}.")
        try:
            confirm = confirmation(signed.view, action, email)
            use_case(
                pages.svc,
                account_id=identity.account_id,
                workspace=identity.workspace,
                actor=identity.email,
                email=confirm.email,
            )
        except SeatLedgerError as refusal:
            try:
                confirm = confirmation(signed.view, action, email)
            except SeatLedgerError:
                return pages.refusal(request, signed.session, refusal_text(refusal))
            confirm.error = refusal_text(refusal)
            confirm.to_billing = points_to_billing(refusal)
            htmx = is_htmx(request)
            return pages.render(
                request,
                "members/_confirm_form.html" if htmx else "members/confirm.html",
                context(signed.view, confirm=confirm, heading="h2" if htmx else "h1"),
                session=signed.session,
                status=200 if htmx else 409,
            )
        return changed(request, signed, _DONE[action].format(confirm.email))

    def role_change(request: Request, signed: Signed, email: str, role: str) -> Response:
        try:
            notice = change_role(pages, signed, email, role)
        except SeatLedgerError as refusal:
            try:
                person = normalize_email(email)
            except InvalidInput:
                person = email
            view = reload(signed)
            errors = {person: refusal_text(refusal)}
            if is_htmx(request):
                return pages.render(
                    request,
                    "members/_section.html",
                    context(view, row_errors=errors),
                    session=signed.session,
                )
            return pages.render(
                request,
                "members.html",
                context(view, row_errors=errors),
                session=signed.session,
                status=409 if points_to_billing(refusal) else 400,
            )
        if is_htmx(request):
            return pages.render(
                request,
                "members/_role_changed.html",
                context(reload(signed), notice=notice),
                session=signed.session,
            )
        return pages.redirect(request, MEMBERS, notice=notice)
