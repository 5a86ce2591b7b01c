"""The ``gridcare`` console script: Django's management commands with business names.

``gridcare seed-demo --customers 500`` runs the ``seed_demo`` management command, and so on.
"""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridcare.settings")
    from django.core.management import execute_from_command_line

    argv = list(sys.argv)
    if len(argv) > 1 and not argv[1].startswith("-"):
        argv[1] = argv[1].replace("-", "_")
    argv[0] = "gridcare"
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
