"""Errors a user sees: one line that names the problem and the fix, never a traceback."""


class VitnotesError(Exception):
    """A problem with the user's input. ``exit_code`` 2 = bad input, 1 = failed work."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None, request_field: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        # The AnalysisRequest field the problem is in (e.g. "weights"): the analyzer describes the
        # request; the caller says where that field came from (see ``for_note``).
        self.request_field = request_field

    def __str__(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message


def for_note(exc: VitnotesError) -> VitnotesError:
    """``exc`` as a note's author reads it: a bad request field without a hint points at its frontmatter key."""
    if exc.request_field and not exc.hint:
        exc.hint = f"check `{exc.request_field}:` in the note's frontmatter"
    return exc


def first_line(exc: BaseException) -> str:
    """The first line of ``exc``'s message (or its type name when it has none), for one-line errors."""
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


class SpecError(VitnotesError):
    """The note's `vitnotes:` frontmatter (or a CLI option) is invalid; the message names the key."""


class ModelError(VitnotesError):
    """timm cannot build the model (unknown name, bad kwargs)."""


class WeightsError(VitnotesError):
    """A weights file is missing, corrupt, or does not fit the model."""


class NoteError(VitnotesError):
    """The note cannot be read or safely rewritten (markers, encoding, path outside the vault)."""
