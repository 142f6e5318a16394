"""Scoring on a dask.distributed cluster: the client (``client``) and what runs on workers (``worker``)."""
