from django.core.management.base import BaseCommand, CommandError

from gridcare.org.models import User


class Command(BaseCommand):
    help = "Load the knowledge base's category tree and standard answers (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--owner", default="", help="username owning the seeded articles")
        parser.add_argument(
            "--reindex",
            action="store_true",
            help="re-segment every served article (after editing dictionaries)",
        )

    def handle(self, *args, owner, reindex, **options):
        from gridcare.knowledge import seed, services

        user = None
        if owner:
            user = User.objects.filter(username=owner).first()
            if user is None:
                raise CommandError(f"no such user: {owner}")
        report = seed.seed_knowledge(owner=user)
        self.stdout.write(
            f"knowledge: {report.categories} categories; {report.created_or_changed} articles published or updated, "
            f"{report.unchanged} unchanged"
        )
        if report.skipped_regions:
            self.stdout.write(
                f"skipped (region unit not in this database): {', '.join(report.skipped_regions)}"
            )
        if reindex:
            self.stdout.write(f"re-indexed {services.rebuild_index()} served articles")
