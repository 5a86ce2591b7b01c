#!/usr/bin/env python3
"""Set up GridCare on a fresh machine and run it, or run its tests.

    python3 dev.py demo      # install, migrate, seed the demo county, serve on http://127.0.0.1:8000
    python3 dev.py test      # install, then run the whole test suite (pytest)

Everything goes into ./.venv; installs are pinned by constraints.txt so they repeat.
Extra arguments after `test` go to pytest; after `demo` to `gridcare demo`.
"""

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")


def install() -> None:
    if not (BIN / "python").exists():
        print("[dev] creating virtual environment .venv", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    stamp = VENV / ".gridcare-installed"
    inputs = [ROOT / "pyproject.toml", ROOT / "constraints.txt"]
    if stamp.exists() and all(p.stat().st_mtime <= stamp.stat().st_mtime for p in inputs):
        return
    print("[dev] installing GridCare and its pinned dependencies", flush=True)
    subprocess.check_call(
        [
            str(BIN / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "-c",
            str(ROOT / "constraints.txt"),
            "-e",
            f"{ROOT}[dev]",
        ]
    )
    stamp.touch()


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test", "install"}:
        print(__doc__)
        return 2
    install()
    command, rest = argv[0], argv[1:]
    os.chdir(ROOT)
    if command == "install":
        return 0
    if command == "demo":
        return subprocess.call([str(BIN / "gridcare"), "demo", *rest])
    return subprocess.call([str(BIN / "python"), "-m", "pytest", *rest])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
