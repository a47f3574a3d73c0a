"""Run a few lines in a fresh Python and say which heavy packages they left imported: how the tests
check that a path stays cheap (a cached re-fill, the registry, the watch parser) never imports torch."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Iterable


def imported(code: str, watch: Iterable[str] = ("torch",), timeout: float = 120) -> list[str]:
    """The top-level packages among ``watch`` that are in ``sys.modules`` after ``code`` ran."""
    probe = (f"{code}\nimport sys as _sys, json as _json\n"
             f"print(_json.dumps(sorted({{m.split('.')[0] for m in _sys.modules}} & set({sorted(set(watch))!r}))))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])
