"""Every API error code is listed, with its meaning, in the OpenAPI document's description, and that
list is generated from ``core.api_errors.ErrorCode`` (a code added to the enum shows up by itself)."""

from gridcare.core.api_errors import ERROR_MEANINGS, ErrorCode, error_codes_markdown


def test_every_code_has_a_meaning():
    assert set(ERROR_MEANINGS) == set(ErrorCode)
    assert all(meaning.strip() for meaning in ERROR_MEANINGS.values())


def test_openapi_description_lists_every_code_with_its_meaning(client, db):
    doc = client.get("/api/v1/openapi.json").json()
    description = doc["info"]["description"]
    for code in ErrorCode:
        assert f"| `{code.value}` | {ERROR_MEANINGS[code]} |" in description, code
    assert error_codes_markdown() in description
