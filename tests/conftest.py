"""Suite-wide settings.

Hypothesis's per-example deadline measures the machine as much as the code; on
a loaded two-core CI machine it turns slow examples into false failures, so the
suite runs without it (correctness is what the properties check).
"""
from hypothesis import settings

settings.register_profile("vtl", deadline=None)
settings.load_profile("vtl")
