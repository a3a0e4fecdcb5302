"""The OpenAPI 3.0 document of the API, generated from the marshmallow schemas."""
from __future__ import annotations

from marshmallow import Schema, fields

from . import schemas as s

PID = {"type": "string", "pattern": "^[A-Z]{2}[0-9]{2}-[0-9]{4}-[A-Z0-9]$",
       "description": "patient pseudonym, e.g. ES01-0007-K"}
SITE = {"type": "string", "pattern": "^[A-Z]{2}[0-9]{2}$"}
SNAPSHOT = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9-]{0,79}$"}
FILENAME = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,120}$"}
RID = {"type": "integer", "minimum": 1, "maximum": 2147483647}


def field_schema(f: fields.Field) -> dict:
    if isinstance(f, fields.Nested):
        nested = f.nested if isinstance(f.nested, type) else type(f.nested)
        out = {"$ref": f"#/components/schemas/{_name(nested)}"}
        if f.many:
            out = {"type": "array", "items": out}
    elif isinstance(f, fields.List):
        out = {"type": "array", "items": field_schema(f.inner)}
    elif isinstance(f, fields.Dict):
        out = {"type": "object"}
        if f.value_field is not None:
            out["additionalProperties"] = field_schema(f.value_field)
    elif isinstance(f, fields.DateTime):
        out = {"type": "string", "format": "date-time"}
    elif isinstance(f, fields.Date):
        out = {"type": "string", "format": "date"}
    elif isinstance(f, fields.Boolean):
        out = {"type": "boolean"}
    elif isinstance(f, fields.Integer):
        out = {"type": "integer"}
    elif isinstance(f, (fields.Float, fields.Decimal)):
        out = {"type": "number"}
    elif isinstance(f, fields.String):
        out = {"type": "string"}
    else:  # Raw: any JSON value
        out = {}
    meta = f.metadata or {}
    if "description" in meta:
        out["description"] = meta["description"]
    if "enum" in meta:
        out["enum"] = list(meta["enum"]) + ([None] if f.allow_none else [])
    if f.allow_none:
        if "$ref" in out:
            out = {"allOf": [out], "nullable": True}
        else:
            out["nullable"] = True
    return out


def _name(schema_cls) -> str:
    n = schema_cls.__name__
    return n[:-6] if n.endswith("Schema") else n


def schema_object(schema_cls: type[Schema]) -> dict:
    inst = schema_cls()
    props = {name: field_schema(f) for name, f in inst.fields.items()}
    required = [name for name, f in inst.fields.items() if f.required]
    out = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        out["required"] = required
    return out


SCHEMAS = (s.ErrorSchema, s.FileSchema, s.SnapshotSchema, s.SnapshotDetailSchema,
           s.SnapshotListSchema, s.SiteSchema, s.SiteListSchema, s.PatientSchema,
           s.PatientListSchema, s.MissingSchema, s.RecordSchema, s.RecordListSchema)


def _json(schema_cls, description: str) -> dict:
    return {"description": description, "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{_name(schema_cls)}"}}}}


def _errors(*codes: int) -> dict:
    text = {400: "Bad request", 401: "Missing, unknown, revoked or expired token",
            403: "The token's user may not do this", 404: "Not found, or not yours to see",
            405: "Method not allowed", 409: "The stored files changed: not served",
            429: "Too many failed token authentications from this address or with this "
                 "account's tokens, or too many requests with this account's tokens "
                 "(rate limits): wait Retry-After seconds"}
    out = {str(c): _json(s.ErrorSchema, text[c]) for c in codes}
    if "429" in out:
        out["429"]["headers"] = {"Retry-After": {
            "description": "seconds to wait", "schema": {"type": "integer", "minimum": 1}}}
    return out


def _param(name: str, schema: dict, description: str = "") -> dict:
    p = {"name": name, "in": "path", "required": True, "schema": schema}
    if description:
        p["description"] = description
    return p


def _get(summary: str, ok: dict, params=(), errors=(401, 403, 404)) -> dict:
    return {"get": {"summary": summary, "parameters": list(params),
                    "responses": {"200": ok, **_errors(*errors, 429)}}}


def _binary(description: str, media: str) -> dict:
    return {"description": description, "content": {media: {
        "schema": {"type": "string", "format": "binary"}}}}


def document() -> dict:
    name_p = _param("name", SNAPSHOT, "snapshot name, e.g. full-v1")
    pid_p = _param("pid", PID)
    paths = {
        "/api/v1/snapshots": _get(
            "Snapshots the token's user may download (locked; and working exports of "
            "their sites for data managers)", _json(s.SnapshotListSchema, "Snapshots"),
            errors=(401, 403)),
        "/api/v1/snapshots/{name}": _get(
            "One snapshot with its files (from its signed manifest)",
            _json(s.SnapshotDetailSchema, "The snapshot"), [name_p], (401, 404, 409)),
        "/api/v1/snapshots/{name}/files/{filename}": _get(
            "Download one file of a snapshot (audited)",
            _binary("The stored file", "application/octet-stream"),
            [name_p, _param("filename", FILENAME)], (401, 404, 409)),
        "/api/v1/snapshots/{name}/zip": _get(
            "Download every file of a snapshot as one zip (audited)",
            _binary("The zip", "application/zip"), [name_p], (401, 404, 409)),
        "/api/v1/public-key": _get(
            "The Ed25519 public key that verifies snapshot manifests",
            _binary("PEM", "application/x-pem-file"), errors=(401,)),
        "/api/v1/sites": _get("Sites where the token's user may see patients",
                              _json(s.SiteListSchema, "Sites"), errors=(401, 403)),
        "/api/v1/sites/{code}/patients": _get(
            "Patients of a site", _json(s.PatientListSchema, "Patients"),
            [_param("code", SITE)], (401, 404)),
        "/api/v1/patients/{pid}": _get("One patient", _json(s.PatientSchema, "Patient"),
                                       [pid_p], (401, 404)),
        "/api/v1/patients/{pid}/records": _get(
            "A patient's live records with their item values and statuses",
            _json(s.RecordListSchema, "Records"), [pid_p], (401, 403, 404)),
        "/api/v1/patients/{pid}/records/{rid}": _get(
            "One record", _json(s.RecordSchema, "Record"),
            [pid_p, _param("rid", RID)], (401, 403, 404)),
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "MILenARI EDC read-only API", "version": "1",
                 "description": "Personal API tokens (Authorization: Bearer edc_…) act as "
                                "their user, scoped exactly like the screens. A patient of "
                                "another site is 404. Every snapshot download is audited."},
        "paths": paths,
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "a personal API token"}},
            "schemas": {_name(c): schema_object(c) for c in SCHEMAS},
        },
    }
