from django.apps import AppConfig


class ControlConfig(AppConfig):
    name = "bench.control"
    label = "bench_control"
    default_auto_field = "django.db.models.BigAutoField"
