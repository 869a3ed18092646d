"""Errors a user can fix. The CLI prints them one per line and exits with code 2."""

from __future__ import annotations


class UserError(Exception):
    """Bad input: each message names the file, the field and the fix."""

    def __init__(self, errors: list[str] | str):
        self.errors = [errors] if isinstance(errors, str) else list(errors)
        super().__init__("\n".join(self.errors))
