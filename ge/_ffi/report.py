"""The structured report of ``ge._ffi.describe()``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

REQUIRED_GROUPS = ("acl", "ge", "graph", "builder", "ops")
"""The groups GE and ACL need; ``stub`` is only for the stand-in's tests."""


@dataclass
class GroupReport:
    """One library group: the files loaded, or every path tried and why it failed."""

    group: str
    paths: list[str]
    attempts: list[tuple[str, str]]
    error: Optional[str]
    missing: list[str] = field(default_factory=list)
    missing_optional: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Loaded, with every required symbol present."""
        return self.error is None and not self.missing


@dataclass
class FfiReport:
    """Per library group, what was found."""

    groups: list[GroupReport]

    def group(self, name: str) -> GroupReport:
        """The report of one group by name."""
        for report in self.groups:
            if report.group == name:
                return report
        raise KeyError(name)

    @property
    def ok(self) -> bool:
        """Every group GE and ACL need is loaded with all its required symbols."""
        return all(self.group(name).ok for name in REQUIRED_GROUPS)
