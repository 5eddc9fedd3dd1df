"""The CTO (comité technique opérationnel) and the steering of the offer: levers
for blocked situations, committees, coverage gaps, unmet demand, dashboard."""
