from django.core.management.base import BaseCommand

from gridcare.quality import rollups


class Command(BaseCommand):
    help = (
        "Build the statistics roll-ups that are missing or stale (after a bulk import, or to fill a "
        "new installation's history at once); the worker keeps them current afterwards."
    )

    def add_arguments(self, parser):
        parser.add_argument("--budget", type=float, default=None, help="stop after about this many seconds")

    def handle(self, *args, budget, **options):
        done = rollups.refresh(budget_seconds=budget)
        self.stdout.write(
            f"built {done.built} buckets ({done.cells} cells) in {done.seconds:.1f} s; {done.pending} still stale"
        )
