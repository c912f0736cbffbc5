"""Compare a page's screenshot with its committed reference image, within a tolerance.

``BACKOFFICE_UPDATE_SCREENSHOTS=1 pytest tests/browser/test_screenshots.py`` rewrites the
references (then look at them and commit them). A comparison that fails writes the new image
and a difference image beside the reference (``*.actual.png``, ``*.diff.png``, ignored by git).
"""

import os
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops

REFERENCES = Path(__file__).resolve().parent / "screenshots"
UPDATE = os.environ.get("BACKOFFICE_UPDATE_SCREENSHOTS", "") not in ("", "0")

PIXEL_THRESHOLD = 48
"""A pixel counts as changed when a colour channel moves by more than this (of 255): font
smoothing and image scaling differences stay under it; a moved box does not."""
CHANGED_SHARE = 0.005
"""The share of changed pixels a page may have (0.5 %): a line of text re-wrapped or a column
cut is more than this on every page we take."""


@dataclass(frozen=True)
class Comparison:
    name: str
    changed_share: float
    size: tuple[int, int]
    reference_size: tuple[int, int]

    @property
    def matches(self) -> bool:
        return self.size == self.reference_size and self.changed_share <= CHANGED_SHARE

    def explain(self) -> str:
        if self.size != self.reference_size:
            return (
                f"{self.name}: the page is {self.size[0]}x{self.size[1]} px, the reference "
                f"{self.reference_size[0]}x{self.reference_size[1]} px (layout changed)"
            )
        return (
            f"{self.name}: {self.changed_share:.2%} of pixels changed (at most "
            f"{CHANGED_SHARE:.2%} allowed); see {self.name}.diff.png"
        )


def compare(name: str, png: bytes) -> Comparison | None:
    """Compare ``png`` with the reference ``name``.png; None when the reference was rewritten
    (update mode). A missing reference fails: it is recorded only when asked to."""
    reference_path = REFERENCES / f"{name}.png"
    actual_path = REFERENCES / f"{name}.actual.png"
    diff_path = REFERENCES / f"{name}.diff.png"
    for leftover in (actual_path, diff_path):
        leftover.unlink(missing_ok=True)
    if UPDATE:
        reference_path.write_bytes(png)
        return None
    if not reference_path.exists():
        actual_path.write_bytes(png)
        raise AssertionError(
            f"no reference image {reference_path.name}: record it with "
            "BACKOFFICE_UPDATE_SCREENSHOTS=1, look at it, commit it"
        )
    actual_path.write_bytes(png)
    with Image.open(reference_path) as ref_file, Image.open(actual_path) as act_file:
        reference = ref_file.convert("RGB")
        actual = act_file.convert("RGB")
    if reference.size != actual.size:
        return Comparison(name, 1.0, actual.size, reference.size)
    difference = ImageChops.difference(reference, actual)
    changed = difference.convert("L").point(lambda v: 255 if v > PIXEL_THRESHOLD else 0)
    histogram = changed.histogram()
    share = histogram[255] / (actual.size[0] * actual.size[1])
    result = Comparison(name, share, actual.size, reference.size)
    if result.matches:
        actual_path.unlink()
    else:
        changed.save(diff_path)
    return result
