import time

from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError

from gridcare.demo.applications import make_applications
from gridcare.demo.archive import make_archive
from gridcare.demo.billing import make_billing
from gridcare.demo.history import make_history
from gridcare.demo.seeding import (
    DEFAULT_CUSTOMERS,
    DEFAULT_SEED,
    NotEmpty,
    database_is_empty,
    seed_demo_county,
)


class Command(BaseCommand):
    help = (
        "Build the demo county (org tree, staff for every role, grid topology and N customers) "
        "into an empty database. Deterministic for a given --seed. Every demo account's password "
        "is gridcare-demo-shift."
    )

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=DEFAULT_CUSTOMERS, help="number of customers")
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help="random seed (same seed, same county)"
        )
        parser.add_argument(
            "--no-knowledge", action="store_true", help="do not run seed_knowledge afterwards"
        )
        parser.add_argument(
            "--no-history",
            action="store_true",
            help="no demo history (13 months of calls and work orders, the last days' orders, outages, faults)",
        )
        parser.add_argument(
            "--calls-per-day",
            type=int,
            default=None,
            help="average calls a day in the 13 months of history (default: one per 100 customers, at most 600)",
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing (and succeed) when the database is not empty"
        )

    def handle(self, *args, customers, seed, if_empty, no_knowledge, no_history, calls_per_day, **options):
        if customers < 1:
            raise CommandError("--customers must be at least 1")
        if not database_is_empty():
            if if_empty:
                self.stdout.write("The database already holds a county; not seeding again.")
                return
            raise CommandError(
                "The database is not empty (it already holds units or customers). Seed an empty "
                "database (e.g. delete var/gridcare.sqlite3, or create a new PostgreSQL database, "
                "then run `gridcare migrate`), or pass --if-empty to skip seeding."
            )
        progress = self.stdout.write if options["verbosity"] >= 1 else None
        try:
            report = seed_demo_county(customers=customers, seed=seed, progress=progress)
        except NotEmpty as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo county seeded: {report.customers:,} customers, {report.areas:,} transformer areas, "
                f"{report.units} units, {report.staff} staff in {report.seconds:.1f} s "
                "(password of every demo account: gridcare-demo-shift)"
            )
        )
        # The knowledge app (a layer below) ships its own seed; run it when it is there.
        if not no_knowledge and "seed_knowledge" in get_commands():
            call_command(
                "seed_knowledge", verbosity=options["verbosity"], stdout=self.stdout, stderr=self.stderr
            )
        from gridcare.repair.setup import setup_crews

        crews = setup_crews()
        self.stdout.write(f"repair crews: {crews} created")
        if not no_history:
            archive = make_archive(seed=seed, calls_per_day=calls_per_day, progress=progress)
            self.stdout.write(
                f"history of 13 months: {archive.calls:,} calls, {archive.orders:,} work orders with "
                f"{archive.deadlines:,} time limits, {archive.spells:,} agent state spells, "
                f"{archive.inspections:,} inspections in {archive.seconds:.1f} s "
                f"(best station {archive.best_station}, worst {archive.worst_station})"
            )
            history = make_history(seed=seed)
            self.stdout.write(
                f"history: {history.orders} work orders, {history.outages} planned outage, "
                f"{history.events} fault event, {history.warnings} warnings raised"
            )
            started = time.perf_counter()
            yk = make_applications(seed=seed)
            self.stdout.write(
                f"业扩报装: {yk.applications} applications ({yk.archived} archived, {yk.overdue} overdue, "
                f"{yk.waiting} waiting for the customer, {yk.warnings} warnings, {yk.callbacks} callbacks made) in "
                f"{time.perf_counter() - started:.1f} s"
            )
            started = time.perf_counter()
            billed = make_billing(seed=seed, progress=progress)
            self.stdout.write(
                f"billing: {billed.accounts:,} accounts ({billed.prepaid:,} prepaid), {billed.readings:,} readings, {billed.runs} monthly runs, "
                f"{billed.bills:,} bills ({billed.estimated} estimated), {billed.payments:,} payments, "
                f"{billed.cases} disconnection/reconnection cases under way in {time.perf_counter() - started:.1f} s "
                f"({', '.join(f'{part} {s:.0f} s' for part, s in billed.seconds.items() if part != 'total')})"
            )
