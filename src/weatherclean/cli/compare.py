"""``weatherclean compare BEFORE AFTER -o sheet.compare.jpg``: a contact sheet of originals beside their results.

``desnow``/``derain --compare`` show each result as it is made; this command looks at a whole batch
afterwards, including one made without ``--compare`` or on another machine. Files pair up by their path
inside the two folders, whatever their extension (``--format`` changes it); the pictures come from
:mod:`weatherclean.io.compare`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from weatherclean.cli.common import EXIT_SOME_FAILED, cli_errors, console, err_console, print_error
from weatherclean.errors import InputError, OutputError, WeathercleanError, folder_not_file
from weatherclean.io.folders import file_line, printable, shown

#: Names shown in a note before "and N more".
_LISTED = 5


def register(app: typer.Typer) -> None:
    """Add ``compare`` to the root app."""
    app.command("compare")(compare_command)


@cli_errors
def compare_command(
    before: Annotated[
        Path,
        typer.Argument(
            help="The originals: a folder (searched recursively), or one photo or video.", show_default=False
        ),
    ],
    after: Annotated[
        Path,
        typer.Argument(
            help="The results of desnow or derain for BEFORE: their output folder, or one file.", show_default=False
        ),
    ],  # fmt: skip
    output: Annotated[
        Path,
        typer.Option(
            "-o",
            "--output",
            metavar="FILE",
            help="The sheet to write: .jpg, .png or .webp. The default's .compare.jpg ending keeps desnow, derain "
            "and compare from ever reading it as a photo.",
        ),
    ] = Path("sheet.compare.jpg"),  # fmt: skip
    limit: Annotated[
        int,
        typer.Option(
            "--limit",
            min=1,
            metavar="N",
            help="At most N pairs, the first N by path; a line at the foot of the sheet counts the rest. A sheet "
            "holds at most about 185 rows as .jpg or .png, 46 as .webp (the formats' size limits), whatever N.",
        ),
    ] = 50,  # fmt: skip
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace FILE if it exists.")] = False,
) -> None:
    """Make a contact sheet: each photo or video of BEFORE beside its result in AFTER, one row each.

    Files pair up by their path inside each folder, whatever the extension; videos show their middle frame.

    Exit code 0 when every file on the sheet could be read (pairs left off it are counted at its foot), 1
    when some file could not be read (the sheet is still written), 2 when nothing could run.
    """
    from weatherclean.io import compare as pictures  # the image stack: only when a sheet is made
    from weatherclean.io.folders import check_writable_folders
    from weatherclean.io.permissions import common_mode, new_files_like

    # The inputs first: a sheet left from before must not hide a typo in BEFORE or AFTER. pair_files checks
    # them itself (check_pair, for API users too) before it walks the folders, so that is the one check.
    pairs, only_before, only_after = pictures.pair_files(before, after)
    if not pairs:
        raise InputError(
            f"{shown(after)}: holds no result for any photo or video of {before} (files pair up by their path "
            "inside each folder, any extension)"
        )
    if output.suffix.lower() not in (".jpg", ".jpeg", ".png", ".webp"):
        raise OutputError(f"{shown(output)}: the sheet is a picture; name it .jpg, .png or .webp")
    if output.is_dir():
        raise OutputError(f"{shown(output)}: {folder_not_file('a picture file')}; give the sheet a file name")
    if output.exists() and not overwrite:
        raise OutputError(f"{shown(output)}: exists; pass --overwrite to replace it, or choose another -o FILE")
    check_writable_folders([output.parent.resolve()], given=output.parent, hint="choose another -o FILE")
    room = pictures.rows_that_fit(output)
    on_sheet = pairs[: min(limit, room)]
    rows, failed = [], []
    for name, original, result in on_sheet:
        previews = []
        for path in (original, result):
            try:
                previews.append(pictures.preview(path))
            except WeathercleanError as exc:
                failed.append(_error_line(path, str(exc)))
                previews.append(None)
        rows.append((name, previews[0], previews[1]))
    more = len(pairs) - len(on_sheet)
    foot = ""
    if more and len(on_sheet) < limit:  # the format, not --limit, cut the sheet short
        foot = f"{more} more pair(s) not shown (a {output.suffix} sheet holds at most {room} rows)"
    elif more:
        foot = f"{more} more pair(s) not shown (--limit {limit})"
    # The sheet shows every picture on it: it gets the permissions they all share, less the umask, so a private
    # 0600 photo never ends up on a sheet that others may open (as desnow's --compare picture takes its photo's).
    shown_paths = [path for _, original, result in on_sheet for path in (original, result)]
    with new_files_like(common_mode(shown_paths)):
        pictures.save_picture(pictures.contact_sheet(rows, note=foot), output)
    for where, names in ((before, only_before), (after, only_after)):
        if names:
            listed = ", ".join(shown(n) for n in names[:_LISTED])
            listed += f" and {len(names) - _LISTED} more" if len(names) > _LISTED else ""
            err_console.print(
                f"[cyan]note:[/] {len(names)} file(s) only in {escape(shown(where))}: {escape(listed)}",
                highlight=False, soft_wrap=True,
            )  # fmt: skip
    for line in failed:
        print_error(line)
    console.print(f"{escape(shown(output))}: {len(on_sheet)} pair(s){f'; {foot}' if foot else ''}", highlight=False)
    if failed:
        raise typer.Exit(EXIT_SOME_FAILED)


def _error_line(path: Path, message: str) -> str:
    """The line ``error:`` prints for a file that could not be read: its path as desnow's error lines show it
    (:func:`~weatherclean.io.folders.shown`, quoted ``$'...'`` where it holds a newline, an escape sequence or bytes
    that are not UTF-8), then the reason, escaped (:func:`~weatherclean.io.folders.printable`). Why: the readers'
    messages name the path as it is, and printed raw a name's escape sequence reached the terminal, a newline
    split the line, and an undecodable byte showed as ``\\udcXX``."""
    head = f"{path}: "
    if not message.startswith(head):
        return printable(message)
    return file_line(path, message[len(head) :])
