"""The demo county's 业扩报装: every node of every path has an application standing at it, made
through the services (so histories are real), with overdue, waiting and archived ones."""

from __future__ import annotations

import datetime as dt
import time

from django.core.management import call_command

from gridcare.applications.models import Application, ApplicationEvent, ApplicationNode, NodePath
from gridcare.core import clock

TODAY = dt.datetime(2026, 3, 2, 9, 0, tzinfo=clock.LOCAL_TZ)


def test_applications_at_every_node_of_every_path(db, client):
    with clock.frozen(TODAY):
        call_command("seed_demo", customers=600, seed=7, no_knowledge=True, verbosity=0)
        in_flight = Application.objects.filter(state="in_progress")
        for name in (
            "低压居民新装增容",
            "低压非居民新装增容",
            "高压单电源新装增容",
            "高压双电源新装增容",
            "变更用电",
        ):
            path = NodePath.objects.get(name=name)
            kinds = list(path.nodes.order_by("seq").values_list("kind", flat=True))[1:]
            standing = set(in_flight.filter(path=path).values_list("current_node", flat=True))
            assert set(kinds) <= standing, (name, set(kinds) - standing)
            assert Application.objects.filter(path=path, state="archived").exists(), name
        assert Application.objects.filter(state="cancelled").count() == 1
        assert ApplicationNode.objects.filter(state="waiting").count() == 2
        now = clock.now()
        late = ApplicationNode.objects.filter(
            finished_at__isnull=True, paused_at__isnull=True, due_at__lt=now
        )
        assert late.values("application").distinct().count() >= 4
        assert ApplicationEvent.objects.filter(action="resume").exists()
        # Callbacks after acceptance were made; one reported 吃拿卡要: a report order and an audit case.
        from gridcare.applications.models import ApplicationCallback, AuditCase

        assert ApplicationCallback.objects.filter(state="done").count() >= 4
        assert AuditCase.objects.filter(finding="吃拿卡要").count() == 1
        assert ApplicationCallback.objects.filter(state="due").exists()
        assert Application.objects.filter(customer__isnull=False).count() >= 5
        # clerk01 sees them on the list; the home tile counts the overdue ones.
        client.login(username="clerk01", password="gridcare-demo-shift")
        assert "YK" in client.get("/applications/").content.decode()
        assert "/applications/?overdue=1" in client.get("/").content.decode()


def test_seeding_the_applications_is_quick(db):
    from gridcare.demo.applications import make_applications

    with clock.frozen(TODAY):
        call_command("seed_demo", customers=300, seed=3, no_knowledge=True, no_history=True, verbosity=0)
        started = time.perf_counter()
        report = make_applications(seed=3)
    assert report.applications >= 35
    assert time.perf_counter() - started < 20
