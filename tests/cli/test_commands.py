import os
import stat

from helpers import PASSWORD


def run(app, *args, input=None):
    return app.test_cli_runner().invoke(args=list(args), input=input)


def test_site_and_user_commands(app, ctx):
    r = run(app, "site", "add", "es01", "--name", "Hospital Clínic", "--country", "es",
            "--timezone", "Europe/Madrid")
    assert r.exit_code == 0, r.output
    r = run(app, "user", "add", "Ana@Example.org", "--name", "Ana Pérez", "--password-stdin",
            input=PASSWORD + "\n")
    assert r.exit_code == 0, r.output
    assert run(app, "user", "grant", "ana@example.org", "--site", "ES01",
               "--role", "investigator").exit_code == 0
    assert run(app, "user", "revoke", "ana@example.org", "--site", "ES01",
               "--role", "investigator").exit_code == 0
    assert run(app, "user", "grant", "ana@example.org", "--site", "ES01",
               "--role", "investigator").exit_code == 0
    assert run(app, "user", "disable", "ana@example.org").exit_code == 0


def one_line_error(r):
    assert r.exit_code == 1
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), r.output
    assert "Traceback" not in r.output
    return lines[0]


def test_bad_input_one_line_errors(app, ctx):
    run(app, "site", "add", "ES01", "--name", "X", "--country", "ES", "--timezone",
        "Europe/Madrid")
    run(app, "user", "add", "a@example.org", "--name", "A", "--password-stdin",
        input=PASSWORD + "\n")
    assert "Unknown time zone" in one_line_error(run(
        app, "site", "add", "IT01", "--name", "X", "--country", "IT", "--timezone", "Rome"))
    assert "already exists" in one_line_error(run(
        app, "site", "add", "ES01", "--name", "X", "--country", "ES", "--timezone",
        "Europe/Madrid"))
    assert "already exists" in one_line_error(run(
        app, "user", "add", "A@example.org", "--name", "A", "--password-stdin",
        input=PASSWORD + "\n"))
    assert "12 characters" in one_line_error(run(
        app, "user", "add", "b@example.org", "--name", "B", "--password-stdin",
        input="short\n"))
    assert "too common" in one_line_error(run(
        app, "user", "add", "b@example.org", "--name", "B", "--password-stdin",
        input="password1234\n"))
    assert "Unknown site" in one_line_error(run(
        app, "user", "grant", "a@example.org", "--site", "XX99", "--role", "monitor"))
    assert "Unknown role" in one_line_error(run(
        app, "user", "grant", "a@example.org", "--site", "ES01", "--role", "boss"))
    assert "Unknown user" in one_line_error(run(
        app, "user", "grant", "zz@example.org", "--site", "ES01", "--role", "monitor"))


def test_demo_loads_and_refuses_real_data(app, ctx):
    r = run(app, "demo")
    assert r.exit_code == 0, r.output
    assert "investigator.es01@demo.milenari.org" in r.output
    from edc.patients.models import Patient
    from edc.extensions import db
    from edc.sites.models import Site
    assert {s.code for s in db.session.query(Site)} == {"ES01", "IT01", "LB01", "JO01"}
    assert db.session.query(Patient).count() >= 8
    again = run(app, "demo")  # idempotent: prints the logins again, loads nothing
    assert again.exit_code == 0 and "investigator.es01@demo.milenari.org" in again.output
    assert db.session.query(Patient).count() == 12


def test_demo_refuses_database_with_real_data(app, ctx):
    run(app, "site", "add", "ES01", "--name", "Real", "--country", "ES", "--timezone",
        "Europe/Madrid")
    assert "real (non-demo) data" in one_line_error(run(app, "demo"))


def test_init_creates_private_keys(tmp_path):
    from edc import create_app
    app = create_app({"TESTING": True,
                      "DATABASE_URL": "sqlite:///" + str(tmp_path / "i" / "edc.sqlite")})
    app.instance_path = str(tmp_path / "i")
    r = app.test_cli_runner().invoke(args=["init"])
    assert r.exit_code == 0, r.output
    for name in ("config.py", "master.key", "signing.key"):
        mode = stat.S_IMODE(os.stat(tmp_path / "i" / name).st_mode)
        assert mode == 0o600, (name, oct(mode))
    text = (tmp_path / "i" / "config.py").read_text()
    assert "SECRET_KEY" in text and "testing" not in text
    # idempotent: a second run keeps the keys
    key = (tmp_path / "i" / "master.key").read_text()
    assert app.test_cli_runner().invoke(args=["init"]).exit_code == 0
    assert (tmp_path / "i" / "master.key").read_text() == key
    with app.app_context():
        from edc.extensions import db
        db.engine.dispose()


def test_config_order(tmp_path, monkeypatch):
    from edc import create_app
    inst = tmp_path / "inst"
    inst.mkdir()
    (inst / "config.py").write_text("LOGIN_LOCK_MINUTES = 20\nLOGIN_MAX_FAILURES = 7\n")
    monkeypatch.setenv("EDC_LOGIN_MAX_FAILURES", "9")
    import flask
    monkeypatch.setattr(flask.Flask, "auto_find_instance_path", lambda self: str(inst))
    app = create_app()
    assert app.config["PASSWORD_MIN_LENGTH"] == 12      # default
    assert app.config["LOGIN_LOCK_MINUTES"] == 20       # instance/config.py
    assert app.config["LOGIN_MAX_FAILURES"] == 9        # environment wins
