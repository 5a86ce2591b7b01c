"""The API's errors: one enum of codes (listed in the OpenAPI description), the ``ApiError`` services
raise, and the checks of the ``Idempotency-Key`` header every create that honours it shares."""

from __future__ import annotations

import hashlib
import re
from enum import StrEnum
from typing import Any

from django.http import HttpRequest
from ninja import Schema


class ErrorCode(StrEnum):
    """Every ``code`` an API error answers with (``{code, message}``). A new code is added here."""

    # Request level (answered by gridcare.api's handlers)
    INVALID_INPUT = "invalid_input"
    INVALID_BODY = "invalid_body"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    INVALID_CHARACTERS = "invalid_characters"
    INVALID_LIMIT = "invalid_limit"
    INVALID_DATE_RANGE = "invalid_date_range"
    INVALID_IDEMPOTENCY_KEY = "invalid_idempotency_key"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    CSRF_FAILED = "csrf_failed"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    TOO_MANY_REQUESTS = "too_many_requests"
    SERVER_ERROR = "server_error"
    # Business rules (raised by services)
    APPLICATION_CLOSED = "application_closed"
    CLOCK_NOT_AWAITED = "clock_not_awaited"
    CLOCK_NOT_STARTED = "clock_not_started"
    INVALID_SUPPLY = "invalid_supply"
    NO_CAPACITY_BAND = "no_capacity_band"
    NO_NODE_PATH = "no_node_path"
    NO_RUNNING_CLOCK = "no_running_clock"
    NOT_NODE_OWNER = "not_node_owner"
    UNKNOWN_NODE = "unknown_node"
    ALREADY_ANSWERED = "already_answered"
    ALREADY_RECEIVED = "already_received"
    ALREADY_ASSESSED = "already_assessed"
    APPEAL_TOO_LATE = "appeal_too_late"
    AREA_REQUIRED = "area_required"
    AT_FAULT_REQUIRED = "at_fault_required"
    CALL_ABANDONED = "call_abandoned"
    CALL_AGENT_MISMATCH = "call_agent_mismatch"
    CALL_ANSWERED = "call_answered"
    CALL_ENDED = "call_ended"
    CALL_ID_REQUIRED = "call_id_required"
    CALL_NOT_ANSWERED = "call_not_answered"
    CALLBACK_NOT_REQUIRED = "callback_not_required"
    ANSWERS_REQUIRED = "answers_required"
    ENERGIZATION_MISSING = "energization_missing"
    INSPECTION_NOT_PASSED = "inspection_not_passed"
    PLAN_NOT_CHOSEN = "plan_not_chosen"
    SUPPLY_IMPOSSIBLE = "supply_impossible"
    SURVEY_MISSING = "survey_missing"
    CALLBACK_CLOSED = "callback_closed"
    CALLBACK_NOT_YET = "callback_not_yet"
    CALLBACK_PENDING = "callback_pending"
    CASE_CLOSED = "case_closed"
    CONCLUSION_REQUIRED = "conclusion_required"
    CALLBACK_TOO_SOON = "callback_too_soon"
    CALIBRATION_INCOMPLETE = "calibration_incomplete"
    INVALID_CALLBACK_METHOD = "invalid_callback_method"
    CALL_OUTCOME_REQUIRED = "call_outcome_required"
    OUTSIDE_CALLING_HOURS = "outside_calling_hours"
    CALLER_NOT_CONFIRMED = "caller_not_confirmed"
    CALLER_REQUIRED = "caller_required"
    COMPLAINT_CLASS_REQUIRED = "complaint_class_required"
    COMPLAINT_ITEMS_INCOMPLETE = "complaint_items_incomplete"
    COMPLAINT_ITEMS_REQUIRED = "complaint_items_required"
    CONTENT_REQUIRED = "content_required"
    CREW_BUSY = "crew_busy"
    CREW_NO_MEMBERS = "crew_no_members"
    DUPLICATE_OPEN_ORDER = "duplicate_open_order"
    CREW_OUT_OF_SCOPE = "crew_out_of_scope"
    CREW_REQUIRED = "crew_required"
    CREW_UNAVAILABLE = "crew_unavailable"
    ETA_REQUIRED = "eta_required"
    EVENT_CLOSED = "event_closed"
    FEEDER_REQUIRED = "feeder_required"
    FORBIDDEN_ROLE = "forbidden_role"
    ILLEGAL_TRANSITION = "illegal_transition"
    INVALID_AREA = "invalid_area"
    INVALID_CHANNEL = "invalid_channel"
    INVALID_CREW = "invalid_crew"
    INVALID_EVENT = "invalid_event"
    INVALID_FEEDER = "invalid_feeder"
    INVALID_KIND = "invalid_kind"
    INVALID_LEVEL = "invalid_level"
    INVALID_MERGE = "invalid_merge"
    INVALID_MERGE_TARGET = "invalid_merge_target"
    INVALID_ORDER_TYPE = "invalid_order_type"
    INVALID_REPORTED_AT = "invalid_reported_at"
    INVALID_SPLIT = "invalid_split"
    INVALID_STAFFING_INPUT = "invalid_staffing_input"
    INVALID_STATE = "invalid_state"
    INVALID_TIMES = "invalid_times"
    INVALID_UNIT = "invalid_unit"
    INVALID_WHEN = "invalid_when"
    INVALID_WRAP_UP = "invalid_wrap_up"
    MAX_ESCALATION = "max_escalation"
    NO_UNIT = "no_unit"
    NO_SCHEME = "no_scheme"
    REMARKS_REQUIRED = "remarks_required"
    NOT_A_COMPLAINT = "not_a_complaint"
    NOT_A_KEY_CUSTOMER = "not_a_key_customer"
    NOT_ASSIGNED_UNIT = "not_assigned_unit"
    NOT_FAILED = "not_failed"
    NOT_FIELD_WORK = "not_field_work"
    NOT_YOUR_CALL = "not_your_call"
    NOT_YOUR_JOB = "not_your_job"
    NOTE_REQUIRED = "note_required"
    NOTES_REQUIRED = "notes_required"
    NOTICE_TOO_SHORT = "notice_too_short"
    OWN_HANDOVER = "own_handover"
    QUERY_REQUIRED = "query_required"
    REASON_REQUIRED = "reason_required"
    REPLY_REQUIRED = "reply_required"
    RESULT_REQUIRED = "result_required"
    RETURN_CALL_CLOSED = "return_call_closed"
    SATISFACTION_REQUIRED = "satisfaction_required"
    SCOPE_NOT_ALLOWED = "scope_not_allowed"
    SCOPE_REQUIRED = "scope_required"
    SITUATION_REQUIRED = "situation_required"
    TIMES_REQUIRED = "times_required"
    TRANSFER_TARGET_REQUIRED = "transfer_target_required"
    UNKNOWN_ACTION = "unknown_action"
    UNKNOWN_AGENT = "unknown_agent"
    UNKNOWN_AREA = "unknown_area"
    UNKNOWN_FEEDER = "unknown_feeder"
    UPPER_REVIEW_REQUIRED = "upper_review_required"
    VERSION_CONFLICT = "version_conflict"
    # Billing (the monthly calculation, bills and their answers)
    ANOMALIES_OPEN = "anomalies_open"
    INVALID_AMOUNT = "invalid_amount"
    BAD_FILE = "bad_file"
    FILE_ALREADY_IMPORTED = "file_already_imported"
    NO_BILLING_ACCOUNT = "no_billing_account"
    SELF_APPROVAL = "self_approval"
    # Billing: arrears, disconnection and reconnection, prepaid (issue 19, helper "arrears")
    DISCONNECTION_NOT_DUE = "disconnection_not_due"
    DISCONNECTION_EXEMPT = "disconnection_exempt"
    DISCONNECTION_OPEN = "disconnection_open"
    PROOF_REQUIRED = "proof_required"
    CUT_TOO_EARLY = "cut_too_early"
    CALL_REQUIRED = "call_required"
    ARREARS_CLEARED = "arrears_cleared"


