"""Where ``synth snow`` and ``synth rain`` write a dataset folder (OUT_DIR), and resume it.

The CLI only turns options into one call here, :func:`write_snow_dataset` or :func:`write_rain_dataset`,
and prints what it reports; any script can make the same dataset with the same call. Three rules hold:

- **One run per OUT_DIR.** Its record says which command and options made it and from which photos: the
  same command resumes it, any other run is refused before any work, and ``overwrite`` first removes the
  earlier run's outputs (only those its record names, in synth's own folders). Without a record nothing is
  removed, ``overwrite`` or not; a synth folder that is a symbolic link (``gt`` linked to the photos) is
  refused, and no removal follows a link out of OUT_DIR's own folders.
- **Whole items.** An item (a picture's set of files, or a clip's folders) is written to hidden temporaries
  and moved into place together, the weather picture last, so a reader never sees half an item.
- **Resume.** ``synth.progress.jsonl`` records the run's options and each finished item while it runs; the
  same call after Ctrl-C (or a full disk) makes only what is missing, the same files an uninterrupted run
  makes, and ``synth.json`` replaces it at the end.

Where things are:

- :mod:`.inputs`: CLEAN_DIR's photos and their output names, and whether the pictures fit in memory;
- :mod:`.items`: one item's 8-bit arrays, whose weather model holds on disk;
- :mod:`.record`: OUT_DIR's record of its run, and the plan a new run makes from it;
- :mod:`.write`: the run, item by item, into place.

Errors a user can act on are :class:`~weatherclean.errors.InputError` and
:class:`~weatherclean.errors.OutputError`, each with a one-line message. NumPy, Pillow and the weather models
are imported inside the functions that use them, so that reading a record stays quick.
"""

from weatherclean.synth.dataset.inputs import BYTES_PER_PIXEL, MAX_FRAME_PIXELS, check_view
from weatherclean.synth.dataset.items import make_rain_arrays, make_snow_pair
from weatherclean.synth.dataset.record import PROGRESS_NAME, RAIN_FOLDERS, RECORD_NAME, SNOW_FOLDERS, read_record
from weatherclean.synth.dataset.write import (
    SSIM_SIDE,
    Outcome,
    Reporter,
    style_label,
    write_rain_dataset,
    write_snow_dataset,
)  # fmt: skip

__all__ = [
    "BYTES_PER_PIXEL", "MAX_FRAME_PIXELS", "PROGRESS_NAME", "RAIN_FOLDERS", "RECORD_NAME", "SNOW_FOLDERS", "SSIM_SIDE",
    "Outcome", "Reporter", "check_view", "make_rain_arrays", "make_snow_pair", "read_record", "style_label",
    "write_rain_dataset", "write_snow_dataset",
]  # fmt: skip
