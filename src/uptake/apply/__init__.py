"""Scoring files of any size: chunked scoring, exact ranks, local streaming (``stream``) and Dask (``dask``).

``uptake.apply.dask`` is imported only by ``--engine dask``: plain scoring never loads ``distributed``.
"""
