"""OpenAPI 3: the schema, Swagger UI and ReDoc, with every asset served from here rather than a CDN."""

import json
import re
from html.parser import HTMLParser
from urllib.parse import urlparse

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.views import serve
from django.test import RequestFactory
from drf_spectacular.validation import validate_schema

PROBLEM = "application/problem+json"

# The contract's paths this layer owns or routes (history, notifications and sync document themselves).
CONTRACT_OPERATIONS = [
    ("post", "/api/auth/register"),
    ("post", "/api/auth/login"),
    ("post", "/api/auth/refresh"),
    ("post", "/api/auth/logout"),
    ("get", "/api/auth/me"),
    ("get", "/api/events"),
    ("post", "/api/events"),
    ("post", "/api/events/batch"),
    ("get", "/api/events/{id}"),
    ("put", "/api/events/{id}"),
    ("patch", "/api/events/{id}"),
    ("delete", "/api/events/{id}"),
    ("get", "/api/events/{id}/occurrences"),
    ("post", "/api/events/{id}/share"),
    ("get", "/api/events/{id}/permissions"),
    ("put", "/api/events/{id}/permissions/{user_id}"),
    ("delete", "/api/events/{id}/permissions/{user_id}"),
]
PUBLIC_OPERATIONS = {("post", "/api/auth/register"), ("post", "/api/auth/login"), ("post", "/api/auth/refresh")}
METHODS = {"get", "put", "post", "patch", "delete"}


@pytest.fixture
def schema(api, db) -> dict:
    response = api.get("/api/schema?format=json")
    assert response.status_code == 200, response.content[:500]
    return json.loads(response.content)


def operations(schema: dict):
    """(method, path without its trailing slash, operation) for every operation in the schema."""
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method, path.rstrip("/") or "/", operation


def operation(schema: dict, method: str, path: str) -> dict:
    found = [op for m, p, op in operations(schema) if (m, p) == (method, path)]
    assert found, f"{method.upper()} {path} is not documented"
    return found[0]