# What each code means, for the OpenAPI description (``gridcare.api``): one entry per member
# (``core/tests/test_error_codes.py`` fails for a code added without its meaning).
ERROR_MEANINGS: dict[ErrorCode, str] = {
    ErrorCode.INVALID_INPUT: "the request does not match the schema (`errors` lists each field)",
    ErrorCode.INVALID_BODY: "the body is not valid JSON or not a JSON object",
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: "the body is not `application/json` (415)",
    ErrorCode.INVALID_CHARACTERS: "control characters in the path, query or a field",
    ErrorCode.INVALID_LIMIT: "`limit` of a list is out of range",
    ErrorCode.INVALID_DATE_RANGE: "the date range is reversed or too long",
    ErrorCode.INVALID_IDEMPOTENCY_KEY: "`Idempotency-Key` is not 1–60 printable ASCII characters",
    ErrorCode.IDEMPOTENCY_KEY_REUSED: "the `Idempotency-Key` was used before with another body",
    ErrorCode.UNAUTHORIZED: "no valid token or session (401)",
    ErrorCode.FORBIDDEN: "authenticated but not allowed (403)",
    ErrorCode.CSRF_FAILED: "a session request without the CSRF token (403)",
    ErrorCode.NOT_FOUND: "no such object in your scope, or no such path (404)",
    ErrorCode.METHOD_NOT_ALLOWED: "the path does not take this method (405)",
    ErrorCode.TOO_MANY_REQUESTS: "rate limited; see `Retry-After` (429)",
    ErrorCode.SERVER_ERROR: "an unexpected error; it has been logged (500)",
    ErrorCode.APPLICATION_CLOSED: "the application is archived or cancelled: its nodes cannot change (409)",
    ErrorCode.CLOCK_NOT_AWAITED: "the node's clock does not wait for a recorded request, or has started already (409)",
    ErrorCode.CLOCK_NOT_STARTED: "the node's clock waits for the customer's request (送审/报验) or the formalities: record it first (409)",
    ErrorCode.INVALID_SUPPLY: "dual supply applies to high-voltage applications only",
    ErrorCode.NO_CAPACITY_BAND: "no active voltage band holds the requested capacity (an administrator configures the bands)",
    ErrorCode.NO_NODE_PATH: "no active node path fits the application's type, customer category, supply and voltage (an administrator configures the paths)",
    ErrorCode.NO_RUNNING_CLOCK: "a customer wait stops a running clock: this node is neither current nor timed yet (409)",
    ErrorCode.NOT_NODE_OWNER: "the node is owned by a unit outside your scope (403)",
    ErrorCode.UNKNOWN_NODE: "the application has no such node (404)",
    ErrorCode.ALREADY_ANSWERED: "the request was answered already",
    ErrorCode.ALREADY_RECEIVED: "the work order was received already",
    ErrorCode.ALREADY_ASSESSED: "this agent's quarter has been assessed already",
    ErrorCode.APPEAL_TOO_LATE: "the time to appeal the inspection has passed",
    ErrorCode.AREA_REQUIRED: "a transformer area (台区) is required",
    ErrorCode.AT_FAULT_REQUIRED: "say whether the company was at fault",
    ErrorCode.CALL_ABANDONED: "the caller abandoned the call (or nobody could take it): it cannot be answered or transferred (409)",
    ErrorCode.CALL_AGENT_MISMATCH: "the event names an agent the call is not with (409)",
    ErrorCode.CALL_ANSWERED: "an agent answered the call: it cannot be abandoned (409)",
    ErrorCode.CALL_ENDED: "the call ended before the event's time, or ended in a way the event contradicts (409)",
    ErrorCode.CALL_ID_REQUIRED: "the call id is required",
    ErrorCode.CALL_NOT_ANSWERED: "no agent has answered the call: it cannot be transferred or wrapped up (409)",
    ErrorCode.CALLBACK_NOT_REQUIRED: "this work order needs no callback",
    ErrorCode.ENERGIZATION_MISSING: "装表接电 is finished only with the meters and first readings recorded",
    ErrorCode.INSPECTION_NOT_PASSED: "an inspection node is finished only after an inspection passed",
    ErrorCode.PLAN_NOT_CHOSEN: "the supply plan is replied only with an option chosen and signed off by the customer",
    ErrorCode.SUPPLY_IMPOSSIBLE: "the survey found no supply possible: cancel the application with that reason",
    ErrorCode.SURVEY_MISSING: "the survey's findings are recorded first",
    ErrorCode.ANSWERS_REQUIRED: "a reached callback records an answer to every question of its node (`missing` lists them)",
    ErrorCode.CALLBACK_CLOSED: "this callback has already ended (reached, or not reachable)",
    ErrorCode.CALLBACK_NOT_YET: "the callback falls due the working day after its node; `due_from` says when",
    ErrorCode.CALLBACK_PENDING: "the callback has not been made yet",
    ErrorCode.CASE_CLOSED: "the audit case is already closed",
    ErrorCode.CONCLUSION_REQUIRED: "closing an audit case needs its conclusion and whether the finding was substantiated",
    ErrorCode.CALLBACK_TOO_SOON: "the last callback call was too recent; `next_call_at` says when to call",
    ErrorCode.CALIBRATION_INCOMPLETE: "a calibration session closes once at least two inspectors have scored",
    ErrorCode.INVALID_CALLBACK_METHOD: "a callback result's `method` is phone, visit or written",
    ErrorCode.CALL_OUTCOME_REQUIRED: "a callback call needs its outcome (and a satisfaction when reached)",
    ErrorCode.OUTSIDE_CALLING_HOURS: "customers are called back by phone only within the allowed calling hours",
    ErrorCode.CALLER_NOT_CONFIRMED: "the caller's identity is not confirmed",
    ErrorCode.CALLER_REQUIRED: "the caller is required",
    ErrorCode.COMPLAINT_CLASS_REQUIRED: "a complaint classification is required",
    ErrorCode.COMPLAINT_ITEMS_INCOMPLETE: "some complaint review items are missing",
    ErrorCode.COMPLAINT_ITEMS_REQUIRED: "the complaint review items are required",
    ErrorCode.CONTENT_REQUIRED: "the content is required",
    ErrorCode.CREW_BUSY: "the crew still has open jobs",
    ErrorCode.CREW_NO_MEMBERS: "the crew has no members and no leader: nobody to send",
    ErrorCode.DUPLICATE_OPEN_ORDER: "an open work order for the same matter exists",
    ErrorCode.CREW_OUT_OF_SCOPE: "the crew is outside your scope",
    ErrorCode.CREW_REQUIRED: "a crew is required",
    ErrorCode.CREW_UNAVAILABLE: "the crew is off duty",
    ErrorCode.ETA_REQUIRED: "an estimated arrival time is required",
    ErrorCode.EVENT_CLOSED: "the fault event is closed",
    ErrorCode.FEEDER_REQUIRED: "a feeder (线路) is required",
    ErrorCode.FORBIDDEN_ROLE: "your role may not do this (403)",
    ErrorCode.ILLEGAL_TRANSITION: "the action is not allowed in the object's current state",
    ErrorCode.INVALID_AREA: "unknown transformer area, or outside your scope",
    ErrorCode.INVALID_CHANNEL: "unknown channel",
    ErrorCode.INVALID_CREW: "unknown crew, or outside your scope",
    ErrorCode.INVALID_EVENT: "unknown fault event, or not allowed here",
    ErrorCode.INVALID_FEEDER: "unknown feeder, or outside your scope",
    ErrorCode.INVALID_KIND: "unknown kind",
    ErrorCode.INVALID_LEVEL: "the level must be a transformer area or a feeder",
    ErrorCode.INVALID_MERGE: "these events cannot be merged",
    ErrorCode.INVALID_MERGE_TARGET: "the merge target is not allowed",
    ErrorCode.INVALID_ORDER_TYPE: "unknown work-order type",
    ErrorCode.INVALID_REPORTED_AT: "`reported_at` of a fault call is in the future or older than the analysis window",
    ErrorCode.INVALID_SPLIT: "the split must take some, not all, of the calls",
    ErrorCode.INVALID_STAFFING_INPUT: "a staffing figure is out of range (Erlang C needs more agents than the offered traffic in Erlang, targets within their ranges)",
    ErrorCode.INVALID_STATE: "the object is not in a state that allows this",
    ErrorCode.INVALID_TIMES: "the times are inconsistent (e.g. end before start)",
    ErrorCode.INVALID_UNIT: "unknown unit, or outside your scope",
    ErrorCode.INVALID_WHEN: "the time is not allowed here",
    ErrorCode.INVALID_WRAP_UP: "unknown wrap-up code",
    ErrorCode.MAX_ESCALATION: "the highest escalation level is reached",
    ErrorCode.NO_UNIT: "you hold no role at any unit",
    ErrorCode.NO_SCHEME: "no evaluation scheme is in force",
    ErrorCode.REMARKS_REQUIRED: "the leader's remarks are required",
    ErrorCode.NOT_A_COMPLAINT: "the work order is not a complaint",
    ErrorCode.NOT_A_KEY_CUSTOMER: "the customer is not a key customer",
    ErrorCode.NOT_ASSIGNED_UNIT: "the work order is not assigned to your unit",
    ErrorCode.NOT_FAILED: "only a failed call can be retried",
    ErrorCode.NOT_FIELD_WORK: "the work order needs no field work",
    ErrorCode.NOT_YOUR_CALL: "the call is taken by another agent",
    ErrorCode.NOT_YOUR_JOB: "the job belongs to another crew",
    ErrorCode.NOTE_REQUIRED: "a note is required",
    ErrorCode.NOTES_REQUIRED: "notes are required",
    ErrorCode.NOTICE_TOO_SHORT: "the advance notice of a planned outage is too short",
    ErrorCode.OWN_HANDOVER: "you cannot take over your own handover",
    ErrorCode.QUERY_REQUIRED: "a search query is required",
    ErrorCode.REASON_REQUIRED: "a reason is required",
    ErrorCode.REPLY_REQUIRED: "a reply is required",
    ErrorCode.RESULT_REQUIRED: "a result is required",
    ErrorCode.RETURN_CALL_CLOSED: "the call-back list entry is closed (called back, or not needed) (409)",
    ErrorCode.SATISFACTION_REQUIRED: "the customer's satisfaction is required",
    ErrorCode.SCOPE_NOT_ALLOWED: "the scope is not allowed for your role",
    ErrorCode.SCOPE_REQUIRED: "a scope is required",
    ErrorCode.SITUATION_REQUIRED: "the on-site situation is required",
    ErrorCode.TIMES_REQUIRED: "the times are required",
    ErrorCode.TRANSFER_TARGET_REQUIRED: "a transfer names the agent, skill queue or outside line it went to",
    ErrorCode.UNKNOWN_ACTION: "unknown action",
    ErrorCode.UNKNOWN_AGENT: "unknown agent",
    ErrorCode.UNKNOWN_AREA: "unknown transformer area",
    ErrorCode.UNKNOWN_FEEDER: "unknown feeder",
    ErrorCode.UPPER_REVIEW_REQUIRED: "the upper unit must review first",
    ErrorCode.VERSION_CONFLICT: "the object changed since you read it; reload and retry (409)",
    # Billing (the monthly calculation, bills and their answers)
    ErrorCode.INVALID_AMOUNT: "an amount must be above 0 with at most two decimals (422)",
    ErrorCode.BAD_FILE: "the file was rejected whole: `rows` names each bad row (422)",
    ErrorCode.FILE_ALREADY_IMPORTED: "this very file was imported before (409)",
    ErrorCode.ANOMALIES_OPEN: "the run still has anomalies to review; it cannot be released (409)",
    ErrorCode.SELF_APPROVAL: "the requester of a late-fee waiver may not decide it: another billing clerk or manager does (403)",
    ErrorCode.NO_BILLING_ACCOUNT: "the customer has no billing account (not billed here)",
    # Billing: arrears, disconnection and reconnection, prepaid (issue 19, helper "arrears")
    ErrorCode.DISCONNECTION_NOT_DUE: "a disconnection needs arrears on an open bill overdue longer than the setting's days and a reminder sent for it (409)",
    ErrorCode.DISCONNECTION_EXEMPT: "the customer may not be disconnected now: `exemptions` lists each reason (保电, vulnerable household, open bill dispute or complaint) (409)",
    ErrorCode.DISCONNECTION_OPEN: "the customer already has a disconnection case in progress (409)",
    ErrorCode.PROOF_REQUIRED: "the notice's proof of delivery is required (422)",
    ErrorCode.CUT_TOO_EARLY: "the notice period has not run yet: `earliest_cut_at` says when the cut may be made (409)",
    ErrorCode.CALL_REQUIRED: "a non-residential cut needs a phone call at least the setting's minutes before it and not older than the allowed hours (409)",
    ErrorCode.ARREARS_CLEARED: "the customer's arrears are cleared: nothing to disconnect (409)",
}


