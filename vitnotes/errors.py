"""Errors a user sees: one line that names the problem and the fix, never a traceback."""


class VitnotesError(Exception):
    """A problem with the user's input. ``exit_code`` 2 = bad input, 1 = failed work."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message


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
