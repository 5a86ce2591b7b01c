from django.db import connection
from django.http import JsonResponse


def healthz(request):
    """The process is up."""
    return JsonResponse({"status": "ok"})


def readyz(request):
    """The database answers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any database failure means "not ready"
        return JsonResponse({"status": "unavailable", "error": exc.__class__.__name__}, status=503)
    return JsonResponse({"status": "ok", "database": connection.vendor})
