import time

from django.core.management.base import BaseCommand

from gridcare.repair.services import raise_long_outage_warnings, run_analysis


class Command(BaseCommand):
    help = (
        "Trouble-call analysis (研判): roll new fault calls up into outage events, dispatch the new "
        "ones and raise the 12-hour outage warnings. --loop keeps running (a deployment without "
        "the task worker, or the storm benchmark)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="run again every --interval seconds")
        parser.add_argument("--interval", type=float, default=2.0)

    def handle(self, *args, loop, interval, **options):
        while True:
            report = run_analysis()
            warned = raise_long_outage_warnings()
            if options["verbosity"] >= 1 and (report.changed or warned or not loop):
                self.stdout.write(
                    f"placed {report.placed}, linked {report.linked}, new events {len(report.created)}, "
                    f"merged {report.merged}, unplaced {report.pending}, warnings {warned}",
                )
            if not loop:
                return
            time.sleep(interval)
