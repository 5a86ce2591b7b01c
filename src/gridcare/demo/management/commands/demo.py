import os
import signal
import subprocess
import sys

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Migrate, seed a demo county if the database is empty, and serve on 127.0.0.1:8000 with a worker."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument("--customers", type=int, default=20000)
        parser.add_argument("--no-worker", action="store_true")

    def handle(self, *args, addr, customers, no_worker, **options):
        from gridcare.demo.seeding import database_is_empty, renew_demo_password

        call_command("migrate", interactive=False, verbosity=0)
        if database_is_empty():
            self.stdout.write(f"Seeding the demo county with {customers} customers …")
            call_command("seed_demo", customers=customers)
        else:
            self.stdout.write("The database already holds a county; not seeding again.")
            if renewed := renew_demo_password():
                self.stdout.write(f"{renewed} demo accounts now have the documented password.")
        worker = None
        if not no_worker:
            worker = subprocess.Popen([sys.executable, "-m", "gridcare.cli", "worker"], env=os.environ.copy())
        self.stdout.write(
            self.style.SUCCESS(
                f"GridCare is running at http://{addr}/ — demo accounts are listed in README.md (password: gridcare-demo-shift)"
            )
        )
        try:
            call_command("runserver", addr, use_reloader=False)
        finally:
            if worker is not None:
                worker.send_signal(signal.SIGTERM)
                worker.wait(timeout=10)
