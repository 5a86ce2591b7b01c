"""A sender configuration that cannot work is refused at start-up."""

from gridcare.notify.checks import senders_configured


def ids(settings_senders, settings):
    settings.GRIDCARE_SENDERS = settings_senders
    return [error.id for error in senders_configured(None)]


def test_the_default_configuration_passes(settings):
    assert senders_configured(None) == []


def test_unknown_channel_missing_class_and_non_sender_are_refused(settings):
    assert ids({"fax": "gridcare.notify.senders.LogSender"}, settings) == ["gridcare.notify.E001"]
    assert ids({"sms": "gridcare.notify.senders.NoSuchSender"}, settings) == ["gridcare.notify.E002"]
    assert ids({"sms": "gridcare.notify.senders.mask_address"}, settings) == ["gridcare.notify.E003"]
