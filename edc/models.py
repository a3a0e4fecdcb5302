"""Import every model so the metadata (and Alembic) sees all tables."""
from .audit.models import AuditEvent, AuditHead  # noqa: F401
from .auth.models import User  # noqa: F401
from .patients.models import Patient, PatientIdentifiers  # noqa: F401
from .sites.models import Membership, Site  # noqa: F401
