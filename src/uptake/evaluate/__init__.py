"""Judging models: a saved model on labelled rows (``labelled``), and models against each other (``compare``)."""
