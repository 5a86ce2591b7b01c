"""Issue #17: the call events a real CTI sends (queued, ringing, answered, transferred, abandoned,
ended), the times and figures they leave on the call (worked out by hand below), replays, events
out of order, and what makes no sense for the call's state."""

import datetime as dt

import pytest

from gridcare.core import clock
from gridcare.hotline import services
from gridcare.hotline.models import AgentState, Call, CallStatisticsSetting, CallTransfer, ReturnCall
from gridcare.org.models import Role
from gridcare.org.services import create_staff

DAY = dt.datetime(2026, 12, 1, 9, 0, 0, tzinfo=clock.LOCAL_TZ)


def at(seconds: float) -> str:
    """A time on the test day, ``seconds`` after 09:00:00 (Asia/Shanghai), as the CTI sends it."""
    return (DAY + dt.timedelta(seconds=seconds)).isoformat()


def call(call_id: str) -> Call:
    return Call.objects.get(call_id=call_id)


def agent_state(user) -> str:
    return AgentState.objects.get(agent=user).state


@pytest.fixture
def agent2(world):
    return create_staff(
        username="agent2", password=world.password, full_name="李座席", roles=[(Role.AGENT, world.city)]
    )


def test_queued_answered_ended_wrapped_up(world, cti):
    """09:00:00 queued, :12 rings, :20 answered, 09:03:50 hung up, 09:04:35 wrapped up."""
    assert (
        cti(call_id="q-1", event="queued", caller="13812341234", called_line="95598", at=at(0)).status_code
        == 200
    )
    assert call("q-1").state == "queued" and call("q-1").agent is None
    cti(call_id="q-1", event="ringing", agent="agent", at=at(12))
    body = cti(call_id="q-1", event="answered", agent="agent", at=at(20)).json()
    assert body["state"] == "answered" and body["wait_seconds"] == 20 and body["account_no"] == "5100000001"
    assert agent_state(world.agent) == "on_call"
    ended = cti(call_id="q-1", event="ended", at=at(230), recording_ref="rec/2026/12/01/q-1.wav").json()
    assert ended["talk_seconds"] == 210 and ended["recording_ref"] == "rec/2026/12/01/q-1.wav"
    assert agent_state(world.agent) == "after_call"
    with clock.frozen(DAY + dt.timedelta(seconds=275)):
        services.wrap_up(call=call("q-1"), actor=world.agent, code="BILL")
    c = call("q-1")
    assert (c.wait_seconds, c.talk_seconds, c.wrap_up_seconds, c.handling_seconds) == (20, 210, 45, 255)
    assert c.outcome == "answered" and c.answered_by == world.agent and c.unit == world.city
    assert c.arrived_at == DAY and c.call_date == dt.date(2026, 12, 1)
    assert (c.queued_at, c.ringing_at) == (DAY, DAY + dt.timedelta(seconds=12))
    assert not c.short_abandon and c.abandoned_in == "" and c.return_call is None
    assert agent_state(world.agent) == "ready"


def test_a_call_just_before_midnight_counts_on_its_local_day(world, cti):
    """15:59:59 UTC is 23:59:59 in Beijing: the day a call is counted on is Beijing's."""
    cti(call_id="m-1", event="queued", caller="13812341234", at="2026-12-01T15:59:59+00:00")
    cti(call_id="m-1", event="answered", agent="agent", at="2026-12-01T16:00:09+00:00")
    assert call("m-1").call_date == dt.date(2026, 12, 1) and call("m-1").wait_seconds == 10


def test_abandoned_in_the_queue(world, cti):
    cti(call_id="a-1", event="queued", caller="13900001111", at=at(0))
    body = cti(call_id="a-1", event="abandoned", at=at(40.7)).json()
    assert body["state"] == "ended" and body["outcome"] == "abandoned" and body["abandoned_in"] == "queue"
    c = call("a-1")
    assert c.wait_seconds == 40 and not c.short_abandon and c.ended_at == c.abandoned_at
    assert c.talk_seconds is None and c.answered_at is None
    entry = c.return_call
    assert entry is not None and entry.reason == "abandoned" and entry.state == "pending"
    assert entry.caller_number == "13900001111" and entry.unit == world.city and entry.missed_count == 1
    # The CTI's hang-up after the abandon changes nothing.
    cti(call_id="a-1", event="ended", at=at(41))
    assert call("a-1").ended_at == DAY + dt.timedelta(seconds=40.7) and ReturnCall.objects.count() == 1


def test_abandoned_while_ringing_at_an_agent(world, cti):
    cti(call_id="r-1", event="queued", caller="13900001111", at=at(0))
    cti(call_id="r-1", event="ringing", agent="agent", at=at(30))
    cti(call_id="r-1", event="abandoned", at=at(45))
    c = call("r-1")
    assert c.outcome == "abandoned" and c.abandoned_in == "ringing" and c.wait_seconds == 45
    assert c.agent == world.agent and c.answered_by is None and c.return_call is not None
    # Not on the agent's screen: nothing to wrap up.
    assert services.current_call(world.agent) is None


