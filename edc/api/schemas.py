"""marshmallow schemas of the read-only JSON API (also the source of its OpenAPI
document: see openapi.py)."""
from __future__ import annotations

from marshmallow import Schema, fields


class ErrorSchema(Schema):
    error = fields.String(required=True, metadata={"description": "machine-readable code"})
    message = fields.String(required=True, metadata={"description": "explanation"})


class FileSchema(Schema):
    path = fields.String(required=True)
    size = fields.Integer(required=True)
    sha256 = fields.String(required=True)
    format = fields.String(required=True)


class SnapshotSchema(Schema):
    name = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": ["locked", "working"]})
    locked = fields.Boolean(required=True, metadata={
        "description": "false for a working export: NOT LOCKED, data may still change"})
    version = fields.Integer(required=True, allow_none=True)
    status = fields.String(required=True, metadata={"enum": ["building", "ready",
                                                             "failed"]})
    as_of = fields.DateTime(required=True)
    cutoff = fields.Date(required=True, allow_none=True)
    sites = fields.List(fields.String(), required=True)
    file_count = fields.Integer(required=True, allow_none=True)
    total_bytes = fields.Integer(required=True, allow_none=True)
    manifest_sha256 = fields.String(required=True, allow_none=True)


class SnapshotDetailSchema(SnapshotSchema):
    records = fields.Integer(required=True)
    item_values = fields.Integer(required=True)
    record_counts = fields.Dict(keys=fields.String(),
                                values=fields.Dict(keys=fields.String(),
                                                   values=fields.Integer()),
                                required=True)
    files = fields.List(fields.Nested(FileSchema), required=True)


class SnapshotListSchema(Schema):
    snapshots = fields.List(fields.Nested(SnapshotSchema), required=True)


class SiteSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    country = fields.String(required=True)
    timezone = fields.String(required=True)


class SiteListSchema(Schema):
    sites = fields.List(fields.Nested(SiteSchema), required=True)


class PatientSchema(Schema):
    pseudonym = fields.String(required=True)
    site = fields.String(required=True)
    status = fields.String(required=True)
    sex = fields.String(required=True, allow_none=True)
    birth_year = fields.Integer(required=True, allow_none=True)
    registered_on = fields.Date(required=True)
    enrolled_on = fields.Date(required=True, allow_none=True)


class PatientListSchema(Schema):
    patients = fields.List(fields.Nested(PatientSchema), required=True)


class MissingSchema(Schema):
    code = fields.String(required=True)
    reason = fields.String(required=True, allow_none=True)


class RecordSchema(Schema):
    id = fields.Integer(required=True)
    visit = fields.String(required=True)
    form = fields.String(required=True)
    form_version = fields.Integer(required=True)
    seq = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"enum": ["in_progress", "complete"]})
    values = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True),
                         required=True, metadata={
                             "description": "item name -> stored value (see forms/README)"})
    missing = fields.Dict(keys=fields.String(), values=fields.Nested(MissingSchema),
                          required=True)
    open_queries = fields.Integer(required=True)
    sdv_verified = fields.Boolean(required=True)
    visit_signed = fields.Boolean(required=True)
    frozen = fields.Boolean(required=True)
    updated_at = fields.DateTime(required=True)
    row_version = fields.Integer(required=True)


class RecordListSchema(Schema):
    records = fields.List(fields.Nested(RecordSchema), required=True)
