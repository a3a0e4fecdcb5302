"""Property-based test of the API against its own OpenAPI document (schemathesis):
no 500s, and every response matches the documented status codes, content types and
schemas — for generated paths and for real resources."""
import schemathesis
from hypothesis import HealthCheck, settings

def test_api_conforms(app, data, token):
    """Every operation, with generated parameters, as a data manager of every site.

    (schemathesis' lazy pytest fixture does not work with pytest 9, so the operations'
    hypothesis strategies are driven directly.)"""
    from hypothesis import given
    api = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    headers = {"Authorization": f"Bearer {token('data_manager')}"}
    operations = [r.ok() for r in api.get_all_operations()]
    assert len(operations) == 10
    for op in operations:
        @given(case=op.as_strategy())
        @settings(max_examples=30, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            case.call_and_validate(headers=headers)
        run()


def test_real_resources_conform(app, data, token):
    api = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    tokens = {"dm": token("data_manager"), "stat": token("statistician"),
              "inv": token("investigator", "IT01")}
    with app.app_context():
        from sqlalchemy import select

        from edc.crf.models import FormRecord
        from edc.extensions import db
        from edc.patients.models import Patient
        rid = db.session.scalars(select(FormRecord.id).join(Patient).where(
            Patient.pseudonym == data.es)).first()
    calls = [
        ("/api/v1/snapshots", {}, "dm"), ("/api/v1/snapshots", {}, "stat"),
        ("/api/v1/snapshots/{name}", {"name": data.snapshot}, "stat"),
        ("/api/v1/snapshots/{name}/files/{filename}",
         {"name": data.snapshot, "filename": "DM.csv"}, "stat"),
        ("/api/v1/snapshots/{name}/zip", {"name": data.snapshot}, "stat"),
        ("/api/v1/public-key", {}, "inv"),
        ("/api/v1/sites", {}, "dm"), ("/api/v1/sites", {}, "stat"),
        ("/api/v1/sites/{code}/patients", {"code": "ES01"}, "dm"),
        ("/api/v1/sites/{code}/patients", {"code": "ES01"}, "inv"),
        ("/api/v1/patients/{pid}", {"pid": data.es}, "dm"),
        ("/api/v1/patients/{pid}", {"pid": data.es}, "inv"),
        ("/api/v1/patients/{pid}/records", {"pid": data.es}, "dm"),
        ("/api/v1/patients/{pid}/records/{rid}", {"pid": data.es, "rid": rid}, "dm"),
        ("/api/v1/patients/{pid}/records/{rid}", {"pid": data.it, "rid": rid}, "dm"),
    ]
    statuses = []
    for path, params, who in calls:
        case = api[path]["GET"].Case(path_parameters=params,
                                     headers={"Authorization": f"Bearer {tokens[who]}"})
        response = case.call()
        case.validate_response(response)
        statuses.append(response.status_code)
    assert statuses == [200, 200, 200, 200, 200, 200, 200, 403, 200, 404, 200, 404, 200,
                        200, 404]