def test_a_short_abandon_is_counted_but_not_listed_for_a_call_back(world, cti):
    """Short: hung up within 5 s (the setting) of queuing; 5.0 s is within, 6 s is not."""
    cti(call_id="s-1", event="queued", caller="13900001111", at=at(0))
    cti(call_id="s-1", event="abandoned", at=at(5))
    cti(call_id="s-2", event="queued", caller="13900002222", at=at(0))
    cti(call_id="s-2", event="abandoned", at=at(6))
    assert (
        call("s-1").short_abandon and call("s-1").outcome == "abandoned" and call("s-1").return_call is None
    )
    assert not call("s-2").short_abandon and call("s-2").return_call is not None
    assert list(ReturnCall.objects.values_list("caller_number", flat=True)) == ["13900002222"]
    # The threshold is data: at 10 s, a 6 s abandon is short too (for the calls that come after).
    CallStatisticsSetting.objects.update(short_abandon_seconds=10)
    CallStatisticsSetting.forget_all()
    cti(call_id="s-3", event="queued", caller="13900003333", at=at(100))
    cti(call_id="s-3", event="abandoned", at=at(106))
    assert call("s-3").short_abandon and call("s-3").return_call is None
    assert not call("s-2").short_abandon  # recorded before: unchanged


def test_no_agent_ready_is_a_missed_call_and_listed(world, cti):
    cti(call_id="n-1", event="queued", caller="13900001111", at=at(0))
    body = cti(call_id="n-1", event="ended", cause="no_agent", at=at(3)).json()
    assert body["outcome"] == "missed" and body["wait_seconds"] == 3 and not body["short_abandon"]
    entry = call("n-1").return_call
    assert entry is not None and entry.reason == "missed"


def test_transfer_to_another_agent(world, cti, agent2):
    cti(call_id="t-1", event="queued", caller="13812341234", at=at(0))
    cti(call_id="t-1", event="answered", agent="agent", at=at(10))
    body = cti(call_id="t-1", event="transferred", agent="agent", to_agent="agent2", at=at(70)).json()
    assert body["transfers_count"] == 1 and body["agent"] == "agent2" and body["answered_by"] == "agent"
    assert agent_state(agent2) == "on_call" and agent_state(world.agent) == "ready"
    # The same transfer reported twice is one transfer.
    cti(call_id="t-1", event="transferred", agent="agent", to_agent="agent2", at=at(70))
    cti(call_id="t-1", event="ended", at=at(190))
    c = call("t-1")
    assert c.transfers_count == 1 and c.talk_seconds == 180 and c.wait_seconds == 10
    transfer = CallTransfer.objects.get()
    assert (transfer.kind, transfer.from_agent, transfer.to_agent) == ("agent", world.agent, agent2)
    assert transfer.at == DAY + dt.timedelta(seconds=70)
    # The agent who took it over wraps it up.
    assert services.current_call(agent2) == c and services.current_call(world.agent) is None


def test_transfer_to_a_skill_queue_and_to_an_outside_line(world, cti, agent2):
    cti(call_id="t-2", event="queued", caller="13812341234", at=at(0))
    cti(call_id="t-2", event="answered", agent="agent", at=at(5))
    cti(call_id="t-2", event="transferred", to_kind="queue", target="电费技能组", at=at(60))
    cti(call_id="t-2", event="queued", at=at(61))  # back in a queue: the wait keeps its start
    cti(call_id="t-2", event="answered", agent="agent2", at=at(80))  # picked up there
    cti(
        call_id="t-2",
        event="transferred",
        agent="agent2",
        to_kind="external",
        target="085186001234",
        at=at(200),
    )
    c = call("t-2")
    assert c.transfers_count == 2 and c.agent == agent2 and c.answered_by == world.agent
    assert c.queued_at == DAY and c.answered_at == DAY + dt.timedelta(seconds=5) and c.wait_seconds == 5
    queue, external = CallTransfer.objects.order_by("at")
    assert (queue.kind, queue.target, queue.from_agent, queue.to_agent) == (
        "queue",
        "电费技能组",
        world.agent,
        agent2,
    )
    assert (external.kind, external.target, external.from_agent) == ("external", "085186001234", agent2)


