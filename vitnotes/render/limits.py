"""Bounds for rendering a vault's own templates: a time limit and no giant values.

Jinja2's sandbox stops a template from reaching Python internals, but not from looping:
``{% for i in range(99999) %}{% for j in range(99999) %}…`` runs for hours, and ``'x' * 10**10``
asks for 10 GB. A template is compiled Python code, so the limit is a per-thread trace function
that looks at the clock on the template's own lines (only there: the rest of vitnotes runs
untraced) and raises ``TemplateLimit`` once the deadline has passed; ``BoundedSandbox`` refuses
arithmetic that would build a huge value. Per thread, so it also bounds the daemon's worker.
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from typing import Any, Iterator

from jinja2.sandbox import SandboxedEnvironment, SecurityError

RENDER_SECONDS = 5.0  # all of a note's templates render in milliseconds
MAX_REPEAT = 1_000_000  # 'x' * n, [..] * n
MAX_EXPONENT = 1_000


class TemplateLimit(SecurityError):
    """A template ran past its time limit."""


def _is_template(code) -> bool:
    name = code.co_filename
    return name == "<template>" or name.endswith(".j2")


@contextmanager
def time_limit(seconds: float | None = None) -> Iterator[None]:
    """Raise TemplateLimit inside template code that is still running ``seconds`` (RENDER_SECONDS) from now."""
    seconds = RENDER_SECONDS if seconds is None else seconds
    deadline = time.monotonic() + seconds
    previous = sys.gettrace()

    def on_line(frame, event, arg):
        if time.monotonic() > deadline:
            raise TemplateLimit(f"a template ran longer than {seconds:g} s")
        return on_line

    def on_call(frame, event, arg):
        return on_line if _is_template(frame.f_code) else None

    sys.settrace(on_call)
    try:
        yield
    finally:
        sys.settrace(previous)


def _too_big(op: str, left: Any, right: Any) -> bool:
    if op == "*":
        for seq, n in ((left, right), (right, left)):
            if isinstance(seq, (str, list, tuple)) and isinstance(n, int) and n * max(len(seq), 1) > MAX_REPEAT:
                return True
    return op == "**" and isinstance(right, (int, float)) and abs(right) > MAX_EXPONENT


class BoundedSandbox(SandboxedEnvironment):
    """The sandbox, with ``*`` and ``**`` checked so a template cannot build a giant value."""

    intercepted_binops = frozenset(["*", "**"])

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:
        if _too_big(operator, left, right):
            raise SecurityError(f"a template asked for a value too large to build ({operator!r})")
        return super().call_binop(context, operator, left, right)
