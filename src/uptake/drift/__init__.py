"""Drift: the training reference profile (``profile``) and how new rows are compared with it (``compare``)."""
