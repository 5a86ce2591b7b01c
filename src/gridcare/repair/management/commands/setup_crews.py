from django.core.management.base import BaseCommand

from gridcare.repair.setup import setup_crews


class Command(BaseCommand):
    help = (
        "Create the repair network of every supply station from the organization: for each 抢修班 "
        "(a team unit with the repair function) a station repair team crew with its crew members, "
        "an electrician group, and the station's joint-defense organization. Skips crews that exist."
    )

    def handle(self, *args, **options):
        created = setup_crews()
        self.stdout.write(self.style.SUCCESS(f"{created} crews created"))
