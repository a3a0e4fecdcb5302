"""``flask --app edc pdf …``: printed records from the command line (pseudonymised only).

Registered by ``edc.cli.register_cli``; the commands run as the server's operator.
"""
from __future__ import annotations

import io
from pathlib import Path

import click
from flask.cli import AppGroup

from ..cli import cli_actor, friendly
from ..errors import ServiceError

pdf_cli = AppGroup("pdf", help="Printed records: CRF book, casebooks, query report.")


def _site(code: str):
    from ..sites.services import get_by_code
    site = get_by_code(code)
    if site is None:
        raise ServiceError(f"unknown site {code}")
    return site


def _write(output: str, buf: io.BytesIO) -> None:
    Path(output).write_bytes(buf.getvalue())  # only once the PDF is complete


@pdf_cli.command("crf-book")
@click.option("--lang", default="en", show_default=True, help="en, es, it or ar")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The PDF file to write")
@friendly
def crf_book(lang, output):
    """The blank annotated CRF book of the current definitions."""
    from .services import crf_book as make
    buf = io.BytesIO()
    pages = make(cli_actor(), lang, buf)
    _write(output, buf)
    click.echo(f"{output}: {pages} pages")


@pdf_cli.command("casebooks")
@click.option("--site", "site_code", required=True, help="Site code, e.g. ES01")
@click.option("--lang", default="en", show_default=True)
@click.option("-o", "--output", "directory", required=True, type=click.Path(file_okay=False),
              help="Directory for the zip file")
@friendly
def casebooks(site_code, lang, directory):
    """Every casebook of a site (pseudonymised) in one zip, one patient at a time."""
    from .services import site_casebooks
    res = site_casebooks(cli_actor(), _site(site_code), lang, directory)
    click.echo(f"{res.path}: {res.patients} casebooks, {res.pages} pages")


@pdf_cli.command("casebook")
@click.argument("pseudonym")
@click.option("--lang", default="en", show_default=True)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False))
@friendly
def casebook(pseudonym, lang, output):
    """One patient's casebook (pseudonymised)."""
    from sqlalchemy import select

    from ..extensions import db
    from ..patients.models import Patient
    from ..patients.pseudonym import normalise
    from .services import casebook as make
    patient = db.session.scalars(select(Patient).where(
        Patient.pseudonym == normalise(pseudonym))).first()
    if patient is None:
        raise ServiceError(f"unknown patient {pseudonym}")
    buf = io.BytesIO()
    pages = make(cli_actor(), patient, lang, buf)
    _write(output, buf)
    click.echo(f"{output}: {pages} pages")


@pdf_cli.command("query-report")
@click.option("--site", "site_code", required=True, help="Site code, e.g. ES01")
@click.option("--lang", default="en", show_default=True)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False))
@friendly
def query_report(site_code, lang, output):
    """Open and closed queries of a site, for a monitoring visit."""
    from .services import query_report as make
    buf = io.BytesIO()
    pages = make(cli_actor(), _site(site_code), lang, buf)
    _write(output, buf)
    click.echo(f"{output}: {pages} pages")
