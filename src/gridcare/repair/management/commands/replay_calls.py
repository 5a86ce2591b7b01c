"""``gridcare replay-calls FILE.csv --speed N``: replay a storm of fault calls over HTTP, in real time
compressed N×, so a dispatcher can watch it unfold on the board (docs/repair.md, "Replay a storm").

The CSV has a header row with the columns ``offset_seconds, account_no, caller_phone, address,
content, hazard`` (any order). Every row is checked before anything is sent; a file with an error
is refused whole, with the line numbers. Each call is POSTed to ``/api/v1/repair/calls`` at
``offset_seconds / N`` after the start by one of a few threads, each holding a keep-alive
connection (a slow answer does not hold up the next call), with ``reported_at`` = the moment the
call was due in the compressed timeline (so the client's lag does not move the calls' times) and an
``Idempotency-Key`` of its own (a call retried after a dropped connection is recorded once).
"""

from __future__ import annotations

import csv
import datetime as dt
import http.client
import json
import math
import os
import queue
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, TextIO
from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError

from gridcare.core import clock
from gridcare.core.validation import InvalidPhone, has_control_chars, parse_phone

COLUMNS = ("offset_seconds", "account_no", "caller_phone", "address", "content", "hazard")
TOKEN_ENV = "GRIDCARE_REPLAY_TOKEN"  # noqa: S105 - the name of the variable, not a secret
CALLS_PATH = "/api/v1/repair/calls"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# The API's limits (repair.schemas.FaultCallIn).
MAX_LENGTH = {"account_no": 32, "caller_phone": 32, "address": 200, "content": 4000}
YES = frozenset({"1", "true", "yes", "y", "是"})
NO = frozenset({"", "0", "false", "no", "n", "否"})
MAX_ERRORS_SHOWN = 50
PROGRESS_EVERY = 2.0  # seconds between progress lines
TIMEOUT = 30.0  # seconds a request may take


@dataclass(frozen=True)
class Call:
    line: int  # the line of the file the row ends on
    offset: float
    account_no: str
    caller_phone: str
    address: str
    content: str
    hazard: bool

    def body(self, reported_at: dt.datetime) -> dict[str, Any]:
        return {
            "content": self.content,
            "account_no": self.account_no or None,
            "caller_phone": self.caller_phone,
            "address": self.address,
            "hazard": self.hazard,
            "reported_at": clock.local(reported_at).isoformat(),
        }


def read_calls(stream: TextIO) -> tuple[list[Call], list[str]]:
    """The calls of a CSV file in time order, and every problem found (``line N: …``)."""
    reader = csv.DictReader(stream)
    header = reader.fieldnames
    if not header:
        return [], ["the file is empty: a header row is required (" + ", ".join(COLUMNS) + ")"]
    names = [h.strip() for h in header]
    problems = []
    missing = [c for c in COLUMNS if c not in names]
    unknown = [n for n in names if n not in COLUMNS]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if missing:
        problems.append("line 1: missing column(s): " + ", ".join(missing))
    if unknown:
        problems.append("line 1: unknown column(s): " + ", ".join(unknown))
    if repeated:
        problems.append("line 1: repeated column(s): " + ", ".join(repeated))
    if problems:
        return [], problems
    reader.fieldnames = names
    calls = []
    for row in reader:
        call, row_problems = _read_row(row, reader.line_num)
        problems.extend(row_problems)
        if call is not None:
            calls.append(call)
    if not calls and not problems:
        problems.append("the file has no calls")
    calls.sort(key=lambda c: (c.offset, c.line))
    return calls, problems


def _read_row(row: dict[str | Any, Any], line: int) -> tuple[Call | None, list[str]]:
    problems: list[str] = []

    def bad(column: str, problem: str) -> None:
        problems.append(f"line {line}: {column}: {problem}")

    if None in row:  # more fields than columns
        return None, [f"line {line}: {len(COLUMNS) + len(row[None])} fields, the header has {len(COLUMNS)}"]
    if any(value is None for value in row.values()):
        return None, [f"line {line}: fewer fields than the header's {len(COLUMNS)}"]
    values = {k: str(v).strip() for k, v in row.items()}
    offset = math.nan
    try:
        offset = float(values["offset_seconds"])
    except ValueError:
        bad("offset_seconds", f"not a number ({values['offset_seconds']!r})")
    else:
        if not math.isfinite(offset) or offset < 0:
            bad("offset_seconds", f"must be a number of seconds ≥ 0 ({values['offset_seconds']!r})")
    for column, limit in MAX_LENGTH.items():
        if len(values[column]) > limit:
            bad(column, f"longer than {limit} characters")
        if has_control_chars(values[column], multiline=column == "content"):
            bad(column, "control characters")
    if not values["content"]:
        bad("content", "empty (what the caller says is required)")
    phone = values["caller_phone"]
    if phone:
        try:
            phone = parse_phone(phone)[0]
        except InvalidPhone as exc:
            bad("caller_phone", f"{values['caller_phone']!r}: {exc}")
    if not values["account_no"] and not (phone and values["address"]):
        bad("account_no", "empty: a caller without an account number needs caller_phone and address")
    hazard = values["hazard"].lower()
    if hazard not in YES | NO:
        bad("hazard", f"{values['hazard']!r} is not one of 1/0, true/false, yes/no, 是/否 (empty: no)")
    if problems:
        return None, problems
    call = Call(
        line=line,
        offset=offset,
        account_no=values["account_no"],
        caller_phone=phone,
        address=values["address"],
        content=values["content"],
        hazard=hazard in YES,
    )
    return call, []


