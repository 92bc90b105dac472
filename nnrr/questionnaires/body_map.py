"""The clickable pain drawing: body outlines and the 32 regions of the ``IsPain*`` items.

Each view ("front", "back") is drawn in a ``0 0 200 440`` SVG viewBox: an outline (``OUTLINES``)
and, on top of it, one clickable shape per region (``REGIONS``, keyed by item id). The drawing
follows the clinical convention: seen from the front, the patient's right side is on the
viewer's left; seen from the back, it is on the viewer's right.

The outline is built from the points of the viewer's left half, mirrored, and smoothed with
Catmull-Rom splines, so a body part is moved by editing one point below.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.utils.translation import get_language

VIEWBOX = "0 0 200 440"
VIEWS = ("front", "back")
CENTRE_X = 100.0

Point = tuple[float, float]

# The viewer's left half of the silhouette, from under the head down the outside of the arm, up
# its inside, down the flank and the outside of the leg, round the foot and up to the crotch.
_OUTLINE_PARTS: tuple[tuple[Point, ...], ...] = (
    ((92, 50), (91, 64)),  # neck
    ((80, 70), (64, 75), (55, 83)),  # shoulder
    ((49, 100), (44, 122), (40, 146), (36, 170), (32, 194)),  # outside of the arm to the wrist
    ((28, 206), (26, 222), (30, 235), (38, 237), (44, 226), (46, 208)),  # hand
    ((50, 190), (54, 168), (58, 146), (61.5, 124), (64, 104)),  # inside of the arm to the armpit
    ((67, 120), (69, 145), (70, 168), (67, 190), (65, 212)),  # flank, waist, hip
    ((66, 240), (69, 270), (72, 300), (71, 330), (73, 365), (77, 398)),  # outside of the leg
    ((75, 412), (70, 424), (74, 432), (90, 433), (96, 426), (95, 410)),  # foot
    ((95, 380), (95, 340), (96, 305), (97, 270), (98, 240), (100, 226)),  # inside of the leg
)
_LEFT_HALF: tuple[Point, ...] = tuple(p for part in _OUTLINE_PARTS for p in part)

_HEAD = {"cx": 100, "cy": 30, "rx": 17, "ry": 21}


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _smooth_closed_path(points: Sequence[Point]) -> str:
    """Path data of a closed Catmull-Rom spline through ``points`` (as cubic Béziers)."""
    n = len(points)
    parts = [f"M{_fmt(points[0][0])} {_fmt(points[0][1])}"]
    for i in range(n):
        p0, p1, p2, p3 = (points[(i + k) % n] for k in (-1, 0, 1, 2))
        c1 = (p1[0] + (p2[0] - p0[0]) / 6, p1[1] + (p2[1] - p0[1]) / 6)
        c2 = (p2[0] - (p3[0] - p1[0]) / 6, p2[1] - (p3[1] - p1[1]) / 6)
        parts.append("C" + " ".join(f"{_fmt(x)} {_fmt(y)}" for x, y in (c1, c2, p2)))
    return "".join(parts) + "Z"


def _outline() -> str:
    right_half = [(2 * CENTRE_X - x, y) for x, y in reversed(_LEFT_HALF[:-1])]
    body = _smooth_closed_path([*_LEFT_HALF, *right_half])
    cx, cy, rx, ry = _HEAD["cx"], _HEAD["cy"], _HEAD["rx"], _HEAD["ry"]
    head = f"M{cx - rx} {cy}A{rx} {ry} 0 1 1 {cx + rx} {cy}A{rx} {ry} 0 1 1 {cx - rx} {cy}Z"
    return head + body


# Same silhouette both ways: the views differ in their regions and captions.
OUTLINES: dict[str, str] = {view: _outline() for view in VIEWS}

VIEW_LABELS: dict[str, tuple[str, str]] = {
    "front": ("Forfra", "Front"),
    "back": ("Bakfra", "Back"),
}


@dataclass(frozen=True)
class Region:
    """One clickable body region: its view, labels and SVG shape (``<tag **attrs/>``)."""

    view: str
    label_nb: str
    label_en: str
    tag: str
    attrs: dict[str, float | str] = field(hash=False)

    @property
    def label(self) -> str:
        lang = (get_language() or "nb")[:2]
        return self.label_en if lang == "en" else self.label_nb


def _ellipse(
    view: str,
    label_nb: str,
    label_en: str,
    cx: float,
    cy: float,
    rx: float,
    ry: float,
    tilt: float = 0,
) -> Region:
    attrs: dict[str, float | str] = {"cx": cx, "cy": cy, "rx": rx, "ry": ry}
    if tilt:
        attrs["transform"] = f"rotate({_fmt(tilt)} {_fmt(cx)} {_fmt(cy)})"
    return Region(view, label_nb, label_en, "ellipse", attrs)


def _mirror(x: float) -> float:
    return 2 * CENTRE_X - x


# Paired regions are placed on the viewer's left half and mirrored; "near" is the side on the
# viewer's left: the patient's right on the front view, the patient's left on the back view.
_ARM_TILT = 10.0  # the arms hang slightly outwards
_PAIRED: dict[str, tuple[str, str, float, float, float, float, float]] = {
    # part: (label_nb, label_en, cx, cy, rx, ry, tilt)
    "Shoulder": ("skulder", "shoulder", 65.5, 87, 9, 8.5, 0),
    "Arm": ("arm og albue", "arm and elbow", 49, 148, 8.5, 26, _ARM_TILT),
    "Hand": ("hånd og håndledd", "hand and wrist", 35.5, 220, 8.5, 13, 8),
    "HipsThighs": ("hofte og lår", "hip and thigh", 83, 250, 13, 30, 0),
    "Knee": ("kne", "knee", 84, 304, 10, 11, 0),
    "Feet": ("ankel og fot", "ankle and foot", 85, 416, 10, 13, 0),
}
_SIDE = {"Right": ("Høyre", "Right"), "Left": ("Venstre", "Left")}
_VIEW_SUFFIX = {"front": ("forfra", "front"), "back": ("bakfra", "back")}


def _paired_regions() -> dict[str, Region]:
    regions: dict[str, Region] = {}
    for part, (nb, en, cx, cy, rx, ry, tilt) in _PAIRED.items():
        for view in VIEWS:
            view_key = view.capitalize()
            near_side = "Right" if view == "front" else "Left"
            for side in ("Right", "Left"):
                near = side == near_side
                x = cx if near else _mirror(cx)
                side_nb, side_en = _SIDE[side]
                view_nb, view_en = _VIEW_SUFFIX[view]
                if part == "Knee" and view == "back":
                    label_nb, label_en = f"{side_nb} knehase", f"Back of {side_en.lower()} knee"
                else:
                    label_nb = f"{side_nb} {nb} ({view_nb})"
                    label_en = f"{side_en} {en} ({view_en})"
                regions[f"IsPain{part}{view_key}{side}"] = _ellipse(
                    view, label_nb, label_en, x, cy, rx, ry, tilt if near else -tilt
                )
    return regions


_MIDLINE: dict[str, Region] = {
    "IsPainHead": _ellipse("front", "Hodet (forfra)", "Head (front)", 100, 30, 13, 16),
    "IsPainBackHead": _ellipse("back", "Bakhodet", "Back of the head", 100, 30, 13, 16),
    "IsPainNeckFront": _ellipse("front", "Halsen", "Front of the neck", 100, 58.5, 8.5, 8),
    "IsPainNeckBack": _ellipse("back", "Nakken", "Back of the neck", 100, 58.5, 8.5, 8),
    "IsPainUpperStomach": _ellipse(
        "front", "Brystet og øvre del av magen", "Chest and upper abdomen", 100, 122, 27, 22
    ),
    "IsPainStomach": _ellipse("front", "Nedre del av magen", "Lower abdomen", 100, 180, 24, 20),
    "IsPainUpperBack": _ellipse("back", "Øvre del av ryggen", "Upper back", 100, 122, 27, 22),
    "IsPainLowBack": _ellipse("back", "Korsryggen", "Lower back", 100, 180, 24, 20),
}

REGIONS: dict[str, Region] = {**_MIDLINE, **_paired_regions()}
