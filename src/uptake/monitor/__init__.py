"""Monitoring after training: drift of new rows against the model's reference (``run``), as a page (``page``)."""
