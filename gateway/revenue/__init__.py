"""Revenue figures computed from billing facts: pure functions, no I/O.

The schema feeds these with facts built from Lago's objects (:mod:`gateway.revenue.facts`);
every figure is per currency (amounts in different currencies are never added) and money is
integer minor units (cents), rounded once per figure from exact fractions.
"""