@dataclass
class Outcome:
    call: Call
    status: int | None  # None: no answer (connection failed)
    code: str  # the error's code when refused
    lateness: float  # seconds from the call's due moment to the start of its request


@dataclass
class Tally:
    outcomes: list[Outcome] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, outcome: Outcome) -> None:
        with self.lock:
            self.outcomes.append(outcome)

    def snapshot(self) -> list[Outcome]:
        with self.lock:
            return list(self.outcomes)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


class Sender(threading.Thread):
    """One keep-alive connection: takes due calls from the queue and POSTs them."""

    def __init__(self, replay: Replay) -> None:
        super().__init__(daemon=True)
        self.replay = replay
        self.conn: http.client.HTTPConnection | None = None

    def connect(self) -> http.client.HTTPConnection:
        r = self.replay
        cls = http.client.HTTPSConnection if r.scheme == "https" else http.client.HTTPConnection
        return cls(r.host, r.port, timeout=TIMEOUT)

    def run(self) -> None:
        r = self.replay
        while True:
            item = r.jobs.get()
            if item is None:
                break
            call, due, reported_at = item
            if r.abandon.is_set():
                continue  # a second Ctrl-C: what is left is not sent
            lateness = time.monotonic() - due
            status, code = self.post(call, reported_at)
            r.tally.add(Outcome(call, status, code, lateness))
        if self.conn is not None:
            self.conn.close()

    def post(self, call: Call, reported_at: dt.datetime) -> tuple[int | None, str]:
        r = self.replay
        body = json.dumps(call.body(reported_at), ensure_ascii=False).encode()
        headers = {
            "Authorization": f"Bearer {r.token}",
            "Content-Type": "application/json",
            "Idempotency-Key": f"replay-{r.run_id}-{call.line}",
        }
        for attempt in (1, 2):  # a dropped keep-alive connection is retried once, same key
            try:
                if self.conn is None:
                    self.conn = self.connect()
                self.conn.request("POST", r.path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
            except (OSError, http.client.HTTPException) as exc:
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                if attempt == 2:
                    return None, type(exc).__name__
                continue
            if response.status in (200, 202):
                return response.status, ""
            try:
                code = str(json.loads(data).get("code") or response.status)
            except (ValueError, AttributeError):
                code = str(response.status)
            return response.status, code
        return None, "no answer"  # not reached


class Replay:
    def __init__(
        self, calls: list[Call], *, url: str, token: str, speed: float, workers: int, out: Any
    ) -> None:
        parts = urlsplit(url)
        self.calls, self.token, self.speed, self.out = calls, token, speed, out
        self.scheme = parts.scheme
        self.host = parts.hostname or ""
        self.port = parts.port
        self.path = parts.path.rstrip("/") + CALLS_PATH
        self.run_id = uuid.uuid4().hex[:12]
        self.jobs: queue.Queue[tuple[Call, float, dt.datetime] | None] = queue.Queue()
        self.abandon = threading.Event()
        self.tally = Tally()
        self.senders = [Sender(self) for _ in range(workers)]
        self.interrupted = False

    def sleep(self, seconds: float) -> None:
        """Wait (in short steps, so Ctrl-C is seen at once)."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            time.sleep(min(left, 0.2))

    def run(self) -> float:
        """Send every call at its time; returns the wall seconds taken."""
        for sender in self.senders:
            sender.start()
        start, start_at = time.monotonic(), clock.now()
        last_progress = start
        try:
            for call in self.calls:
                due = start + call.offset / self.speed
                self.sleep(due - time.monotonic())
                self.jobs.put((call, due, start_at + dt.timedelta(seconds=call.offset / self.speed)))
                if time.monotonic() - last_progress >= PROGRESS_EVERY:
                    self.progress(start)
                    last_progress = time.monotonic()
        except KeyboardInterrupt:  # no call is due any more; those already due are sent
            self.interrupted = True
        try:
            for _sender in self.senders:
                self.jobs.put(None)
            for sender in self.senders:
                sender.join()
        except KeyboardInterrupt:  # a second Ctrl-C: nothing more is sent, answers in flight are not awaited
            self.abandon.set()
        return time.monotonic() - start

    def progress(self, start: float) -> None:
        done = self.tally.snapshot()
        accepted = sum(1 for o in done if o.status in (200, 202))
        late = [o.lateness for o in done]
        self.out.write(
            f"{time.monotonic() - start:8.1f} s  sent {len(done)}/{len(self.calls)}  "
            f"accepted {accepted}  refused {len(done) - accepted}  "
            f"late p50 {percentile(late, 50) * 1000:.0f} ms"
        )

    def summary(self, wall: float) -> list[str]:
        done = self.tally.snapshot()
        statuses = Counter(o.status for o in done)
        accepted = statuses[200] + statuses[202]
        refused = Counter(o.code for o in done if o.status is not None and o.status not in (200, 202))
        failed = Counter(o.code for o in done if o.status is None)
        late = [o.lateness for o in done]
        span = self.calls[-1].offset - self.calls[0].offset if self.calls else 0.0
        head = "stopped (Ctrl-C): " if self.interrupted else ""
        lines = [
            f"{head}sent {len(done)} of {len(self.calls)} calls in {wall:.1f} s "
            f"(a storm of {span:.0f} s at {self.speed:g}×: {span / self.speed:.1f} s)",
            f"accepted {accepted} (202 new {statuses[202]}, 200 repeated key {statuses[200]})",
            "refused "
            + (
                f"{sum(refused.values())}: " + ", ".join(f"{c} {n}" for c, n in sorted(refused.items()))
                if refused
                else "0"
            ),
        ]
        if failed:
            lines.append(
                f"no answer {sum(failed.values())}: "
                + ", ".join(f"{c} {n}" for c, n in sorted(failed.items()))
            )
        if late:
            lines.append(
                f"lateness of sending: p50 {percentile(late, 50) * 1000:.0f} ms, max {max(late) * 1000:.0f} ms"
            )
        return lines


class Command(BaseCommand):
    help = (
        "Replay a storm of fault calls from a CSV file over HTTP (POST /api/v1/repair/calls) in real "
        "time compressed N× (--speed N), for a dispatcher to watch on the board. Columns: "
        + ", ".join(COLUMNS)
        + " (header required; every row is checked before anything is sent)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the CSV file of calls")
        parser.add_argument(
            "--speed",
            type=float,
            required=True,
            help="compress time N× (a call at offset_seconds is sent offset/N s after the start; 1: real time)",
        )
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="GridCare's address")
        parser.add_argument(
            "--token",
            default="",
            help=f"API token of a user who takes calls (gridcare create-token USER); else ${TOKEN_ENV}",
        )
        parser.add_argument("--workers", type=int, default=4, help="connections sending at once (1–32)")
        parser.add_argument(
            "--allow-remote", action="store_true", help="allow a URL other than 127.0.0.1/localhost"
        )

    def handle(self, *args, file, speed, url, token, workers, allow_remote, **options):
        if not (math.isfinite(speed) and speed > 0):
            raise CommandError("--speed must be a number > 0")
        if not 1 <= workers <= 32:
            raise CommandError("--workers must be between 1 and 32")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CommandError(f"--url must be http(s)://host[:port]: {url!r}")
        if parts.hostname not in LOCAL_HOSTS and not allow_remote:
            raise CommandError(
                f"{parts.hostname} is not this machine: replay only to 127.0.0.1/localhost, or pass "
                "--allow-remote (the calls become real work orders there)"
            )
        token = token or os.environ.get(TOKEN_ENV, "")
        if not token:
            raise CommandError(f"an API token is needed: --token or ${TOKEN_ENV}")
        try:
            with open(file, encoding="utf-8-sig", newline="") as stream:
                calls, problems = read_calls(stream)
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise CommandError(f"{file}: {exc}") from exc
        if problems:
            shown = problems[:MAX_ERRORS_SHOWN]
            more = len(problems) - len(shown)
            listing = "\n".join(shown) + (f"\n… and {more} more" if more > 0 else "")
            raise CommandError(f"{file} is refused, nothing was sent:\n{listing}")
        span = calls[-1].offset - calls[0].offset
        self.stdout.write(
            f"replaying {len(calls)} calls of {file} to {url} at {speed:g}× "
            f"({span:.0f} s of storm in {span / speed:.1f} s), {workers} connections; Ctrl-C stops"
        )
        replay = Replay(calls, url=url, token=token, speed=speed, workers=workers, out=self.stdout)
        wall = replay.run()
        for line in replay.summary(wall):
            self.stdout.write(line)
