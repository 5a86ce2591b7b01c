"""The constrained input types every edge shares (API schemas, page forms, the customer import).

Bad input is refused where it enters — as a 4xx with ``{code, message}`` in the API, a form error
on a page — so it never reaches the database (PostgreSQL refuses NUL in text with an error that
would otherwise be a 500 and would log the statement's values, an unmasked phone among them).

- ``CleanText`` / ``CleanLine``: text without control characters (NUL included); ``CleanText``
  allows tab and line breaks (content, notes), ``CleanLine`` none (names, codes, numbers).
- ``Phone``: a mobile number, or a landline with its area code and an optional extension;
  ``parse_phone`` is the one rule (forms and the import call it too) and normalizes the number.
- ``Int32``, ``Limit``, ``Offset``: integers a database column and an OFFSET can hold.
- ``LocalDateTime``: a time whose year is in a sane range and whose UTC offset is one a real zone
  has (PostgreSQL refuses e.g. -16:52); read as Asia/Shanghai when it carries no offset.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Annotated, Any

from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy
from pydantic import AfterValidator, BeforeValidator, Field, Strict

# C0 controls but tab, line feed and carriage return; DEL; C1 controls. NUL is \x00.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Also tab and line breaks: for one-line values (names, numbers, codes, headers).
LINE_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f]")

# The same rule as JSON Schema patterns, so the OpenAPI tells clients (and fuzzers) what is valid.
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
LINE_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*$"


def has_control_chars(value: str, *, multiline: bool = True) -> bool:
    return bool((CONTROL_CHARS if multiline else LINE_CONTROL_CHARS).search(value))


def clean_text(value: str) -> str:
    if CONTROL_CHARS.search(value):
        raise ValueError("text must not contain control characters")
    return value


def clean_line(value: str) -> str:
    if LINE_CONTROL_CHARS.search(value):
        raise ValueError("text must not contain control characters or line breaks")
    return value


CleanText = Annotated[str, Field(pattern=TEXT_PATTERN), AfterValidator(clean_text)]
CleanLine = Annotated[str, Field(pattern=LINE_PATTERN), AfterValidator(clean_line)]
# A number or code of an object (order, event, feeder, crew): one line, at most 64 characters.
Code = Annotated[str, Field(max_length=64, pattern=LINE_PATTERN), AfterValidator(clean_line)]

# --- phones ---------------------------------------------------------------------------------------

MOBILE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE = re.compile(r"^0\d{9,11}$")  # 0 + 2–3 digit area code + 7–8 digit number
_EXTENSION = re.compile(r"^(?P<number>.*?)(?:(?:转|ext\.?|x|#)\s*(?P<ext>\d{1,6}))?$", re.IGNORECASE)
_SEPARATORS = re.compile(r"[\s\-()（）]")
PHONE_MAX_LENGTH = 20
# What the OpenAPI documents (the same rule as ``parse_phone`` for ASCII input): empty, a mobile
# number, or a landline with its area code and an optional extension; +86 and separators allowed.
PHONE_PATTERN = (
    r"^(|(\+86|0086)?[ -]?1[3-9][0-9]( ?-?[0-9]){8}"
    r"|\(?0[0-9]{2,3}\)?[ -]?[0-9]{3,4}[ -]?[0-9]{4}((转|ext|x|#)[0-9]{1,6})?)$"
)


class InvalidPhone(ValueError):
    pass


PHONE_RULE = "手机应为 1 开头的 11 位数字，固定电话须带区号（可加分机号）"


def parse_phone(value: str) -> tuple[str, str]:
    """``(number, kind)`` of a phone as typed: kind is "mobile" or "landline". Separators, a +86 /
    0086 country code before a mobile number and full-width digits are dropped; a landline's
    extension (转123, ext 123, x123, #123) is kept as ``-<ext>`` ("085186001234-123"). Raises
    ``InvalidPhone`` for anything else (letters too)."""
    text = unicodedata.normalize("NFKC", value or "").strip()
    match = _EXTENSION.match(text)
    digits = _SEPARATORS.sub("", match["number"]) if match else ""
    extension = match["ext"] if match else None
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and MOBILE.match(digits[len(prefix) :]):
            digits = digits[len(prefix) :]
            break
    if extension is None and MOBILE.match(digits):
        return digits, "mobile"
    if LANDLINE.match(digits):
        return (f"{digits}-{extension}" if extension else digits), "landline"
    raise InvalidPhone(PHONE_RULE)


def normalize_phone_or_blank(value: str) -> str:
    """A phone field that may be left empty: "" stays "", anything else must be a phone."""
    if value is None or not str(value).strip():
        return ""
    return parse_phone(str(value))[0]


Phone = Annotated[
    str,
    Field(max_length=32, pattern=PHONE_PATTERN, description="手机或带区号的固定电话（可加分机号）"),
    AfterValidator(normalize_phone_or_blank),
]

# --- integers -------------------------------------------------------------------------------------

INT32_MAX = 2**31 - 1
Int32 = Annotated[int, Field(ge=-INT32_MAX - 1, le=INT32_MAX)]
PositiveInt32 = Annotated[int, Field(ge=0, le=INT32_MAX)]
# Paging: any page size a list allows is far below this; an offset past any table's size.
OFFSET_MAX = 10_000_000
Offset = Annotated[int, Field(ge=0, le=OFFSET_MAX)]

# --- times ----------------------------------------------------------------------------------------

YEAR_MIN, YEAR_MAX = 2000, 2099
# Real zones lie between UTC-12:00 and UTC+14:00; PostgreSQL refuses some offsets beyond.
OFFSET_LIMIT = dt.timedelta(hours=14)


def sane_datetime(value: dt.datetime) -> dt.datetime:
    from gridcare.core import clock

    if not (YEAR_MIN <= value.year <= YEAR_MAX):
        raise ValueError(f"the year must be between {YEAR_MIN} and {YEAR_MAX}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=clock.LOCAL_TZ)
    offset = value.utcoffset()
    if offset is None or abs(offset) > OFFSET_LIMIT:
        raise ValueError("the UTC offset must be between -14:00 and +14:00")
    return value


# Pydantic reads a bare number as seconds since 1970 ("0" is 1970-01-01); the OpenAPI promises
# ISO 8601 text, so a number is refused as the schema says, not read as a day half a century ago.
_NUMBER = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")


def _iso_text_only(value: object) -> object:
    if isinstance(value, bool | int | float) or (isinstance(value, str) and _NUMBER.match(value)):
        raise ValueError("a date or time must be ISO 8601 text (YYYY-MM-DD[THH:MM[:SS]][±HH:MM])")
    return value


def _no_control_in_time(value: object) -> object:
    if isinstance(value, str) and LINE_CONTROL_CHARS.search(value):
        raise ValueError("a time must not contain control characters")
    return _iso_text_only(value)


LocalDateTime = Annotated[
    dt.datetime,
    BeforeValidator(_no_control_in_time),
    AfterValidator(sane_datetime),
    Field(description=f"ISO 8601 with offset (read as Asia/Shanghai without); years {YEAR_MIN}–{YEAR_MAX}"),
]


def sane_date(value: dt.date) -> dt.date:
    if not (YEAR_MIN <= value.year <= YEAR_MAX):
        raise ValueError(f"the year must be between {YEAR_MIN} and {YEAR_MAX}")
    return value


LocalDate = Annotated[
    dt.date,
    BeforeValidator(_no_control_in_time),
    AfterValidator(sane_date),
    Field(description=f"YYYY-MM-DD; years {YEAR_MIN}–{YEAR_MAX}"),
]


def limit_param(default: int, maximum: int) -> Any:
    """A ``limit`` query parameter: 1 to ``maximum`` (beyond: 422 ``invalid_limit``)."""
    return Field(default, ge=1, le=maximum, description=f"1 to {maximum}")


# --- page forms -----------------------------------------------------------------------------------


class PhoneField(forms.CharField):
    """A phone in a page form: the same rule as the API's ``Phone`` (``parse_phone``); the cleaned
    value is the normalized number ("" when left empty)."""

    default_error_messages = {
        "invalid_phone": gettext_lazy(
            "电话号码格式不正确：手机应为 1 开头的 11 位数字，固定电话须带区号（可加分机号）"
        )
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 32)
        super().__init__(**kwargs)

    def clean(self, value: Any) -> str:
        value = super().clean(value)
        try:
            return normalize_phone_or_blank(value)
        except InvalidPhone:
            raise DjangoValidationError(self.error_messages["invalid_phone"], code="invalid_phone") from None


# A yes/no in a JSON body: true or false only. Pydantic's lax mode would take 0, 1, "yes" or "on"
# for a boolean, which the OpenAPI document (type boolean) promises to refuse. (Query strings keep
# plain ``bool``: they arrive as text.)
Flag = Annotated[bool, Strict()]
