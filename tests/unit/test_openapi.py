"""The OpenAPI document is built from whatever the registry holds and says what the gateway does."""

from __future__ import annotations

from typing import Any

from openapi_spec_validator import validate
from pydantic import BaseModel, ConfigDict

from adapters.interface import Adapter, Context
from adapters.registry import Registry
from gateway.audit.publisher import RECEIPT_HEADER
from gateway.http.openapi import build_openapi
from gateway.http.openapi_responses import AUDIT_RECEIPT_HEADER
from schemas.config import Settings
from schemas.problems import ProblemType

VERIFY = "/v1/population/citizen-verify"
DECLARE = "/v1/population/residence-declaration"


class ParcelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    parcel_id: str


class Owner(BaseModel):
    name: str
    phone: str


class ParcelResponse(BaseModel):
    parcel_id: str
    area_m2: float
    owner: Owner | None


land: Adapter[None] = Adapter("land", title="Land registry", connect=lambda *_: None)


@land.operation(
    "parcel-lookup",
    personal_data=True,
    field_groups={"owner": ("owner.phone",)},
    example={"parcel_id": "P-0001"},
)
async def parcel_lookup(req: ParcelRequest, ctx: Context[None]) -> ParcelResponse:
    """A land parcel by its id."""
    raise NotImplementedError


def document(*extra: Adapter[Any]) -> dict[str, Any]:
    found = list(Registry.discover())
    return build_openapi(Registry([*found, *extra]), Settings())


def schema(doc: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = doc["components"]["schemas"][name]
    return found


def test_an_adapter_installed_from_outside_appears_with_its_schemas_and_example() -> None:
    doc = document(land)
    validate(doc)
    operation = doc["paths"]["/v1/land/parcel-lookup"]["post"]
    assert operation["operationId"] == "land_parcel_lookup"
    assert operation["summary"] == "A land parcel by its id."
    body = operation["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/ParcelRequest"}
    assert body["example"] == {"parcel_id": "P-0001"}
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/ParcelResponse"}
    assert {"name": "land", "description": "Land registry"} in doc["tags"]
    # Its field group's field is optional; the rest of the nested model stays required.
    assert schema(doc, "Owner")["required"] == ["name"]
    assert "`owner` field group" in schema(doc, "Owner")["properties"]["phone"]["description"]
    assert "land" not in str(document()["paths"])  # and it is gone when uninstalled


def test_fields_of_field_groups_are_optional_in_response_schemas() -> None:
    doc = document()
    citizen = schema(doc, "Citizen")
    for withheld in ("ethnicity", "religion", "blood_group", "father", "current_address"):
        assert withheld not in citizen["required"]
    assert {"personal_id", "full_name", "date_of_birth"} <= set(citizen["required"])
    assert "members" not in schema(doc, "Enterprise").get("required", [])
    assert "household_members" not in schema(doc, "Participant").get("required", [])


def test_every_operation_declares_the_statuses_it_can_answer_409_only_on_writes() -> None:
    doc = document()
    common = {"200", "400", "401", "403", "404", "405", "408", "413", "415", "422"}
    common |= {"429", "502", "503", "504"}
    for path, item in doc["paths"].items():
        if not path.startswith("/v1/") or path == "/v1/services":
            continue
        responses = set(item["post"]["responses"])
        assert responses == (common | {"409"} if path == DECLARE else common), path
    not_found = doc["components"]["responses"]["NotFound"]["content"]["application/problem+json"]
    assert {e["value"]["type"] for e in not_found["examples"].values()} == {
        ProblemType.UNKNOWN_OPERATION,
        ProblemType.RECORD_NOT_FOUND,
    }
    assert not_found["schema"] == {"$ref": "#/components/schemas/Problem"}
    retry = doc["components"]["responses"]["RateLimited"]["headers"]
    assert "Retry-After" in retry
    assert "X-Request-ID" in retry


def test_purpose_headers_are_required_on_personal_data_and_idempotency_key_on_writes() -> None:
    doc = document()
    params = doc["components"]["parameters"]

    def headers(path: str) -> dict[str, bool]:
        refs = [p["$ref"].rsplit("/", 1)[-1] for p in doc["paths"][path]["post"]["parameters"]]
        return {params[r]["name"]: params[r]["required"] for r in refs}

    purpose = {"LGSP-Officer-Id": True, "LGSP-Procedure-Code": True, "LGSP-Case-Id": True}
    optional = {"X-Request-ID": False, "LGSP-Timeout": False}
    assert headers(VERIFY) == {**optional, **purpose}
    assert headers(DECLARE) == {**optional, **purpose, "Idempotency-Key": True}
    assert params["ProcedureCode"]["schema"]["pattern"] == "^(?:[0-9]\\.[0-9]{6})$"


def test_security_is_oauth2_client_credentials_against_token() -> None:
    doc = document()
    scheme = doc["components"]["securitySchemes"]["oauth2"]
    assert scheme["flows"] == {"clientCredentials": {"tokenUrl": "/token", "scopes": {}}}
    assert doc["paths"][VERIFY]["post"]["security"] == [{"oauth2": []}]
    assert doc["paths"]["/healthz"]["get"]["security"] == []
    own = {"/token", "/healthz", "/readyz", "/v1/services", "/.well-known/jwks.json"}
    assert own <= set(doc["paths"])


def test_answers_with_personal_data_declare_their_audit_receipt() -> None:
    doc = document()
    assert AUDIT_RECEIPT_HEADER == RECEIPT_HEADER
    for path, item in doc["paths"].items():
        operation = next(iter(item.values()))
        headers = operation["responses"]["200"].get("headers", {})
        assert (RECEIPT_HEADER in headers) == operation.get("x-lgsp-personal-data", False), path


def test_component_names_are_unique_titles_a_client_generator_can_use() -> None:
    doc = document()
    names = doc["components"]["schemas"]
    assert all(s["title"] == name for name, s in names.items())
    assert all(name.isidentifier() for name in names)
    assert {"PopulationSex", "BusinessSex", "InsuranceSex"} <= set(names)
    assert "$defs" not in str(doc)
