import threading

from django.core.management import call_command
from django.core.management.base import BaseCommand

from gridcare.core.periodic import start_scheduler


class Command(BaseCommand):
    help = "Run the background task worker (deadlines, warnings, notifications) and the periodic sweeps."

    def add_arguments(self, parser):
        parser.add_argument("--batch", action="store_true", help="process what is queued, then exit")

    def handle(self, *args, batch=False, **options):
        from django.conf import settings

        stop = threading.Event()
        if not batch:
            start_scheduler(stop)
        try:
            if settings.TASKS_BACKEND == "django_tasks_rq.RQBackend":
                call_command("rqworker", "default", "--with-scheduler")
            else:
                call_command("db_worker", *(["--batch"] if batch else []))
        finally:
            stop.set()
