#!/usr/bin/env python3
"""How long the motion-photo and extended-XMP searches take on long XMP packets (``io/images/motion.py``,
``io/images/jpegsegments.py``): linear in the packet's length since the security audit of 2026-12-07, where a
200 KB packet of letters took a minute.

    python benchmarks/xmp_search.py            # 40, 200 and 400 KB packets, median of 5 runs

Each packet goes through every search a photo's XMP meets on loading and saving. Run by hand; it is not a test
(``tests/test_security_models.py`` only guards against the old minutes).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from run_all import machine_line
from timing import median_seconds  # benchmarks/timing.py, beside this script

from weatherclean.io.images import jpegsegments, motion

KINDS = {
    "letters": lambda n: b"A" * n,
    "unclosed tags": lambda n: b"<a:Item " * (n // 8),
    "unclosed directories": lambda n: b"<a:Directory>" * (n // 13),
}


def _searches(xmp: bytes) -> None:
    motion.names_video(xmp)
    motion.has_heif_motion_video(Path("none.avif"), xmp)
    motion.without_motion_xmp(xmp)
    motion.without_directory(xmp)
    jpegsegments.without_extended_xmp_pointer(xmp)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(machine_line("cpu"))
    print("| packet | 40 KB (s) | 200 KB (s) | 400 KB (s) |")
    print("|---|---|---|---|")
    for name, make in KINDS.items():
        times = [median_seconds(lambda x=make(kb * 1000): _searches(x), args.runs) for kb in (40, 200, 400)]
        print(f"| {name} | " + " | ".join(f"{t:.3f}" for t in times) + " |")


if __name__ == "__main__":
    main()
