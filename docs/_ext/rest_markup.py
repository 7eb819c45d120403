"""A griffe extension for this site: the reST markup of the package's docstrings
in Markdown.

The docstrings of ``ge`` are written for reading in a terminal and in Sphinx:
they use roles such as ``:func:`select_backend``` and literal blocks introduced
by ``::``. Markdown would show both as they are typed. This extension rewrites,
while griffe loads each docstring (the source files are not touched):

* a role ``:kind:`target``` (or ``:kind:`~pkg.mod.target```, shown as
  ``target``) into the code span ``target``;
* a paragraph ending in ``::`` into one ending in ``:`` (the indented block
  after it is already a Markdown code block).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|attr|mod|data|exc|obj|const):`(~?)([^`]+)`")
_LITERAL_INTRO = re.compile(r"::$", flags=re.MULTILINE)


def _role(match: re.Match[str]) -> str:
    tilde, target = match.groups()
    if tilde:
        target = target.rsplit(".", 1)[-1]
    return f"``{target}``"


def to_markdown(text: str) -> str:
    """``text`` with its reST roles and ``::`` literal-block intros made Markdown."""
    text = _ROLE.sub(_role, text)
    return _LITERAL_INTRO.sub(":", text)


class RestMarkup(griffe.Extension):
    """Rewrites each docstring as :func:`to_markdown` says, once, on load."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = to_markdown(obj.docstring.value)
