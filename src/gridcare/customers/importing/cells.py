"""Reading one cell of an import file: the formats a utility's Excel export comes in.

Every parser takes the raw cell value (``str`` from CSV; ``str``/``int``/``float``/``datetime``/
``bool`` from XLSX) and returns the stored value, or raises :class:`Invalid` with a message in
Chinese that the row report shows beside the row number and column.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Choices

from gridcare.core.validation import InvalidPhone, parse_phone
from gridcare.customers.models import CODE_RE


class Invalid(ValueError):
    """A cell's value is not acceptable; ``str(exc)`` says why, in Chinese."""


def text(value: Any) -> str:
    """The cell as text: numbers without a spurious ``.0``, dates as ``YYYY-MM-DD``."""
    if value.__class__ is str:  # the common case, kept fast for 100,000-row files
        if "\u00a0" in value or "\u3000" in value:
            value = value.replace("\u00a0", " ").replace("\u3000", " ")
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).replace("\u00a0", " ").replace("\u3000", " ").strip()


def fold(value: str) -> str:
    """Compare-friendly form: full-width → half-width (NFKC), no spaces, lower case."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value)).lower()


def limited(value: Any, max_length: int, *, required: bool = False) -> str:
    result = text(value)
    if required and not result:
        raise Invalid("必填项为空")
    if len(result) > max_length:
        raise Invalid(f"长度 {len(result)} 超过上限 {max_length} 个字符")
    return result


_CODE = CODE_RE  # the model's rule (Customer.clean)


def code(value: Any, max_length: int, *, required: bool = True) -> str:
    """An identifier (户号, 编码, 表号, 合同编号): letters, digits, ``-_.``; no spaces."""
    result = unicodedata.normalize("NFKC", text(value)).strip()
    if not result:
        if required:
            raise Invalid("必填项为空")
        return ""
    if len(result) > max_length:
        raise Invalid(f"长度 {len(result)} 超过上限 {max_length} 个字符")
    if not _CODE.match(result):
        raise Invalid("只能包含字母、数字和 - _ . 符号")
    return result


# --- choices --------------------------------------------------------------------------------------


class ChoiceReader:
    """Accepts a TextChoices/IntegerChoices value by its Chinese label, its stored code, or a synonym."""

    def __init__(self, choices: type[Choices], synonyms: dict[str, Any] | None = None) -> None:
        self.lookup: dict[str, Any] = {}
        for value, label in choices.choices:
            if value == "":
                continue
            self.lookup[fold(str(label))] = value
            self.lookup[fold(str(value))] = value
        for word, value in (synonyms or {}).items():
            self.lookup[fold(word)] = value
        self.labels = [str(label) for value, label in choices.choices if value != ""]
        self.seen: dict[str, Any] = {}  # raw cell text → value: a column repeats a few values

    def __call__(self, value: Any, *, default: Any = None, required: bool = False) -> Any:
        raw = text(value)
        if raw in self.seen:
            return self.seen[raw]
        if not raw:
            if required:
                raise Invalid("必填项为空")
            return default
        try:
            result = self.lookup[fold(raw)]
        except KeyError:
            raise Invalid(f"不是可选值；可填：{'、'.join(self.labels)}") from None
        if len(self.seen) < 1000:
            self.seen[raw] = result
        return result


_TRUE = {"是", "y", "yes", "true", "1", "√", "✓", "有", "t"}
_PLAIN = {"是": True, "否": False, "": False, None: False}
_FALSE = {"否", "n", "no", "false", "0", "×", "x", "无", "f", "-", "—"}


def boolean(value: Any) -> bool:
    """是/否 (also Y/N, 1/0, √/×, TRUE/FALSE); an empty cell is 否."""
    if isinstance(value, bool):
        return value
    if value in _PLAIN:
        return _PLAIN[value]
    raw = fold(text(value))
    if raw == "" or raw in _FALSE:
        return False
    if raw in _TRUE:
        return True
    raise Invalid("应填“是”或“否”")


# --- numbers and dates ----------------------------------------------------------------------------


def decimal(value: Any, *, places: int, max_digits: int, minimum: Decimal = Decimal(0)) -> Decimal | None:
    raw = text(value).replace(",", "").replace("，", "")
    if not raw:
        return None
    try:
        number = Decimal(unicodedata.normalize("NFKC", raw))
    except InvalidOperation:
        raise Invalid("不是数字") from None
    if not number.is_finite():
        raise Invalid("不是数字")
    if number < minimum:
        raise Invalid(f"不能小于 {minimum}")
    quantum = Decimal(1).scaleb(-places)
    if number != number.quantize(quantum):
        raise Invalid(f"最多 {places} 位小数")
    number = number.quantize(quantum)
    if len(number.as_tuple().digits) > max_digits:
        raise Invalid("数值过大")
    return number


def integer(value: Any, *, minimum: int, maximum: int) -> int | None:
    raw = text(value).replace(",", "")
    if not raw:
        return None
    try:
        number = Decimal(unicodedata.normalize("NFKC", raw))
    except InvalidOperation:
        raise Invalid("不是整数") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise Invalid("不是整数")
    if not minimum <= number <= maximum:
        raise Invalid(f"应在 {minimum} 到 {maximum} 之间")
    return int(number)


_DATE_PATTERNS = [
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
]


def date(value: Any) -> dt.date | None:
    """2024-03-05, 2024/3/5, 2024.3.5, 2024年3月5日, 20240305 or an Excel date cell."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    raw = unicodedata.normalize("NFKC", text(value)).replace(" ", "") if value is not None else ""
    if not raw:
        return None
    if isinstance(value, int | float) and not re.match(r"^\d{8}$", raw):
        raise Invalid("日期格式不正确，应为 YYYY-MM-DD（单元格是数字，请设为日期或文本格式）")
    for pattern in _DATE_PATTERNS:
        match = pattern.match(raw)
        if match:
            try:
                return dt.date(*(int(part) for part in match.groups()))
            except ValueError:
                raise Invalid("日期不存在") from None
    raise Invalid("日期格式不正确，应为 YYYY-MM-DD")