def test_bad_transfers_are_refused_and_write_nothing(world, cti):
    cti(call_id="t-3", event="queued", caller="13812341234", at=at(0))
    unanswered = cti(call_id="t-3", event="transferred", to_agent="agent", at=at(5))
    assert unanswered.status_code == 409 and unanswered.json()["code"] == "call_not_answered"
    cti(call_id="t-3", event="answered", agent="agent", at=at(10))
    no_time = cti(call_id="t-3", event="transferred", to_kind="queue", target="业扩技能组")
    assert no_time.status_code == 422 and no_time.json()["code"] == "times_required"
    nowhere = cti(call_id="t-3", event="transferred", to_kind="queue", at=at(20))
    assert nowhere.status_code == 422 and nowhere.json()["code"] == "transfer_target_required"
    unknown = cti(call_id="t-nobody", event="transferred", to_agent="agent", at=at(20))
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    assert not CallTransfer.objects.exists() and call("t-3").transfers_count == 0


def test_replayed_events_change_nothing(world, cti):
    cti(call_id="d-1", event="queued", caller="13812341234", at=at(0))
    cti(call_id="d-1", event="queued", caller="13812341234", at=at(3))
    cti(call_id="d-1", event="answered", agent="agent", at=at(15))
    cti(call_id="d-1", event="answered", agent="agent", at=at(18))
    cti(call_id="d-1", event="ended", at=at(75))
    cti(call_id="d-1", event="ended", at=at(80))
    c = call("d-1")
    assert (c.queued_at, c.answered_at, c.ended_at) == (
        DAY,
        DAY + dt.timedelta(seconds=15),
        DAY + dt.timedelta(seconds=75),
    )
    assert (c.wait_seconds, c.talk_seconds) == (15, 60)
    cti(call_id="d-2", event="queued", caller="13900001111", at=at(0))
    cti(call_id="d-2", event="abandoned", at=at(30))
    cti(call_id="d-2", event="abandoned", at=at(31))
    entry = ReturnCall.objects.get()
    assert entry.missed_count == 1 and call("d-2").abandoned_at == DAY + dt.timedelta(seconds=30)


def test_hang_up_before_any_answer_is_an_abandon_and_a_late_answer_undoes_it(world, cti):
    """A switch that reports only the hang-up: ``ended`` without ``answered`` is an abandon. If the
    ``answered`` (earlier in time) arrives after the hang-up, the call was answered after all."""
    cti(call_id="o-1", event="queued", caller="13900001111", at=at(0))
    cti(call_id="o-1", event="ringing", agent="agent", at=at(20))
    cti(call_id="o-1", event="ended", at=at(95))
    c = call("o-1")
    assert c.outcome == "abandoned" and c.abandon_inferred and c.abandoned_in == "ringing"
    assert c.return_call is not None and c.wait_seconds == 95
    late = cti(call_id="o-1", event="answered", agent="agent", at=at(25)).json()
    assert late["outcome"] == "answered" and late["wait_seconds"] == 25 and late["talk_seconds"] == 70
    c = call("o-1")
    assert c.abandoned_at is None and not c.abandon_inferred and c.return_call is None
    assert not ReturnCall.objects.exists()  # listed for nothing: gone
    assert agent_state(world.agent) == "after_call"  # the call needs its wrap-up


def test_the_abandon_reported_after_the_hang_up_confirms_it(world, cti):
    cti(call_id="o-2", event="queued", caller="13900001111", at=at(0))
    cti(call_id="o-2", event="ended", at=at(30))
    cti(call_id="o-2", event="abandoned", at=at(30.2))  # a few ms after, as switches do
    c = call("o-2")
    assert (
        c.outcome == "abandoned"
        and not c.abandon_inferred
        and c.abandoned_at == DAY + dt.timedelta(seconds=30)
    )
    assert ReturnCall.objects.get().missed_count == 1


def test_a_late_queued_event_moves_the_start_of_the_wait(world, cti):
    cti(call_id="o-3", event="ringing", caller="13812341234", agent="agent", at=at(40))
    cti(call_id="o-3", event="answered", agent="agent", at=at(50))
    assert call("o-3").wait_seconds == 10  # no queue time yet: counted from ringing
    cti(call_id="o-3", event="queued", at=at(0))
    c = call("o-3")
    assert c.wait_seconds == 50 and c.arrived_at == DAY


def test_a_late_queued_event_can_make_an_abandon_short(world, cti):
    cti(call_id="o-4", event="abandoned", caller="13900001111", at=at(4))
    assert call("o-4").return_call is not None  # no start known: not short
    cti(call_id="o-4", event="queued", at=at(0))
    assert call("o-4").short_abandon and not ReturnCall.objects.exists()


