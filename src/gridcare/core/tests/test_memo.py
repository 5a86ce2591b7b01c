"""core.memo: values a process keeps for a while."""

from gridcare.core import memo
from gridcare.core.memo import Memo


def test_a_value_is_loaded_once_while_fresh_then_again(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(memo.time, "monotonic", lambda: now[0])
    loads = []
    kept = Memo(60)

    def load():
        loads.append(1)
        return len(loads)

    assert kept.get("k", load) == 1 and kept.get("k", load) == 1
    now[0] += 61
    assert kept.get("k", load) == 2
    kept.forget("k")
    assert kept.peek("k") is None and kept.get("k", load) == 3


def test_a_setting_of_zero_keeps_nothing_and_a_full_memo_starts_afresh():
    seconds = [0]
    kept = Memo(lambda: seconds[0], max_size=2)
    kept.put("a", 1)
    assert kept.peek("a") is None
    seconds[0] = 10
    kept.put("a", 1)
    kept.put("b", 2)
    kept.put("c", 3)  # the third key empties it first
    assert (kept.peek("a"), kept.peek("b"), kept.peek("c")) == (None, None, 3)
    kept.forget()
    assert kept.peek("c") is None
