"""The checkout's own scripts (``make demo``, ``make e2e``, ``make test-compat``); not part of the wheel."""
