"""One history shape (issue #16, item 6): every history table extends ``core.models.HistoryEntry``."""

from collections import Counter

from django.apps import apps

from gridcare.core.models import HistoryEntry

SHAPE = ("at", "actor", "action", "from_state", "to_state", "note", "data")
# By label: core sits below the business areas and imports none of them.
HISTORIES = {
    "workorders.WorkOrderEvent": "order",
    "knowledge.ArticleEvent": "article",
    "outages.OutageEvent": "outage",
    "repair.EventUpdate": "event",
    "applications.ApplicationEvent": "application",
}


def test_every_history_has_the_one_shape():
    assert HistoryEntry._meta.abstract
    for label, subject in HISTORIES.items():
        model = apps.get_model(label)
        assert issubclass(model, HistoryEntry), model
        names = {f.name for f in model._meta.get_fields()}
        assert set(SHAPE) <= names, (model, set(SHAPE) - names)
        assert subject in names
        assert model._meta.get_field("actor").null
        assert model._meta.get_field("data").default is dict


def test_no_two_models_share_a_name():
    names = Counter(m.__name__ for m in apps.get_models())
    assert [n for n, c in names.items() if c > 1] == []
    assert apps.get_model("repair", "FaultEvent")._meta.verbose_name == "故障停电事件"
