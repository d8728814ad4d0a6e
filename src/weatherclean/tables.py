"""Tables that fit the terminal they are printed on, and plain ones for screen readers and dumb terminals.

Why not Rich's own table layout: when a table's columns do not fit, Rich shrinks the columns that may wrap first,
down to nothing, and then cuts every column evenly: at 60 columns ``evaluate``'s "method" column vanished (rows of
scores without their labels), at 40 ``models list`` showed every ``desnownet-…`` name alike, and at 80 a model name
broke mid-word. :func:`fitted` lays a table out itself: every cell whole, no word cut (paths excepted, which are
folded rather than cut), and where even that cannot fit, the table is folded into one block per row, each value
under its row's name. Under ``TERM=dumb`` (:func:`plain_terminal`) a table is printed plain: no box characters,
one row per line, which a screen reader or a dumb terminal reads in order.
"""

from __future__ import annotations

import copy
import dataclasses
import os
from collections.abc import Iterable

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.segment import Segment
from rich.table import Column, Table
from rich.text import Text

#: A word longer than this in a column that folds (a path, a JSON config) may be broken to keep the table whole:
#: a path is there to be copied, and folding it costs less than folding the whole table.
FOLD_WORDS_OVER = 20

#: The narrowest width a table is laid out for (the CLI's own floor, ``weatherclean.cli.NARROWEST``): on a console
#: narrower still (``COLUMNS=1``, a console made with ``width=1``) it is laid out at this width and printed uncut,
#: for the terminal to wrap. Why: Rich laid the columns out at one character each, one letter a line, and the blocks
#: this module folds a table into were cut at the console's edge.
NARROWEST = 20


def plain_terminal() -> bool:
    """Whether output should be plain: ``TERM=dumb`` (or ``unknown``, as Rich takes it), set by Emacs' shell, some
    screen-reader setups and CI runners: no box characters in tables, no animated progress, one-line errors."""
    return os.environ.get("TERM", "").lower() in ("dumb", "unknown")


def fitted(table: Table, *, fold: bool = True) -> RenderableType:
    """``table`` laid out to fit the console it is printed on (see the module's docstring). With ``fold`` False a
    table too wide for the console is left to Rich's layout rather than folded into blocks: one whose every column
    folds its cells (the batch tables of file names), which Rich keeps whole and in its columns."""
    return _Fitted(table, fold)


class _Fitted:
    """The renderable :func:`fitted` returns: it decides at print time, when the width is known."""

    def __init__(self, table: Table, fold: bool = True) -> None:
        self.table = table
        self.fold = fold

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if options.max_width < NARROWEST:  # laid out, all of it, as on the narrowest console that is any use
            yield from console.render(self, options.update(width=NARROWEST))
            return
        table = _readable(self.table, console, options)
        if plain_terminal():
            yield from _plain(table, console, options)
            return
        widths = _widths(table, console, options)
        if widths is None:
            yield from _folded(table, console, options) if self.fold else [table]
            return
        fitted_table = copy.copy(table)
        fitted_table.columns = [
            dataclasses.replace(column, width=width, no_wrap=False, min_width=None, max_width=None)
            for column, width in zip(table.columns, widths, strict=True)
        ]
        yield fitted_table


def _text(console: Console, cell: RenderableType) -> Text:
    """A cell as Text (markup parsed, as the table would parse it)."""
    if isinstance(cell, Text):
        return cell
    if isinstance(cell, str):
        return console.render_str(cell, highlight=False)
    return Text(str(cell))


def _cells(column: Column) -> list[RenderableType]:
    return list(getattr(column, "_cells", []))


def _readable(table: Table, console: Console, options: ConsoleOptions) -> Table:
    """``table`` with each character the output's encoding cannot show already written as an escape (``\\xe9``):
    the stream escapes them on its own (``PYTHONIOENCODING=ascii``), but after the widths were computed, so the
    columns of rows with such names no longer lined up."""
    encoding = (options.encoding or "utf-8").lower().replace("-", "").replace("_", "")
    if encoding.startswith("utf"):
        return table

    def escape(cell: RenderableType) -> RenderableType:
        text = _text(console, cell)
        if text.plain.encode(options.encoding, "backslashreplace").decode(options.encoding) == text.plain:
            return text
        parts = [(seg.text.encode(options.encoding, "backslashreplace").decode(options.encoding), seg.style)
                 for seg in text.render(console)]  # fmt: skip
        return Text.assemble(*((part, style or "") for part, style in parts))

    escaped = copy.copy(table)
    escaped.title = escape(table.title) if table.title else table.title
    escaped.caption = escape(table.caption) if table.caption else table.caption
    escaped.columns = [
        dataclasses.replace(column, header=escape(column.header), _cells=[escape(c) for c in _cells(column)])
        for column in table.columns
    ]
    return escaped


def _width_of(text: Text) -> int:
    return max((Text(line).cell_len for line in text.plain.splitlines()), default=0)


def _longest_word(text: Text) -> int:
    return max((Text(word).cell_len for word in text.plain.split()), default=0)


