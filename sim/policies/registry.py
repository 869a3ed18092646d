"""A tiny registry: a policy is one class plus one name."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Params(BaseModel):
    """Base of every policy's parameter model: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Registry(dict):
    """Maps a policy name to its class; `register` is a class decorator."""

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind

    def register(self, cls):
        if not getattr(cls, "name", None):
            raise TypeError(f"{cls.__name__} needs a `name`")
        self[cls.name] = cls
        return cls

    def lookup(self, name: str):
        try:
            return self[name]
        except KeyError:
            raise KeyError(f"unknown {self.kind} policy {name!r} "
                           f"(one of {', '.join(sorted(self))})") from None
