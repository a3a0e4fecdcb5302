"""Path parameters that cannot name anything — integers beyond a database INTEGER, text
with a NUL — are a 404 on every route, never a database error (PostgreSQL refuses both)."""
import pytest

from helpers import register_patient

PATHS = ["/queries/99999999999999999999", "/queries/2147483648",
         "/patients/%00", "/patients/{pid}%00",
         "/patients/{pid}/records/99999999999999999999",
         "/patients/{pid}/records/99999999999999999999/history/AETERM",
         "/admin/users/99999999999999999999", "/alerts/99999999999999999999",
         "/patients/{pid}/forms/%00/CRS", "/patients/{pid}/forms/ACUTE/%00",
         "/api/v1/patients/{pid}%00"]


@pytest.mark.parametrize("role", ["admin", "investigator"])
def test_unnameable_path_parameters_are_404(logged_in, app, role):
    pid = register_patient(app)
    c = logged_in(role)
    got = {p: c.get(p.format(pid=pid)).status_code for p in PATHS}
    assert {p: s for p, s in got.items() if s != 404} == {}


def test_the_bound_is_the_database_integer(app):
    from werkzeug.exceptions import NotFound
    urls = app.url_map.bind("localhost")
    endpoint, args = urls.match("/queries/2147483647")
    assert args == {"query_id": 2147483647} or 2147483647 in args.values()
    with pytest.raises(NotFound):
        urls.match("/queries/2147483648")
    with pytest.raises(NotFound):
        urls.match("/patients/ES01-0001-X\x00")