def test_events_that_make_no_sense_for_the_call_are_409(world, cti):
    cti(call_id="x-1", event="queued", caller="13900001111", at=at(0))
    cti(call_id="x-1", event="abandoned", at=at(30))
    answered = cti(call_id="x-1", event="answered", agent="agent", at=at(20))
    assert answered.status_code == 409 and answered.json()["code"] == "call_abandoned"
    cti(call_id="x-2", event="queued", caller="13812341234", at=at(0))
    cti(call_id="x-2", event="answered", agent="agent", at=at(10))
    abandoned = cti(call_id="x-2", event="abandoned", at=at(20))
    assert abandoned.status_code == 409 and abandoned.json()["code"] == "call_answered"
    cti(call_id="x-2", event="ended", at=at(60))
    after_end = cti(call_id="x-2", event="ringing", agent="agent", at=at(70))
    assert after_end.status_code == 409 and after_end.json()["code"] == "call_ended"
    cti(call_id="x-3", event="queued", caller="13900002222", at=at(0))
    cti(call_id="x-3", event="ended", cause="no_agent", at=at(20))
    missed = cti(call_id="x-3", event="answered", agent="agent", at=at(10))
    assert missed.status_code == 409 and missed.json()["code"] == "call_abandoned"
    # Nothing was written by the refusals.
    assert call("x-1").outcome == "abandoned" and call("x-1").answered_at is None
    assert call("x-2").outcome == "answered" and call("x-2").abandoned_at is None
    assert call("x-3").outcome == "missed" and call("x-3").agent is None


def test_times_that_contradict_each_other_are_422(world, cti):
    cti(call_id="i-1", event="queued", caller="13812341234", at=at(30))
    early = cti(call_id="i-1", event="answered", agent="agent", at=at(10))
    assert early.status_code == 422 and early.json()["code"] == "invalid_times"
    assert call("i-1").answered_at is None and call("i-1").agent is None


def test_another_agent_cannot_take_over_an_answered_call_without_a_transfer(world, cti, agent2):
    cti(call_id="g-1", event="queued", caller="13812341234", at=at(0))
    cti(call_id="g-1", event="answered", agent="agent", at=at(10))
    other = cti(call_id="g-1", event="answered", agent="agent2", at=at(12))
    assert other.status_code == 409 and other.json()["code"] == "call_agent_mismatch"
    assert call("g-1").agent == world.agent


def test_a_call_offered_to_several_agents_is_with_the_last(world, cti, agent2):
    """Ring-no-answer at one agent, then the queue rings another, who answers."""
    cti(call_id="g-2", event="queued", caller="13812341234", at=at(0))
    cti(call_id="g-2", event="ringing", agent="agent", at=at(5))
    cti(call_id="g-2", event="ringing", agent="agent2", at=at(25))
    cti(call_id="g-2", event="answered", agent="agent2", at=at(30))
    c = call("g-2")
    assert c.agent == agent2 and c.answered_by == agent2 and c.ringing_at == DAY + dt.timedelta(seconds=5)
    assert c.wait_seconds == 30


def test_unknown_call_ids(world, cti):
    no_caller = cti(call_id="u-1", event="answered", agent="agent")
    assert no_caller.status_code == 422 and no_caller.json()["code"] == "caller_required"
    assert not Call.objects.exists()


@pytest.mark.parametrize(
    "ref",
    ["rec 1.wav", "rec\x00", "录音1", "x" * 301],
)
def test_recording_ref_is_printable_and_bounded(world, cti, ref):
    refused = cti(call_id="v-1", event="ended", caller="13812341234", recording_ref=ref)
    assert refused.status_code == 422 and refused.json()["code"] == "invalid_input"
    assert not Call.objects.exists()


def test_the_recording_ref_is_kept_once_set(world, cti):
    cti(call_id="v-2", event="answered", caller="13812341234", agent="agent", at=at(0))
    cti(call_id="v-2", event="ended", at=at(10), recording_ref="https://rec.example/95598/v-2.wav")
    cti(call_id="v-2", event="ended", at=at(10), recording_ref="https://rec.example/95598/other.wav")
    assert call("v-2").recording_ref == "https://rec.example/95598/v-2.wav"


def test_a_call_nobody_answered_needs_no_wrap_up(world, cti):
    from gridcare.core.api_errors import ApiError

    cti(call_id="nw-1", event="ringing", caller="13812341234", agent="agent", at=at(0))
    with pytest.raises(ApiError) as err:
        services.wrap_up(call=call("nw-1"), actor=world.agent, code="BILL")
    assert err.value.code == "call_not_answered" and call("nw-1").ended_at is None


def test_a_row_written_without_the_events_gets_its_arrival_and_day(world):
    """The admin or a fixture writes a call directly: its arrival is its earliest time."""
    c = Call.objects.create(
        call_id="direct-1",
        caller_number="13812341234",
        unit=world.city,
        ringing_at=DAY + dt.timedelta(seconds=5),
        answered_at=DAY + dt.timedelta(seconds=9),
    )
    assert c.arrived_at == DAY + dt.timedelta(seconds=5) and c.call_date == dt.date(2026, 12, 1)
