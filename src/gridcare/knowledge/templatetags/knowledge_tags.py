from django import template

from gridcare.knowledge import markup

register = template.Library()


@register.filter
def answer_html(source: str):
    """An answer's light markup as safe HTML (escaped first)."""
    return markup.render(source or "")
