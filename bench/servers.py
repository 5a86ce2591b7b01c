"""Serving an app for a bench: ``gunicorn <app>.wsgi -w N -b 127.0.0.1:PORT`` started and stopped the
same way for GridCare and a control (only 127.0.0.1)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pythonpath() -> str:
    """The served app's import path: this checkout's bench and its ``src`` first, so a bench run
    from a work tree serves that tree's GridCare (not the one an editable install points at)."""
    return os.pathsep.join([str(ROOT), str(ROOT / "src")])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(app: str, port: int, workers: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    # --no-control-socket: gunicorn 27 otherwise shares one control socket path with every other
    # gunicorn on the machine; it does not change how requests are served.
    cmd = [gunicorn, f"{app}.wsgi", "-w", str(workers), "-b", f"127.0.0.1:{port}", "--no-control-socket"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{app} server exited: see {log}\n{log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit(f"{app} server did not start within 60 s: see {log}")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
