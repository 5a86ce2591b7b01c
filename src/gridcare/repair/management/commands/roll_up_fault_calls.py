import os
import time

from django.core.management.base import BaseCommand

from gridcare.repair.services import PROCESS_SECONDS, raise_long_outage_warnings, run_analysis


class Command(BaseCommand):
    help = (
        "Trouble-call analysis (研判): process the fault calls queued by the API (来电登记), roll "
        "calls up into outage events, dispatch the new ones and raise the 12-hour outage warnings. "
        "--loop keeps running (a deployment without the task worker, or the storm benchmark); "
        "several loops may run at once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="run again every --interval seconds")
        parser.add_argument("--interval", type=float, default=2.0)
        parser.add_argument(
            "--nice",
            type=int,
            default=0,
            help="lower this process's CPU priority (os.nice) so that, on a host shared with the web "
            "workers, taking calls comes first and the queue is worked off with the CPU left",
        )

    def handle(self, *args, loop, interval, nice, **options):
        if nice:
            os.nice(nice)
        while True:
            # Once: the whole queue. In the loop: a roll-up at least every PROCESS_SECONDS while
            # calls wait, so later calls link to the events formed meanwhile.
            report = run_analysis(process_seconds=PROCESS_SECONDS if loop else None)
            warned = raise_long_outage_warnings()
            if options["verbosity"] >= 1 and (report.changed or warned or not loop):
                self.stdout.write(
                    f"queued calls processed {report.processed} (failed {report.failed}), "
                    f"placed {report.placed}, linked {report.linked}, new events {len(report.created)}, "
                    f"merged {report.merged}, unplaced {report.pending}, warnings {warned}",
                )
            if not loop:
                return
            if not report.queue_left:
                time.sleep(interval)
