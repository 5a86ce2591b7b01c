import threading
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from gridcare.core import clock, periodic


class Command(BaseCommand):
    help = "Run the background task worker (deadlines, warnings, notifications) and the periodic sweeps."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", action="store_true", help="process what is queued, then exit")

    def handle(self, *args: Any, batch: bool = False, **options: Any) -> None:
        from django.conf import settings

        database_backend = settings.TASKS_BACKEND != "django_tasks_rq.RQBackend"
        worker_id = periodic.new_worker_id() if database_backend else None
        if worker_id is not None:
            # Alive before the first claim, and a task row a killed worker left RUNNING is back
            # in the queue (or closed) before this worker looks for work.
            periodic.beat(worker_id, clock.now())
            periodic.release_abandoned_tasks()
        stop = threading.Event()
        # The helper thread beats and releases abandoned task rows; it enqueues the periodic
        # sweeps unless this is a --batch run.
        helper = periodic.start_scheduler(stop, worker_id=worker_id, enqueue=not batch)
        try:
            if not database_backend:
                call_command("rqworker", "default", "--with-scheduler")
            else:
                call_command("db_worker", *(["--batch"] if batch else []), "--worker-id", worker_id)
        finally:
            stop.set()
            helper.join(timeout=30)
            if worker_id is not None:
                periodic.forget(worker_id)