def error_codes_markdown() -> str:
    """Every ``ErrorCode`` with its meaning, as a Markdown table (generated from the enum)."""
    rows = [f"| `{code.value}` | {ERROR_MEANINGS.get(code, '')} |" for code in ErrorCode]
    return "\n".join(["| code | meaning |", "| --- | --- |", *rows])


class ErrorOut(Schema):
    """Every API error: a stable ``code`` from ``ErrorCode`` and a message (validation errors add
    ``errors``)."""

    code: ErrorCode
    message: str


class ApiError(Exception):
    """A business error with a stable code, answered as JSON ``{code, message}`` by the API."""

    def __init__(self, code: str, message: str, status: int = 400, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.extra = extra


def unknown_action(action: str) -> ApiError:
    """404 ``unknown_action``: the refusal every API workflow table gives a name it does not hold."""
    return ApiError(ErrorCode.UNKNOWN_ACTION, f"Unknown action {action!r}.", status=404)


# Stored as "<user id>:<scope>:<key>" in columns of 80 characters or more.
IDEMPOTENCY_KEY_MAX = 60
# Printable ASCII without space: a UUID, a ULID, "intake-2026-0001" …
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1," + str(IDEMPOTENCY_KEY_MAX) + "}")


def idempotency_key(request: HttpRequest) -> str | None:
    """The request's ``Idempotency-Key`` header (None when absent); 400 when it is longer than
    ``IDEMPOTENCY_KEY_MAX`` or holds anything but printable ASCII (no spaces, no control
    characters)."""
    key: str | None = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not _IDEMPOTENCY_KEY.fullmatch(key):
        raise ApiError(
            ErrorCode.INVALID_IDEMPOTENCY_KEY,
            f"Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX} printable ASCII characters without spaces.",
            status=400,
        )
    return key


