"""Test-wide settings. Under CI, Hypothesis draws the same examples every run (derandomize), so a
counterexample found while developing is fixed in a test rather than surfacing as a random red CI;
locally each run explores new examples."""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
