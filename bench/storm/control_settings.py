"""GridCare's settings serving only the control endpoint (same stack, same database)."""

from gridcare.settings import *  # noqa: F403

ROOT_URLCONF = "bench.storm.control"
