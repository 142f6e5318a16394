"""The audit log of predictions: the database and its migrations (``db``), the background writer
(``writer``) and reading it back (``read``). ``defaults`` holds the default URL and ``window`` parses time
windows, both without importing SQLAlchemy."""