def request_fingerprint(request: HttpRequest) -> str:
    """A short hash of the request's body, stored with its idempotency key: a retry with the same
    key must send the same body (else 422 ``idempotency_key_reused``)."""
    return hashlib.blake2b(request.body, digest_size=16).hexdigest()


def check_same_request(stored: str | None, fingerprint: str | None) -> None:
    """422 ``idempotency_key_reused`` when a key taken before is sent with another body (a row
    stored before fingerprints were kept has none and is answered as before)."""
    if stored and fingerprint and stored != fingerprint:
        raise ApiError(
            ErrorCode.IDEMPOTENCY_KEY_REUSED,
            "This Idempotency-Key was used with a different request body.",
            status=422,
        )


def stored_idempotency_key(actor: object, key: str | None, scope: str = "") -> str | None:
    """How a client's ``Idempotency-Key`` is stored: per user, as two clients may pick the same
    key, and per ``scope`` where one table takes keys from two APIs ("<user id>:[<scope>:]<key>")."""
    if not key:
        return None
    return f"{getattr(actor, 'pk', '')}:{scope}:{key}" if scope else f"{getattr(actor, 'pk', '')}:{key}"


class TooManyRequests(ApiError):
    """429 ``too_many_requests``: a throttle's limit is reached; ``Retry-After`` tells when to retry.
    Pages render it too (``core.middleware.SessionLifetimeMiddleware``)."""

    code_name = "too_many_requests"

    def __init__(self, retry_after: int, message: str = "Too many requests; retry later.") -> None:
        super().__init__(self.code_name, message, status=429)
        self.retry_after = max(1, int(retry_after))
        self.headers = {"Retry-After": str(self.retry_after)}
