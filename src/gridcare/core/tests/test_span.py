from django.utils import translation

from gridcare.core.templatetags.gridcare import span


def test_durations_read_like_people_say_them():
    translation.activate("zh-hans")
    assert span(45 * 60) == "45分钟"
    assert span(-(3 * 3600 + 20 * 60)) == "3小时20分钟"
    assert span(2 * 86400 + 5 * 3600 + 59) == "2天5小时"
    assert span(86400) == "1天"
    assert span(None) == ""


def test_durations_in_english():
    with translation.override("en"):
        assert span(45 * 60) == "45min"
