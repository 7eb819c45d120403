"""``ge._messages``: the texts of CANN's own errors, written once and raised as CANN
raises them."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any, Callable

import pytest

import ge
from ge import _messages

PACKAGE = Path(ge.__file__).resolve().parent
MESSAGES = {
    name: value
    for name, value in vars(_messages).items()
    if name.isupper() and isinstance(value, str)
}


def _string_literals(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def test_no_module_writes_a_message_again() -> None:
    again = {
        (str(path.relative_to(PACKAGE)), text)
        for path in PACKAGE.rglob("*.py")
        if path.name != "_messages.py"
        for text in _string_literals(path) & set(MESSAGES.values())
    }
    assert again == set()


def test_every_message_is_raised_somewhere() -> None:
    used = set()
    for path in PACKAGE.rglob("*.py"):
        if path.name != "_messages.py":
            text = path.read_text(encoding="utf-8")
            used |= {name for name in MESSAGES if f"_messages.{name}" in text}
    assert used == set(MESSAGES)


def test_the_texts_are_cann_s() -> None:
    assert MESSAGES["SESSION_OPTIONS"] == "option must be a dictionary"
    assert MESSAGES["GRAPH_OPTIONS"] == "options must be a dictionary"
    assert MESSAGES["GRAPH_ID"] == "Graph_id must be an integer"
    assert MESSAGES["GE_INIT_CONFIG"] == "Ge init config must be a dictionary"
    assert MESSAGES["INPUTS_TENSORS"] == "All elements in inputs must be the type of Tensor"
    assert MESSAGES["RUN_STREAM"] == "Stream must be an integer"
    assert MESSAGES["ALLOCATOR_STREAM"] == "stream must be an integer"


def _calls() -> list[tuple[str, Callable[[], Any]]]:
    from ge.es import GraphBuilder
    from ge.ge_global import GeApi
    from ge.graph import Graph

    return [
        ("SESSION_OPTIONS", lambda: ge.Session([])),  # type: ignore[arg-type]
        ("GE_INIT_CONFIG", lambda: GeApi.ge_initialize([])),  # type: ignore[arg-type]
        ("GE_INIT_CONFIG", lambda: ge.initialize([])),  # type: ignore[arg-type]
        ("GE_INIT_CONFIG_EMPTY", lambda: GeApi.ge_initialize({})),
        ("SESSION_ID", lambda: ge.has_session("1")),  # type: ignore[arg-type]
        ("GRAPH_NAME", lambda: Graph(1)),  # type: ignore[arg-type]
        ("GRAPH_NAME", lambda: GraphBuilder(1)),  # type: ignore[arg-type]
    ]


@pytest.mark.parametrize(("name", "call"), _calls())
def test_a_message_is_raised_word_for_word(name: str, call: Callable[[], Any]) -> None:
    with pytest.raises(TypeError) as info:
        call()
    assert str(info.value) == MESSAGES[name]
