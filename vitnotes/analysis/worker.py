"""The weight/image pass in a child process: ``python -m vitnotes.analysis.worker``.

A cold run that needs the real model spends ~2-3 s importing torch and timm on one core while
the machine's other core idles. `analyze` then starts this worker first, so the real forward
(its own import included) runs beside the meta-device structural pass instead of after it.
Protocol: one AnalysisRequest as one JSON line on stdin; one JSON object on stdout, either
``{"figures": {field: value}}`` or ``{"error": "WeightsError", "message": ..., "hint": ...}``.
Progress lines go to stderr unchanged. The parent keeps stdin open while it lives: the worker
dies with it (end of file on stdin, and on Linux the kernel's PR_SET_PDEATHSIG), so a killed
`fill` leaves no process behind.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from dataclasses import asdict, is_dataclass
from types import SimpleNamespace
from typing import Any, cast

from vitnotes import errors
from vitnotes.analysis.report import Report
from vitnotes.analysis.request import AnalysisRequest


def request_to_json(req: AnalysisRequest) -> str:
    return json.dumps(asdict(req))


def request_from_json(text: str) -> AnalysisRequest:
    data = json.loads(text)
    for key in ("sections", "scaling_sizes"):
        data[key] = tuple(data[key])
    return AnalysisRequest(**data)


def error_from_json(data: dict) -> errors.VitnotesError:
    cls = getattr(errors, str(data.get("error", "")), None)
    if not (isinstance(cls, type) and issubclass(cls, errors.VitnotesError)):
        cls = errors.VitnotesError
    return cls(data.get("message", "the weight/image pass failed"), data.get("hint"), data.get("request_field"))


def figure_fields(req: AnalysisRequest, progress=None) -> dict:
    """Run the weight/image pass and return just the fields it sets (dataclasses or None)."""
    from vitnotes.analysis.figures_data import add_figure_data
    from vitnotes.sections import figure_fields

    # What the weight/image pass adds to a Report: the fields the section registry names.
    holder = SimpleNamespace(**{name: None for name in figure_fields()})
    holder.unavailable = {}
    holder.weights_error = ""
    add_figure_data(cast(Report, holder), req, progress=progress)  # duck-typed: only these fields are set
    return vars(holder)


def _die_with_parent() -> None:
    """Exit as soon as the parent is gone: SIGKILL from the kernel (Linux), or stdin's end of file."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass

    def watch_stdin() -> None:
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except (OSError, ValueError):
            pass
        os._exit(3)  # the parent closed its end or died: nobody wants the answer

    threading.Thread(target=watch_stdin, name="parent-watchdog", daemon=True).start()


def main() -> int:
    line = sys.stdin.buffer.readline()
    if not line.strip():
        return 3  # the parent died before sending the request
    _die_with_parent()
    req = request_from_json(line.decode("utf-8"))

    def progress(msg: str) -> None:
        sys.stderr.write(msg + "\n")
        sys.stderr.flush()

    try:
        out: dict[str, Any] = {"figures": figure_fields(req, progress)}
    except errors.VitnotesError as exc:
        out = {"error": type(exc).__name__, "message": exc.message, "hint": exc.hint,
               "request_field": exc.request_field}
    # A dataclass's __dict__ is its asdict() without the deep copy (these hold big number lists).
    sys.stdout.write(json.dumps(out, default=lambda obj: obj.__dict__ if is_dataclass(obj) else str(obj)))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    code = main()
    sys.stderr.flush()
    # The parent reads until EOF, which comes only when this process is gone, and tearing down an
    # interpreter with torch loaded takes about a second: nothing is left to save, so leave now.
    os._exit(code)
