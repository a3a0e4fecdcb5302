"""Fixtures of the printed-record tests (helpers: tests/reports_support.py)."""
import pytest

from reports_support import make_patient


@pytest.fixture
def patient_with_data(app, world):
    """A patient of ES01 with identifiers, data, corrections, queries and missing data."""
    return make_patient(app)


@pytest.fixture
def fonts():
    from edc.reports.pdf import register_fonts
    register_fonts()
