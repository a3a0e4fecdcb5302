"""Printed records (reportlab PDFs): the blank annotated CRF book, patient casebooks (one,
or a site's as a zip), and the query report of a site. See services.py."""
