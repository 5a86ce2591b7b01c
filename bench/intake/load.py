"""A small closed-loop HTTP load generator: C threads, raw sockets, bounded count and time.

Each client takes the next request number, sends ``POST <path>`` (``/api/v1/work-orders`` unless
told) with a bearer token, a fresh ``Idempotency-Key`` and the body ``body(i, key)`` makes, and
waits for the whole response; every ``retry_every``-th request is sent again with the same key
right after its answer (a client retrying after a timeout). The connection is kept alive when the server allows it (gunicorn's sync workers close
it after each response, so most requests connect anew — the same for GridCare and the control).
Only 127.0.0.1 is ever addressed.
"""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.common import percentile


@dataclass
class Result:
    key: str
    retry: bool
    status: int
    number: str | None
    ms: float


@dataclass
class Run:
    results: list[Result] = field(default_factory=list)
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def created(self) -> int:
        return sum(1 for r in self.results if r.status == 201)

    @property
    def ok(self) -> int:
        return sum(1 for r in self.results if 200 <= r.status < 300)

    @property
    def orders_per_second(self) -> float:
        return self.created / self.seconds if self.seconds else 0.0

    @property
    def requests_per_second(self) -> float:
        return len(self.results) / self.seconds if self.seconds else 0.0

    def latencies(self) -> list[float]:
        return [r.ms for r in self.results]


class _Connection:
    def __init__(self, port: int, timeout: float):
        self.port = port
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.buffer = b""

    def request(self, payload: bytes) -> tuple[int, bytes]:
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.buffer = b""
        self.sock.sendall(payload)
        while b"\r\n\r\n" not in self.buffer:
            self._read()
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        length, close, chunked = None, False, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:
            body = b""
            while True:
                while b"\r\n" not in rest:
                    rest += self._recv()
                size_line, _, rest = rest.partition(b"\r\n")
                size = int(size_line.split(b";")[0], 16)
                while len(rest) < size + 2:
                    rest += self._recv()
                body, rest = body + rest[:size], rest[size + 2 :]
                if size == 0:
                    break
            self.buffer = rest
            if close:
                self.close()
            return status, body
        if length is None:  # no Content-Length: the body ends when the server closes
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                rest += chunk
            length, close = len(rest), True
        while len(rest) < length:
            rest += self._recv()
        body, self.buffer = rest[:length], rest[length:]
        if close:
            self.close()
        return status, body

    def _recv(self) -> bytes:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        return chunk

    def _read(self) -> None:
        self.buffer += self._recv()

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = None
        self.buffer = b""


def _payload(port: int, token: str, key: str, body: dict, path: str = "/api/v1/work-orders") -> bytes:
    data = json.dumps(body, ensure_ascii=False).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Idempotency-Key: {key}\r\nContent-Length: {len(data)}\r\n\r\n"
    )
    return head.encode() + data


def body_for(i: int, accounts: list[str], seed: int) -> dict:
    rng = random.Random(seed * 1_000_003 + i)
    if rng.random() < 0.7:
        return {
            "order_type": "fault_repair",
            "channel": "hotline",
            "content": "家里突然停电，邻居家也没电，请尽快派人抢修。",
            "account_no": rng.choice(accounts),
        }
    return {
        "order_type": "complaint",
        "channel": rng.choice(["hotline", "web", "wechat"]),
        "content": "抢修人员迟迟未到，服务态度差，要求答复。",
        "account_no": rng.choice(accounts),
        "complaint_class": "service",
    }


def drive(
    *,
    port: int,
    token: str,
    accounts: list[str],
    requests: int,
    clients: int,
    key_prefix: str,
    seed: int,
    retry_every: int = 10,
    max_seconds: float = 300.0,
    timeout: float = 30.0,
    path: str = "/api/v1/work-orders",
    body: Callable[[int, str], dict] | None = None,
    answer_field: str = "number",
) -> Run:
    """Send ``requests`` first-time requests (plus the retries) with ``clients`` threads.

    ``body(i, key)`` makes the i-th request's body (a work order for a random customer unless
    given); ``answer_field`` names the field of a 2xx answer that identifies what was created."""
    make = body or (lambda i, _key: body_for(i, accounts, seed))
    run = Run()
    lock = threading.Lock()
    counter = iter(range(requests))
    deadline = time.monotonic() + max_seconds

    def client() -> None:
        conn = _Connection(port, timeout)
        local: list[Result] = []
        try:
            while time.monotonic() < deadline:
                with lock:
                    i = next(counter, None)
                if i is None:
                    break
                key = f"{key_prefix}-{i}"
                payload = _payload(port, token, key, make(i, key), path)
                for retry in (False, True) if i % retry_every == 0 else (False,):
                    started = time.perf_counter()
                    try:
                        status, answer = conn.request(payload)
                    except (OSError, ValueError) as exc:
                        conn.close()
                        with lock:
                            run.errors.append(f"{key}: {exc!r}")
                        continue
                    ms = (time.perf_counter() - started) * 1000
                    number = None
                    if 200 <= status < 300:
                        try:
                            number = json.loads(answer).get(answer_field)
                        except ValueError:
                            status = 599  # a 2xx without the order's number counts as a failure
                    elif len(run.errors) < 20:
                        with lock:
                            run.errors.append(f"{key}: HTTP {status} {answer[:200]!r}")
                    local.append(Result(key, retry, status, number, ms))
        finally:
            conn.close()
            with lock:
                run.results.extend(local)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run.seconds = time.perf_counter() - started
    return run


def describe(name: str, run: Run, noun: str = "orders") -> str:
    lat = run.latencies()
    return (
        f"{name:9s} {run.orders_per_second:8.1f} {noun}/s  {run.requests_per_second:8.1f} req/s  "
        f"p50 {percentile(lat, 50):7.1f} ms  p95 {percentile(lat, 95):7.1f} ms  "
        f"p99 {percentile(lat, 99):7.1f} ms  ({len(run.results)} requests in {run.seconds:.1f} s, "
        f"{len(run.results) - run.ok} not 2xx, {len(run.errors)} errors)"
    )
