"""The staff inbox (站内消息): warnings shown to one staff member in the UI."""

from gridcare.notify import queries, services
from gridcare.notify.models import Channel


def warn(user, text, **extra):
    return services.enqueue(
        channel=Channel.STAFF_INBOX, to=str(user.pk), to_name=user.full_name, body=text, **extra
    )


def test_each_staff_member_sees_only_their_own_messages_newest_first(world):
    first = warn(world.clerk_east, "工单GD20261124000001距超时还有2小时（一级预警）")
    second = warn(world.clerk_east, "工单GD20261124000001已超时（三级预警）")
    warn(world.clerk_west, "工单GD20261124000002距超时还有2小时（一级预警）")

    assert list(queries.inbox_for(world.clerk_east.pk)) == [second, first]
    assert queries.unread_count(world.clerk_east.pk) == 2
    assert queries.unread_count(world.outsider.pk) == 0


def test_marking_read_touches_only_the_readers_own_messages(world):
    mine = warn(world.clerk_east, "一级预警")
    theirs = warn(world.clerk_west, "一级预警")

    # Someone passing another person's message id cannot mark it read.
    assert services.mark_read(user_id=world.clerk_east.pk, message_ids=[mine.pk, theirs.pk]) == 1

    assert queries.unread_count(world.clerk_east.pk) == 0
    assert queries.unread_count(world.clerk_west.pk) == 1
    assert list(queries.inbox_for(world.clerk_east.pk, unread_only=True)) == []


def test_mark_all_read(world):
    warn(world.dispatcher, "一级预警")
    warn(world.dispatcher, "二级预警")

    assert services.mark_read(user_id=world.dispatcher.pk) == 2
    assert queries.unread_count(world.dispatcher.pk) == 0


def test_reading_the_inbox_takes_one_query(world, django_assert_num_queries):
    for n in range(5):
        warn(world.agent, f"预警{n}")

    with django_assert_num_queries(1):
        assert len(list(queries.inbox_for(world.agent.pk))) == 5


def test_each_message_links_to_what_it_is_about(world, client):
    """Apps register the page of their objects; a message about something unknown has no link."""
    warn(world.crew, "【抢修派工】SJ2026112400001", about=("repair.outageevent", "SJ2026112400001"))
    warn(world.crew, "工单预警", about=("workorders.workorder", "GZ20261124000001"))
    warn(world.crew, "停电通知", about=("outages.outage", "TD202611240001"))
    warn(world.crew, "别的", about=("elsewhere.thing", "X1"))
    client.force_login(world.crew)
    html = client.get("/inbox/").content.decode()
    assert 'href="/repair/events/SJ2026112400001/"' in html and "查看抢修事件" in html
    assert 'href="/workorders/GZ20261124000001/"' in html
    assert 'href="/outages/TD202611240001/"' in html
    assert "X1" not in html


def test_a_bad_message_id_marks_nothing_read(world, client):
    warn(world.agent, "一级预警")
    client.force_login(world.agent)
    client.post("/inbox/read/", {"id": ["abc"]})
    assert queries.unread_count(world.agent.pk) == 1
    client.post("/inbox/read/")
    assert queries.unread_count(world.agent.pk) == 0