# --- phones ---------------------------------------------------------------------------------------

PHONE_SEPARATORS = re.compile(r"[;；、,，/\n]+")


def phones(value: Any) -> list[tuple[str, str]]:
    """联系电话: one or more numbers separated by ; or 、 (also ，/ and line breaks).

    Returns ``(digits, kind)`` pairs with ``kind`` "mobile" or "landline", duplicates dropped.
    Stored as digits only (the lookup normalizes what the agent types the same way).
    """
    raw = text(value)
    found: list[tuple[str, str]] = []
    problems: list[str] = []
    for part in PHONE_SEPARATORS.split(raw):
        part = part.strip()
        if not part:
            continue
        try:
            digits, kind = parse_phone(part)  # the one rule of forms, API and import
        except InvalidPhone:
            problems.append(part)
            continue
        if digits not in (number for number, _ in found):
            found.append((digits, kind))
    if problems:
        raise Invalid(
            f"电话号码格式不正确：{'、'.join(problems)}（手机应为 1 开头的 11 位数字，固定电话须带区号）"
        )
    return found


# --- identity numbers -----------------------------------------------------------------------------

_ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_ID_CHECK = "10X98765432"
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def resident_id_check_digit(first17: str) -> str:
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def uscc_check_char(first17: str) -> str:
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_CHARS[(31 - total % 31) % 31]


def _birth_date_ok(digits: str) -> bool:
    try:
        born = dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return False
    return born.year >= 1900


def id_number(value: Any) -> str:
    """证件号码: an 18-digit resident ID (birth date and check digit verified), an old 15-digit
    resident ID, or an organization's 18-character unified social credit code (checked too)."""
    if isinstance(value, float):
        # Excel keeps 15 significant digits: an 18-digit number typed into a number cell is damaged.
        raise Invalid("证件号码被存成了数字，末几位已丢失；请把该列设为文本格式后重新导出")
    raw = unicodedata.normalize("NFKC", text(value)).replace(" ", "").upper()
    if not raw:
        return ""
    if re.fullmatch(r"\d{17}[\dX]", raw):
        if not _birth_date_ok(raw[6:14]):
            raise Invalid("身份证号码中的出生日期无效")
        if resident_id_check_digit(raw[:17]) != raw[17]:
            raise Invalid("身份证号码校验位不正确")
        return raw
    if re.fullmatch(r"\d{15}", raw):
        if not _birth_date_ok("19" + raw[6:12]):
            raise Invalid("15 位身份证号码中的出生日期无效")
        return raw
    if len(raw) == 18 and all(c in _USCC_CHARS for c in raw):
        if uscc_check_char(raw[:17]) != raw[17]:
            raise Invalid("统一社会信用代码校验位不正确")
        return raw
    raise Invalid("证件号码格式不正确：应为 18 位身份证号码或 18 位统一社会信用代码")