class Assets(HTMLParser):
    """Collects the URLs an HTML page loads: script src, link href, img src."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.urls.append(attrs["src"])
        elif tag == "link" and attrs.get("href"):
            self.urls.append(attrs["href"])
        elif tag == "img" and attrs.get("src"):
            self.urls.append(attrs["src"])


def assets_of(html: str) -> list[str]:
    parser = Assets()
    parser.feed(html)
    return parser.urls


def test_the_schema_is_valid_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] and schema["info"]["version"]
    validate_schema(schema)  # drf-spectacular's bundled OpenAPI 3.0 JSON Schema; raises when invalid


def test_every_reference_resolves(schema):
    text = json.dumps(schema)
    refs = set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', text))
    assert refs
    assert refs <= set(schema["components"]["schemas"]), refs - set(schema["components"]["schemas"])


def test_the_default_schema_is_yaml_and_says_the_same(api, db, schema):
    response = api.get("/api/schema")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    assert "json" not in response["Content-Type"]
    assert yaml.safe_load(response.content) == schema


def test_format_json_gives_json(api, db):
    response = api.get("/api/schema?format=json")

    assert response.status_code == 200
    assert "json" in response["Content-Type"]
    assert json.loads(response.content)["openapi"].startswith("3.")


def test_the_schema_needs_no_token(api, db):
    response = api.get("/api/schema?format=json")

    assert response.status_code == 200
    assert "/api/events/" in json.loads(response.content)["paths"]


@pytest.mark.parametrize("method, path", CONTRACT_OPERATIONS)
def test_contract_operations_are_documented(schema, method, path):
    op = operation(schema, method, path)
    assert op["responses"]
    assert any(code.startswith("2") for code in op["responses"]), op["responses"].keys()


def test_bearer_security_is_declared(schema):
    schemes = schema["components"]["securitySchemes"]
    bearer = [
        name for name, s in schemes.items() if s.get("type") == "http" and s.get("scheme", "").lower() == "bearer"
    ]
    assert bearer, schemes
    name = bearer[0]
    for method, path in CONTRACT_OPERATIONS:
        requirements = operation(schema, method, path).get("security", schema.get("security", []))
        names = {key for requirement in requirements for key in requirement}
        if (method, path) in PUBLIC_OPERATIONS:
            assert name not in names or {} in requirements, (method, path, requirements)
        else:
            assert name in names, (method, path, requirements)
            assert {} not in requirements, (method, path)  # anonymous access is not an option


def test_the_problem_schema_is_rfc_9457(schema):
    problem = schema["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail"} <= set(problem["properties"])
    assert {"type", "title", "status", "detail"} <= set(problem.get("required", []))
    assert problem["properties"]["status"]["type"] == "integer"
    assert problem["properties"]["errors"]["type"] == "object"


def test_error_answers_are_documented_as_problem_json(schema):
    """Every 4xx of every operation is problem+json (never a plain JSON body)."""
    checked = 0
    for method, path, op in operations(schema):
        for code, response in op["responses"].items():
            if code.startswith("4") and response.get("content"):
                assert set(response["content"]) == {PROBLEM}, (method, path, code, list(response["content"]))
                checked += 1
    assert checked > 20


@pytest.mark.parametrize("method, path", CONTRACT_OPERATIONS)
def test_each_operation_documents_the_errors_it_can_give(schema, method, path):
    codes = set(operation(schema, method, path)["responses"])
    expected = {"429"}
    if (method, path) not in PUBLIC_OPERATIONS:
        expected.add("401")
    if method in {"post", "put", "patch"}:
        expected |= {"400", "413", "415"}
    if "{id}" in path:
        expected.add("404")
    assert expected <= codes, expected - codes


@pytest.mark.parametrize("method, path", [("post", "/api/events"), ("post", "/api/auth/login")])
def test_messagepack_is_documented_both_ways(schema, method, path):
    op = operation(schema, method, path)
    request_types = set(op["requestBody"]["content"])
    success = next(r for code, r in op["responses"].items() if code.startswith("2"))
    assert {"application/json", "application/msgpack", "application/x-msgpack"} <= request_types
    assert {"application/json", "application/msgpack", "application/x-msgpack"} <= set(success["content"])


@pytest.mark.parametrize("path", ["/api/schema/swagger-ui", "/api/schema/redoc"])
def test_the_ui_pages_are_html_and_need_no_token(api, db, path):
    response = api.get(path)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assets = assets_of(response.content.decode())
    assert any(url.endswith(".js") for url in assets), assets
    assert "/api/schema" in response.content.decode()


@pytest.mark.parametrize("path", ["/api/schema/swagger-ui", "/api/schema/redoc"])
def test_the_ui_pages_load_nothing_from_another_host(api, db, path):
    html = api.get(path).content.decode()

    external = [url for url in assets_of(html) if urlparse(url).netloc or url.startswith("//")]
    assert external == []
    assert re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html) == []


@pytest.mark.parametrize("path", ["/api/schema/swagger-ui", "/api/schema/redoc"])
def test_the_ui_assets_ship_with_the_app(api, db, settings, path):
    """Each asset is one of our static files, served by staticfiles' own view."""
    html = api.get(path).content.decode()
    local = [url for url in assets_of(html) if url.startswith(f"/{settings.STATIC_URL.strip('/')}/")]
    assert local, assets_of(html)
    for url in local:
        relative = url.split("?")[0].removeprefix(f"/{settings.STATIC_URL.strip('/')}/")
        assert finders.find(relative), f"{url} is not a static file of the project"
        response = serve(RequestFactory().get(url), relative, insecure=True)
        assert response.status_code == 200
        assert b"".join(response.streaming_content)


