"""``uptake compare``: a leaderboard on identical folds.

``catalogue`` (the models it knows, cheap to import: the CLI reads it for ``--help``),
``cv`` (folds and fitting), ``leaderboard`` (means, spreads, paired differences) and
``outputs`` (the JSON, CSV and PNG files).
"""
