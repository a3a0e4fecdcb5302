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

#: Session cookie: HttpOnly and SameSite=Lax always; Secure unless the app runs in debug.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = True

#: CSRF tokens never expire within a session (a long eCRF may take an hour to fill).
WTF_CSRF_TIME_LIMIT = None

#: Directory holding the eCRF definitions (forms/*.yaml). ``None``: the repository's forms/.
FORMS_DIR = None

#: Maximum request size (bytes): protects against huge submissions.
MAX_CONTENT_LENGTH = 2 * 1024 * 1024
