"""Default settings of MILenARI EDC — every setting is documented here, once.

Settings load in this order (later wins):
1. the defaults in this module;
2. ``instance/config.py`` (written by ``flask --app edc init``; mode 0600);
3. environment variables ``EDC_<NAME>`` (e.g. ``EDC_DATABASE_URL``).
"""

#: Flask session signing key. ``flask --app edc init`` writes a random one into
#: instance/config.py; the app refuses to start outside testing with this placeholder.
SECRET_KEY = None

#: SQLAlchemy database URL. ``None`` means the embedded SQLite file ``instance/edc.sqlite``.
#: Production: ``postgresql+psycopg://user:password@host/dbname``.
DATABASE_URL = None

#: File holding the master key (32 random bytes, base64) that wraps each site's data key.
#: Relative paths are resolved inside the instance folder. ``EDC_MASTER_KEY`` (base64)
#: given in the environment wins over the file.
MASTER_KEY_FILE = "master.key"
MASTER_KEY = None

#: Ed25519 private key (PEM) that signs export manifests; relative to the instance folder.
SIGNING_KEY_FILE = "signing.key"

#: Languages offered, in the order of the language switcher.
LANGUAGES = ["en", "es", "it", "ar"]
#: Language used when neither the user's choice nor the browser's Accept-Language matches.
BABEL_DEFAULT_LOCALE = "en"
BABEL_DEFAULT_TIMEZONE = "UTC"

#: Failed log-ins before the account is locked, and for how long (minutes).
LOGIN_MAX_FAILURES = 5
LOGIN_LOCK_MINUTES = 15

#: Minimum password length; passwords zxcvbn scores below PASSWORD_MIN_SCORE are refused.
PASSWORD_MIN_LENGTH = 12
PASSWORD_MIN_SCORE = 3

#: Multi-factor authentication (TOTP authenticator app + ten one-time recovery codes).
#: Users holding any of these roles at any site must enrol before they can use the EDC
#: (the roles that sign, lock or export). Environment: ``EDC_MFA_REQUIRED_ROLES=a,b``.
MFA_REQUIRED_ROLES = ["investigator", "data_manager", "statistician"]
#: True: users whose roles do not require MFA may enrol voluntarily (and turn it off
#: again); False: MFA is offered only to the roles of MFA_REQUIRED_ROLES.
MFA_OPTIONAL = True
#: Name shown in the authenticator app next to the user's email.
MFA_ISSUER = "MILenARI EDC"
#: Minutes a user has, after a correct password, to give the second factor.
MFA_STEP_MINUTES = 5

#: Rate limits, stored in the database (shared by every worker): kind → (failed attempts,
#: window in seconds). Once a key (an IP address or an account) has that many failed
#: attempts of the kind within the window, further attempts are refused with HTTP 429
#: (audited) without being checked, until older failures leave the window. The 5-failure
#: account lockout (LOGIN_MAX_FAILURES) applies as well. ``api.ip``/``api.account``: failed
#: API-token authentications; ``api.use``: requests per account (edc/api/services.py).
RATE_LIMITS = {
    "login.ip": (30, 15 * 60),
    "login.account": (10, 15 * 60),
    "mfa.ip": (30, 15 * 60),
    "mfa.account": (5, 15 * 60),
    "api.ip": (30, 15 * 60),
    "api.account": (10, 15 * 60),
    "api.use": (600, 60),  # not failures: every request of an account's API tokens
}

#: Session cookie: HttpOnly and SameSite=Lax always; Secure unless the app runs in debug.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = True

#: A session ends after this many minutes without a request, and this many hours after
#: log-in, whatever happens (server-side checks; the user logs in again).
SESSION_IDLE_MINUTES = 30
SESSION_MAX_HOURS = 12

#: CSRF tokens never expire within a session (a long eCRF may take an hour to fill).
WTF_CSRF_TIME_LIMIT = None

#: Directory holding the eCRF definitions (forms/*.yaml). ``None``: the repository's forms/.
FORMS_DIR = None

#: Maximum request size (bytes): protects against huge submissions.
MAX_CONTENT_LENGTH = 2 * 1024 * 1024

#: Outgoing email (safety alerts). Mails wait in the outbox table and are sent by
#: ``flask --app edc mail send`` (run it from cron, e.g. every minute). ``SMTP_HOST``
#: ``None`` keeps every mail queued (nothing is lost; sending starts once it is set).
SMTP_HOST = None
SMTP_PORT = 25
#: Log-in at the SMTP server; ``None``: no authentication.
SMTP_USERNAME = None
SMTP_PASSWORD = None
#: ``starttls``: upgrade the connection (port 587); ``ssl``: implicit TLS (port 465);
#: ``none``: plain SMTP (only to a relay on the same host or network).
SMTP_SECURITY = "starttls"
#: Seconds to wait for the SMTP server before the attempt counts as failed.
SMTP_TIMEOUT = 30
#: Sender address of every mail.
MAIL_FROM = "edc@localhost"
#: After a failed attempt the next one waits MAIL_RETRY_MINUTES × 2^(attempts − 1),
#: at most MAIL_RETRY_MAX_MINUTES. A mail the server refuses for good (5xx) is marked
#: failed after MAIL_MAX_ATTEMPTS; it stays in the outbox (``mail retry`` requeues it).
MAIL_RETRY_MINUTES = 1
MAIL_RETRY_MAX_MINUTES = 60
MAIL_MAX_ATTEMPTS = 5
#: The address users reach the EDC at, for links in mails (e.g. https://edc.example.org).
#: ``None``: mails carry no links.
PUBLIC_URL = None

#: Where locked snapshots and working exports are stored, one directory each. Relative
#: paths are resolved inside the instance folder. Snapshot files are never rewritten.
SNAPSHOT_DIR = "snapshots"

#: When true, a database lock is blocked by forms that a monitor has not source-data
#: verified (SDV); when false, SDV status does not block a lock.
SDV_REQUIRED = False

#: Default for the lock form's "include audit records in the ODM file" option.
EXPORT_ODM_AUDIT_RECORDS = False

#: Longest validity of a personal API token (days); tokens are shown once, stored hashed.
API_TOKEN_MAX_DAYS = 365

#: Number of reverse proxies (nginx …) in front of the app whose X-Forwarded-For/-Proto
#: headers are trusted (Werkzeug ProxyFix). 0: none — the client address is the socket's.
#: Set it to 1 behind one nginx, so rate limits and the audit trail see real client IPs.
PROXY_FIX_HOPS = 0