def _widths(table: Table, console: Console, options: ConsoleOptions) -> list[int] | None:
    """Column widths (without padding) that show every cell whole on ``options.max_width`` columns, or None when
    no such widths exist (the table is then folded).

    A column that must not wrap (``no_wrap``: numbers, names) gets its widest cell, its header wrapping at spaces
    if need be; any other column gets at least its longest word (:data:`FOLD_WORDS_OVER` at most for a column that
    folds). What is left goes first to headers on one line, then to long words whole, then to the wrapping
    columns, up to what they need."""
    columns = table.columns
    padding = [table._get_padding_width(i) for i in range(len(columns))]
    room = options.max_width - table._extra_width - sum(padding)
    least, most, words = [], [], []
    for column in columns:
        header = _text(console, column.header) if table.show_header else Text()
        cells = [_text(console, c) for c in _cells(column)]
        widest = max((_width_of(c) for c in cells), default=0)
        if column.no_wrap:
            need = max(widest, _longest_word(header), 1)
            least.append(need)
            most.append(max(need, _width_of(header)))
            words.append(need)
            continue
        word = max([_longest_word(c) for c in cells] + [_longest_word(header), 1])
        words.append(word)
        least.append(min(word, FOLD_WORDS_OVER) if column.overflow == "fold" else word)
        most.append(max(word, widest, _width_of(header)))
    if sum(least) > room:
        return None
    widths = list(least)
    spare = room - sum(widths)
    for i, column in enumerate(columns):  # headers on one line first: they are short
        if column.no_wrap and spare > 0:
            grow = min(spare, most[i] - widths[i])
            widths[i] += grow
            spare -= grow
    for i in range(len(columns)):  # then long words (a path) whole, where the room allows
        grow = min(spare, max(words[i] - widths[i], 0))
        widths[i] += grow
        spare -= grow
    wanting = [i for i, column in enumerate(columns) if not column.no_wrap and most[i] > widths[i]]
    while spare > 0 and wanting:
        share = max(spare // len(wanting), 1)
        for i in list(wanting):
            grow = min(share, most[i] - widths[i], spare)
            widths[i] += grow
            spare -= grow
            if widths[i] >= most[i]:
                wanting.remove(i)
            if spare <= 0:
                break
    return widths


def _labels(table: Table) -> int:
    """How many leading columns name a row: those before the first right-aligned (number) column, or the first
    column alone where no column holds numbers."""
    for i, column in enumerate(table.columns):
        if column.justify == "right":
            return max(i, 1)
    return 1


def _rows(table: Table) -> Iterable[list[RenderableType]]:
    cells = [_cells(column) for column in table.columns]
    return ([column[r] if r < len(column) else "" for column in cells] for r in range(table.row_count))


def _header(console: Console, column: Column) -> str:
    return _text(console, column.header).plain


def _folded(table: Table, console: Console, options: ConsoleOptions) -> RenderResult:
    """The table as blocks, for a terminal too narrow for its columns: the title, then for each row its name
    (the label columns: all but the last as ``header value``) and under it, indented, ``header: value`` for each
    other cell that is not empty; then the caption. Nothing is cut: long values wrap, under their indent."""
    if table.title:
        yield Text(_text(console, table.title).plain, style="bold")
    labels = _labels(table)
    for row in _rows(table):
        indent = 0
        for i in range(labels):
            value = _text(console, row[i])
            if value.plain:
                named = i < labels - 1 and table.show_header
                shown = Text.assemble(_header(console, table.columns[i]) + " ", value) if named else value
                yield from _indented(console, options, shown, indent)
            indent += 2
        for i in range(labels, len(table.columns)):
            value = _text(console, row[i])
            if value.plain:
                name = _header(console, table.columns[i]) if table.show_header else ""
                yield from _indented(console, options, Text.assemble(f"{name}: " if name else "", value), indent)
    if table.caption:
        yield from _indented(console, options, _text(console, table.caption), 0)


def _indented(console: Console, options: ConsoleOptions, text: Text, indent: int) -> RenderResult:
    """``text`` wrapped at the console's width less ``indent``, each line indented, none cut (a word longer
    than a line is folded) and none padded with trailing spaces."""
    text = text.copy()
    text.overflow, text.justify, text.no_wrap = "fold", "left", False
    narrower = options.update(width=max(options.max_width - indent, 8))
    for line in console.render_lines(text, narrower, pad=False):
        while line and not line[-1].text.strip():
            line.pop()
        if line:
            last = line[-1]
            line[-1] = Segment(last.text.rstrip(), last.style, last.control)
        yield Segment(" " * indent)
        yield from line
        yield Segment.line()


def _plain(table: Table, console: Console, options: ConsoleOptions) -> RenderResult:
    """The table without box characters and one row per line (``TERM=dumb``): title and caption as lines of their
    own, the columns apart by two spaces, nothing wrapped (the terminal wraps a long line as it does any)."""
    if table.title:
        yield from _indented(console, options, _text(console, table.title), 0)
    plain = copy.copy(table)
    plain.title = plain.caption = None
    plain.box = None
    plain.show_edge = False
    plain.pad_edge = False
    plain.expand = False
    plain.padding = (0, 1)
    plain.columns = [
        dataclasses.replace(column, no_wrap=True, overflow="ignore", width=None, min_width=None, max_width=None)
        for column in table.columns
    ]
    yield _Unbounded(plain)
    if table.caption:
        yield from _indented(console, options, _text(console, table.caption), 0)


class _Unbounded:
    """A table drawn at its own full width whatever the console's, as plain lines: each row stays one line (what
    the console would cut past its width, :func:`print_table` prints uncut), with no trailing spaces."""

    def __init__(self, renderable: Table) -> None:
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        wide = options.update(width=10_000, no_wrap=True, overflow="ignore")
        for line in console.render_lines(self.renderable, wide, pad=False):
            yield Text("".join(segment.text for segment in line).rstrip(), no_wrap=True, overflow="ignore")


def print_table(console: Console, table: Table, *, fold: bool = True) -> None:
    """Print ``table`` on ``console`` as :func:`fitted` lays it out. Under ``TERM=dumb``, and on a console narrower
    than :data:`NARROWEST`, its lines are not cut at the console's width (``crop=False``): the terminal wraps them,
    and no row loses its end."""
    console.print(fitted(table, fold=fold), crop=not plain_terminal() and console.width >= NARROWEST)
