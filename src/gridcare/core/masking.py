"""Masking of personal data for lists, logs and exports (e.g. 138****1234)."""

from __future__ import annotations


def mask_phone(number: str | None) -> str:
    if not number:
        return ""
    digits = number.strip()
    if len(digits) >= 11:
        return f"{digits[:3]}****{digits[-4:]}"
    if len(digits) >= 7:
        return f"{digits[:2]}{'*' * (len(digits) - 4)}{digits[-2:]}"
    return "*" * len(digits)


def mask_id_number(value: str | None) -> str:
    """Resident ID: keep the first 6 (region) and last 4 characters."""
    if not value:
        return ""
    value = value.strip()
    if len(value) <= 8:
        return "*" * len(value)
    return f"{value[:6]}{'*' * (len(value) - 10)}{value[-4:]}"


def mask_name(value: str | None) -> str:
    """张三 → 张*, 欧阳明月 → 欧**月; organization names are not personal and stay whole."""
    if not value:
        return ""
    value = value.strip()
    if len(value) > 4 or any(
        k in value for k in ("公司", "厂", "局", "学校", "医院", "中心", "委员会", "合作社")
    ):
        return value
    if len(value) == 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]


def mask_address(value: str | None) -> str:
    """Keep the area part of an address, hide the house number (…路**号)."""
    if not value:
        return ""
    value = value.strip()
    keep = max(len(value) - 6, len(value) // 2)
    return value[:keep] + "*" * (len(value) - keep)
