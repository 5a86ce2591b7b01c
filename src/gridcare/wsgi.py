import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridcare.settings")
django.setup(set_prefix=False)

from gridcare.core.wsgi import Application  # noqa: E402 - after setup, as get_wsgi_application does

application = Application()
