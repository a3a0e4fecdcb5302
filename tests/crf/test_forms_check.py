import shutil

import pytest
from helpers import register_patient

from edc import REPO_ROOT, create_app

FORMS = REPO_ROOT / "forms"


def test_real_forms_pass(app, ctx):
    r = app.test_cli_runner().invoke(args=["forms", "check"])
    assert r.exit_code == 0, r.output
    assert "15 forms" in r.output


def test_app_refuses_to_start_on_invalid_definition(tmp_path):
    bad = tmp_path / "forms"
    shutil.copytree(FORMS, bad)
    p = bad / "DM.yaml"
    p.write_text(p.read_text().replace("show_if:", "show_iff:", 1)
                 if "show_if:" in p.read_text() else
                 p.read_text().replace("required: true", "required: true\n        colour: red",
                                       1))
    with pytest.raises(SystemExit) as e:
        create_app({"TESTING": True, "FORMS_DIR": str(bad)})
    assert "DM.yaml:" in str(e.value) and "unknown key" in str(e.value)


def test_content_change_without_version_bump_refused(app, world, logged_in, tmp_path):
    from helpers import post
    pid = register_patient(app)
    c = logged_in("investigator")
    assert post(c, f"/patients/{pid}/forms/SCR/DM",
                {"BRTHYR": "2016", "action": "save"}).status_code == 302
    changed = tmp_path / "forms"
    shutil.copytree(FORMS, changed)
    p = changed / "DM.yaml"
    p.write_text(p.read_text().replace("title:", "title: Changed —", 1))
    app2 = create_app({"TESTING": True, "FORMS_DIR": str(changed),
                       "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
                       "MASTER_KEY": app.config["MASTER_KEY"]})
    with app2.app_context():
        r = app2.test_cli_runner().invoke(args=["forms", "check"])
        from edc.extensions import db
        db.session.remove()
        db.engine.dispose()
    assert r.exit_code == 1
    assert "DM.yaml: content changed but version 1 already has records" in r.output