@pytest.mark.parametrize("path", ["/api/schema/swagger-ui", "/api/schema/redoc"])
def test_the_ui_assets_are_served_by_the_app(api, db, path):
    """What a browser does next: fetch each asset from us. Nothing else serves /static/ (see Dockerfile)."""
    html = api.get(path).content.decode()
    local = [url for url in assets_of(html) if url.startswith("/")]
    assert local

    failures = [(url, api.get(url).status_code) for url in local]

    assert [f for f in failures if f[1] != 200] == []


def test_every_paginated_list_documents_its_page_parameters(schema):
    """An answer with next/previous is a page: clients must find ?page= and ?page_size= beside it."""
    components = schema["components"]["schemas"]
    missing = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            body = operation.get("responses", {}).get("200", {}).get("content", {}).get("application/json", {})
            name = body.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1]
            if {"next", "previous"} <= components.get(name, {}).get("properties", {}).keys():
                names = {p.get("name") for p in operation.get("parameters", [])}
                if not {"page", "page_size"} <= names:
                    missing.append(f"{method.upper()} {path}")
    assert missing == []


# --- response headers


RATELIMIT = {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"}
SINGLE_EVENT_ANSWERS = [
    ("get", "/api/events/{id}", "200"),
    ("get", "/api/events/{id}", "304"),
    ("post", "/api/events", "201"),
    ("put", "/api/events/{id}", "200"),
    ("patch", "/api/events/{id}", "200"),
    ("get", "/api/events/{id}/occurrences", "200"),
    ("get", "/api/events/{id}/occurrences", "304"),
    ("patch", "/api/events/{id}/occurrences/{original_start}", "200"),
    ("post", "/api/events/{id}/restore", "200"),
    ("get", "/api/events/{id}/ics", "200"),
    ("get", "/api/events/{id}/ics", "304"),
]
# A subscription feed's answer is tagged too (a digest of what it holds): pollers send If-None-Match.
FEED_ANSWERS = [("get", "/api/feed/{secret}.ics", "200"), ("get", "/api/feed/{secret}.ics", "304")]


@pytest.mark.parametrize("method, path, code", SINGLE_EVENT_ANSWERS + FEED_ANSWERS)
def test_single_event_answers_document_a_required_etag(schema, method, path, code):
    etag = operation(schema, method, path)["responses"][code]["headers"]["ETag"]

    assert etag["required"] is True
    assert re.fullmatch(etag["schema"]["pattern"], '"3-0123456789abcdef"')


def test_every_api_answer_documents_the_ratelimit_headers_and_only_event_answers_an_etag(schema):
    checked = 0
    for method, path, op in operations(schema):
        if not path.startswith("/api/"):
            continue
        for code, response in op["responses"].items():
            headers = response.get("headers", {})
            assert set(headers) >= RATELIMIT, (method, path, code)
            assert not any(headers[name].get("required") for name in RATELIMIT)
            if "ETag" in headers:
                assert (method, path, code) in SINGLE_EVENT_ANSWERS + FEED_ANSWERS or path.endswith(
                    ("/restore", "/rollback/{version}")
                )
            checked += 1
    assert checked > 100


def test_retry_after_is_documented_on_429_503_and_409(schema):
    for method, path, op in operations(schema):
        if not path.startswith("/api/"):
            continue
        for code in ("409", "429", "503"):
            if code in op["responses"]:
                assert "Retry-After" in op["responses"][code]["headers"], (method, path, code)
    assert "503" in operation(schema, "get", "/api/events/{id}")["responses"]
    assert "Retry-After" in operation(schema, "patch", "/api/events/{id}")["responses"]["409"]["headers"]


def test_idempotent_replayed_is_documented_on_keyed_posts_only(schema):
    assert "Idempotent-Replayed" in operation(schema, "post", "/api/events")["responses"]["201"]["headers"]
    assert "Idempotent-Replayed" not in operation(schema, "post", "/api/auth/login")["responses"]["200"]["headers"]
    assert "Idempotent-Replayed" not in operation(schema, "get", "/api/events/{id}")["responses"]["200"]["headers"]
