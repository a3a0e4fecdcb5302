"""Import every model so the metadata (and Alembic) sees all tables."""
from .audit.models import AuditEvent, AuditHead  # noqa: F401
from .auth.models import User  # noqa: F401
from .patients.models import Patient, PatientIdentifiers  # noqa: F401
from .sites.models import Membership, Site  # noqa: F401
from .crf.models import FormRecord, FormVersion  # noqa: F401,E402
from .queries.models import Query, QueryMessage  # noqa: F401,E402
from .queries.models import SdvMark  # noqa: F401,E402
from .signing.models import DataLock, Signature  # noqa: F401,E402
from .alerts.models import AlertReceipt, OutboxMail, SafetyAlert  # noqa: F401,E402
from .exports.models import DatabaseLock, Snapshot  # noqa: F401,E402
from .api.models import ApiToken  # noqa: F401,E402
