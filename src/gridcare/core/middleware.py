from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


class ChineseFirstLocaleMiddleware(LocaleMiddleware):
    """Chinese unless the user chose another language (language cookie / i18n/setlang).

    Django's own middleware follows the browser's Accept-Language, which would show an English UI
    to staff whose browsers happen to be English; GridCare's working language is Chinese.
    """

    def process_request(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        supported = {code for code, _name in settings.LANGUAGES}
        language = chosen if chosen in supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()


class CleanInputMiddleware:
    """Refuses control characters (NUL included) in a request's path, query string and form
    fields before any view sees them, and answers every error under ``/api/`` as JSON
    ``{code, message}``.

    PostgreSQL refuses NUL in text: left to reach it, such a value is a 500 whose log repeats the
    statement's values. A page answers 400; the API ``400 invalid_characters`` (its JSON bodies
    are checked by the schemas' field types, ``core.validation``). A 404 for an unknown API path,
    a 405 and a 500 Django itself answers are turned into JSON too (the API's own errors already
    are, ``gridcare.api``).
    """

    API_PREFIX = "/api/"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from gridcare.core.validation import CONTROL_CHARS, LINE_CONTROL_CHARS

        is_api = request.path_info.startswith(self.API_PREFIX)
        if LINE_CONTROL_CHARS.search(request.path_info):
            # No object's number or code holds one: there is no such page (404, not a 500).
            if is_api:
                return _json_error(404, "not_found", "No such path or object.")
            from django.http import HttpResponseNotFound

            return HttpResponseNotFound(content_type="text/plain; charset=utf-8")
        bad = request.META.get("QUERY_STRING") and any(
            LINE_CONTROL_CHARS.search(key) or any(LINE_CONTROL_CHARS.search(v) for v in values)
            for key, values in request.GET.lists()
        )
        if not bad and request.method == "POST" and not is_api:
            try:
                bad = any(
                    CONTROL_CHARS.search(value)
                    for values in request.POST.lists()
                    for value in values[1]
                    if isinstance(value, str)
                )
            except Exception:  # an unreadable form is the view's (or Django's) 400 to answer
                bad = False
        if bad:
            if is_api:
                return _json_error(400, "invalid_characters", "Control characters are not allowed.")
            from django.http import HttpResponseBadRequest
            from django.utils.translation import gettext as _

            return HttpResponseBadRequest(
                _("输入中含有不允许的控制字符。"), content_type="text/plain; charset=utf-8"
            )
        response = self.get_response(request)
        if is_api and response.status_code >= 400 and not _is_json(response):
            code, message = _API_STATUS.get(response.status_code, ("invalid_input", "Bad request."))
            if response.status_code >= 500:
                code, message = "server_error", "Internal error; it has been logged."
            json_response = _json_error(response.status_code, code, message)
            for header in ("Allow", "Retry-After", "WWW-Authenticate"):
                if response.has_header(header):
                    json_response[header] = response[header]
            return json_response
        return response

    def process_exception(self, request, exception):
        if request.path_info.startswith(self.API_PREFIX):
            import logging

            logging.getLogger("gridcare.api").error(
                "Unhandled error on %s %s", request.method, request.path, exc_info=exception
            )
            return _json_error(500, "server_error", "Internal error; it has been logged.")
        return None


_API_STATUS = {
    400: ("invalid_input", "Bad request."),
    401: ("unauthorized", "A valid bearer token or session is required."),
    403: ("forbidden", "Forbidden."),
    404: ("not_found", "No such path or object."),
    405: ("method_not_allowed", "This method is not allowed here."),
    413: ("invalid_body", "The request body is too large."),
    415: ("unsupported_media_type", "The request body must be JSON."),
    429: ("throttled", "Too many requests."),
}


def _is_json(response) -> bool:
    return response.get("Content-Type", "").startswith("application/json")


def _json_error(status: int, code: str, message: str):
    from django.http import JsonResponse

    return JsonResponse({"code": code, "message": message}, status=status)
