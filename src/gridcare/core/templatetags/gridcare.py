from django import template
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def span(seconds: float | None) -> str:
    """A duration for people: 45分钟, 3小时20分钟, 2天5小时 (sign ignored)."""
    if seconds is None:
        return ""
    total = abs(int(seconds)) // 60
    days, rest = divmod(total, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return _("%(d)s天%(h)s小时") % {"d": days, "h": hours} if hours else _("%(d)s天") % {"d": days}
    if hours:
        return (
            _("%(h)s小时%(m)s分钟") % {"h": hours, "m": minutes} if minutes else _("%(h)s小时") % {"h": hours}
        )
    return _("%(m)s分钟") % {"m": minutes}
