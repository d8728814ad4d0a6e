"""``errors.one_line``: a long message keeps its reason, which most messages put at the end."""

from __future__ import annotations

from weatherclean.errors import one_line


def test_a_long_message_loses_its_middle_not_its_reason() -> None:
    message = "/tmp/" + "a" * 300 + ".jpg.compare.jpg: cannot write (File name too long)"
    shown = one_line(OSError(message))
    assert len(shown) == 160
    assert shown.startswith("/tmp/aaa") and shown.endswith(": cannot write (File name too long)") and "…" in shown


def test_a_short_message_is_only_put_on_one_line() -> None:
    assert one_line(ValueError("cannot\n  decode\tthis")) == "cannot decode this"
    assert one_line(ValueError("")) == "ValueError"
    assert len(one_line(ValueError("x" * 121), 120)) == 120
