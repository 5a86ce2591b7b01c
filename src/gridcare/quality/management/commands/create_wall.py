from django.core.management.base import BaseCommand, CommandError

from gridcare.org.models import Unit
from gridcare.quality.models import WallScreen


class Command(BaseCommand):
    help = (
        "Create a command-wall screen (供电服务指挥大屏) for the unit with code UNIT and print the "
        "link that opens it (shown once; only its hash is stored)."
    )

    def add_arguments(self, parser):
        parser.add_argument("unit", help="the unit's code, e.g. a county company's")
        parser.add_argument("--name", default="", help="what the screen is, e.g. '指挥中心主屏'")
        parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="where GridCare is served")

    def handle(self, *args, unit, name, base_url, **options):
        found = Unit.objects.filter(code=unit, is_active=True).first()
        if found is None:
            raise CommandError(f"no active unit with code {unit!r}")
        _screen, key = WallScreen.issue(name=name or f"{found.name}指挥大屏", unit=found)
        self.stdout.write(f"{base_url.rstrip('/')}/quality/wall/open/{key}/")
