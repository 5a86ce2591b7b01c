"""The read-replica router: statistics reads go to the replica only when one is configured, and
writes never do."""

from __future__ import annotations

import copy

from django.conf import settings
from django.test import override_settings

from gridcare.core.models import AuditLog as Metric  # any model: the router does not look at it
from gridcare.core.replica import REPLICA, ReplicaRouter, reads_from_replica, replica_reads


def _with_replica():
    databases = copy.deepcopy(settings.DATABASES)
    databases[REPLICA] = copy.deepcopy(databases["default"])
    return override_settings(DATABASES=databases)


def test_without_a_replica_every_read_stays_on_the_primary():
    router = ReplicaRouter()
    with replica_reads():
        assert router.db_for_read(Metric) is None


def test_with_a_replica_only_the_statistics_reads_go_there_and_no_write_ever_does():
    router = ReplicaRouter()
    with _with_replica():
        assert router.db_for_read(Metric) is None  # an ordinary read: the primary
        with replica_reads():
            assert router.db_for_read(Metric) == REPLICA
            assert router.db_for_write(Metric) is None
        assert router.db_for_read(Metric) is None  # the block is over
        seen = []
        reads_from_replica(lambda: seen.append(router.db_for_read(Metric)))()
        assert seen == [REPLICA]
        assert router.allow_migrate(REPLICA, "quality") is False
        assert router.allow_migrate("default", "quality") is True
