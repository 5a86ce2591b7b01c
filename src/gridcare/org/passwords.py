"""Password rules of GridCare beyond Django's validators (settings.AUTH_PASSWORD_VALIDATORS)."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# Words an attacker tries first against a power-supply service center: the product, the utility,
# the hotline number, the pinyin of the trade, keyboard walks. Matched case-insensitively.
PROJECT_WORDS = (
    "gridcare",
    "95598",
    "qlbx",  # pinyin initials common in utility staff passwords
    "qiangxiu",
    "baoxiu",
    "dianli",
    "gongdian",
    "guowang",
    "guodian",
    "sgcc",
    "stategrid",
    "kefu",
    "zuoxi",
    "password",
    "passw0rd",
    "admin",
    "qwerty",
    "asdf",
    "welcome",
)
# What is left once those words, the username and digits and punctuation are taken out must be
# this long: "gridcare2025!" or "agentagent" leave nothing.
MIN_OWN_LETTERS = 6


class ProjectWordValidator:
    """Refuses a password that is little more than project words, the username (however often
    repeated) and digits or punctuation — e.g. ``gridcare``, ``qlbx95598``, ``zhangsanzhangsan``."""

    def __init__(self, words: tuple[str, ...] = PROJECT_WORDS, min_own_letters: int = MIN_OWN_LETTERS):
        self.words = tuple(w.lower() for w in words)
        self.min_own_letters = min_own_letters

    def validate(self, password: str, user=None) -> None:
        rest = password.lower()
        names = [getattr(user, "username", "") or "", getattr(user, "employee_no", "") or ""]
        for word in sorted({*self.words, *(n.lower() for n in names if len(n) >= 3)}, key=len, reverse=True):
            rest = rest.replace(word, " ")
        own = re.sub(r"[\W\d_]+", "", rest)
        if len(own) < self.min_own_letters:
            raise ValidationError(
                _("密码过于简单：不能只由用户名、系统或行业常用词与数字组成。"),
                code="password_project_word",
            )

    def get_help_text(self) -> str:
        return _("密码不能只由用户名、系统或行业常用词与数字组成。")
