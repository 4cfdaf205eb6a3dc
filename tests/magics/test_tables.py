"""The result views of eolab.widgets.tables: escaped HTML and aligned text."""

from __future__ import annotations

from datetime import datetime

import pytest

from eolab.widgets import Highlighted, Properties, Stack, Table
from eolab.widgets.tables import cell_text


def test_text_is_aligned_with_numbers_to_the_right() -> None:
    table = Table(("name", "size"), [("a.tif", 5), ("longer.tif", 1234)], "files")
    assert repr(table).splitlines() == [
        "files",
        "name        size",
        "----------  ----",
        "a.tif          5",
        "longer.tif  1234",
    ]
    assert str(table) == repr(table)


def test_html_escapes_every_value_and_the_headers() -> None:
    table = Table(("<th>",), [("<script>alert('x')</script>",)], "<b>title</b>")
    html = table._repr_html_()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "&lt;th&gt;" in html and "&lt;b&gt;title&lt;/b&gt;" in html
    assert "<script>" not in html and "<b>title" not in html


def test_an_empty_table_says_so() -> None:
    table = Table(("name",), [], empty="(no datasets)")
    assert len(table) == 0
    assert repr(table).splitlines()[-1] == "(no datasets)"
    assert "(no datasets)" in table._repr_html_()


def test_long_and_multi_line_text_stays_on_one_line_in_text_only() -> None:
    table = Table(("description",), [("line one\nline two " + "x" * 100,)])
    row = repr(table).splitlines()[-1]
    assert row.startswith("line one line two") and row.endswith("…") and len(row) == 80
    assert "x" * 100 in table._repr_html_()


def test_a_row_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="2 cells for 1 columns"):
        Table(("a",), [(1, 2)])


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (True, "yes"),
        (datetime(2024, 5, 1, 12, 30, 5, 999), "2024-05-01 12:30:05"),
        ({"name": "é", "n": [1]}, '{"name": "é", "n": [1]}'),
        (0.5, "0.5"),
    ],
)
def test_cell_text(value: object, text: str) -> None:
    assert cell_text(value) == text


def test_highlighted_text_marks_its_spans_and_escapes_the_rest() -> None:
    marked = Highlighted("<i>iceberg</i> & ship", ((3, 10), (17, 21)))
    assert marked.html() == "&lt;i&gt;<mark>iceberg</mark>&lt;/i&gt; &amp; <mark>ship</mark>"
    assert str(marked) == "<i>iceberg</i> & ship"
    assert "<mark>iceberg</mark>" in Table(("d",), [(marked,)])._repr_html_()


def test_properties_and_a_stack_of_views() -> None:
    props = Properties([("owner", "alice"), ("your role", "<data_owner>")], title="project P")
    assert props["your role"] == "<data_owner>"
    assert repr(props).splitlines() == [
        "project P",
        "  owner      alice",
        "  your role  <data_owner>",
    ]
    assert "&lt;data_owner&gt;" in props._repr_html_()
    stack = Stack(props, Table(("member",), [("alice",)]))
    assert repr(stack) == repr(props) + "\n\n" + repr(stack.parts[1])
    assert stack._repr_html_().count("<table") == 2
