"""Snapshot writers: CSV (wide and long), codebook, CDISC ODM 1.3.2, SAS/Stata/SPSS.

Every writer is deterministic: the same data give byte-identical files (no wall-clock
times inside: the snapshot's lock time stands in for "created").
"""
