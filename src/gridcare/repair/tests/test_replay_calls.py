"""``gridcare replay-calls``: a CSV of calls sent over HTTP to a running GridCare (Django's live
server here) at its time compressed N×, each call stamped with the moment it was due."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from gridcare.org.services import issue_token
from gridcare.repair import services
from gridcare.repair.management.commands import replay_calls
from gridcare.repair.models import ReportedCall, TroubleCall

ROOT = Path(__file__).resolve().parents[4]
HEADER = "offset_seconds,account_no,caller_phone,address,content,hazard\n"


# The live server needs a transactional database (flushed after each test): the rows the
# migrations seeded are put back for the tests after (as the other transactional tests do).
live = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "storm.csv"
    path.write_text(text, encoding="utf-8")
    return path


def replay(path: Path, url: str, token: str, speed: float = 300, **options) -> str:
    out = io.StringIO()
    call_command("replay_calls", str(path), speed=speed, url=url, token=token, stdout=out, **options)
    return out.getvalue()


@live
def test_a_storm_is_replayed_over_http_with_the_calls_times_compressed(grid, live_server, tmp_path):
    people = grid.customers_by_area[grid.areas[0].pk]
    offsets = [0, 30, 60, 90]
    path = write(
        tmp_path,
        HEADER
        + f"{offsets[0]},{people[0].account_no},,,家里停电了,0\n"
        + f'{offsets[2]},{people[2].account_no},,,"停电了，\n整栋楼都没电",否\n'  # rows in any order
        + f"{offsets[1]},{people[1].account_no},,,停电了,no\n"
        + f"{offsets[3]},,13655550000,城关镇东风路11号,电线掉地上了,1\n"
        + "95,0000000000,,,停电,0\n",  # an account GridCare does not know: the API refuses it
    )
    token = issue_token(user=grid.agent)

    out = replay(path, live_server.url, token, speed=300)

    assert "sent 5 of 5 calls" in out
    assert "accepted 4 (202 new 4, 200 repeated key 0)" in out
    assert "refused 1: not_found 1" in out
    assert "lateness of sending: p50" in out
    rows = list(ReportedCall.objects.order_by("reported_at"))
    assert [r.customer for r in rows[:3]] == people[:3]
    assert rows[3].customer is None and rows[3].caller_phone == "13655550000" and rows[3].hazard
    assert rows[2].content == "停电了，\n整栋楼都没电" and not rows[2].hazard
    # Each call carries the moment it was due in the compressed timeline: offset / speed apart.
    start = rows[0].reported_at
    assert [r.reported_at - start for r in rows] == [dt.timedelta(seconds=o / 300) for o in offsets]
    assert all(r.received_at >= r.reported_at for r in rows)

    services.run_analysis()
    calls = TroubleCall.objects.filter(order__customer__in=people[:3]).order_by("received_at")
    assert [c.received_at for c in calls] == [r.reported_at for r in rows[:3]]


@live
def test_a_bad_file_is_refused_with_its_line_numbers_and_nothing_is_sent(grid, live_server, tmp_path):
    account = grid.customers_by_area[grid.areas[0].pk][0].account_no
    path = write(
        tmp_path,
        HEADER
        + f"0,{account},,,停电,0\n"
        + f"soon,{account},,,停电,0\n"  # line 3
        + "5,,12345,,停电,maybe\n"  # line 4: bad phone, no account or address, bad hazard
        + f"-1,{account},,,,0\n"  # line 5: negative offset, no content
        + f"9,{account},,,停电\n",  # line 6: a field short
    )
    with pytest.raises(CommandError) as exc:
        replay(path, live_server.url, issue_token(user=grid.agent))
    message = str(exc.value)
    assert "nothing was sent" in message
    for expected in (
        "line 3: offset_seconds: not a number ('soon')",
        "line 4: caller_phone: '12345'",
        "line 4: account_no: empty",
        "line 4: hazard: 'maybe'",
        "line 5: offset_seconds",
        "line 5: content: empty",
        "line 6: fewer fields",
    ):
        assert expected in message, expected
    assert "line 2" not in message
    assert not ReportedCall.objects.exists()

    bad_header = write(tmp_path, "offset,account_no,content\n0,1,停电\n")
    with pytest.raises(CommandError, match="line 1: missing column"):
        replay(bad_header, live_server.url, "token")
    assert not ReportedCall.objects.exists()


@live
def test_ctrl_c_stops_sending_and_prints_the_summary(grid, live_server, tmp_path, monkeypatch):
    people = grid.customers_by_area[grid.areas[1].pk]
    path = write(
        tmp_path,
        HEADER
        + f"0,{people[0].account_no},,,停电,0\n"
        + f"0,{people[1].account_no},,,停电,0\n"
        + f"3600,{people[2].account_no},,,停电,0\n",
    )
    real_sleep = replay_calls.Replay.sleep

    def sleep(self, seconds):
        if seconds > 60:  # waiting an hour for the third call: the user presses Ctrl-C
            raise KeyboardInterrupt
        real_sleep(self, seconds)

    monkeypatch.setattr(replay_calls.Replay, "sleep", sleep)
    out = replay(path, live_server.url, issue_token(user=grid.agent), speed=1)
    assert "stopped (Ctrl-C): sent 2 of 3 calls" in out and "accepted 2" in out
    assert ReportedCall.objects.count() == 2


def test_only_this_machine_unless_allowed_and_a_token_is_required(tmp_path, monkeypatch):
    path = write(tmp_path, HEADER + "0,5100000001,,,停电,0\n")
    with pytest.raises(CommandError, match="not this machine"):
        replay(path, "http://gridcare.example.com", "token")
    monkeypatch.delenv(replay_calls.TOKEN_ENV, raising=False)
    with pytest.raises(CommandError, match="token"):
        replay(path, "http://127.0.0.1:9", "")
    with pytest.raises(CommandError, match="--speed"):
        replay(path, "http://127.0.0.1:9", "token", speed=0)


def test_the_sample_storm_in_the_docs_is_a_valid_file():
    with open(ROOT / "docs" / "samples" / "storm-calls.csv", encoding="utf-8-sig", newline="") as stream:
        calls, problems = replay_calls.read_calls(stream)
    assert problems == [] and len(calls) >= 10
    assert any(c.hazard for c in calls) and any(not c.account_no for c in calls)
