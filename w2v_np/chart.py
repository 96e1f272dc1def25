"""A line chart drawn into a NumPy image: axes, grid, tick labels, anti-aliased curve and markers.

Enough for the loss curve a run writes after its epochs, without importing matplotlib
(whose import alone costs a fresh run more than drawing does).  Text uses a 5x7 bitmap font
scaled to whole pixels; lines and markers are anti-aliased by their pixels' distance to the
shape, so the picture is the same on every machine.
"""
import math

import numpy as np

WHITE = (255, 255, 255)
BLACK = (0, 0, 0)
GRID = (225, 225, 225)
BLUE = (31, 119, 180)

_FONT_ROWS = {
    "0": (".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."),
    "1": ("..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."),
    "2": (".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"),
    "3": ("#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."),
    "4": ("...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."),
    "5": ("#####", "#....", "####.", "....#", "....#", "#...#", ".###."),
    "6": ("..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."),
    "7": ("#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."),
    "8": (".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."),
    "9": (".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."),
    ".": (".....", ".....", ".....", ".....", ".....", ".##..", ".##.."),
    "-": (".....", ".....", ".....", "#####", ".....", ".....", "....."),
    " ": (".....",) * 7,
    "a": (".....", ".....", ".###.", "....#", ".####", "#...#", ".####"),
    "c": (".....", ".....", ".###.", "#....", "#....", "#...#", ".###."),
    "e": (".....", ".....", ".###.", "#...#", "#####", "#....", ".###."),
    "h": ("#....", "#....", "#.##.", "##..#", "#...#", "#...#", "#...#"),
    "l": (".##..", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."),
    "m": (".....", ".....", "##.#.", "#.#.#", "#.#.#", "#...#", "#...#"),
    "n": (".....", ".....", "#.##.", "##..#", "#...#", "#...#", "#...#"),
    "o": (".....", ".....", ".###.", "#...#", "#...#", "#...#", ".###."),
    "p": (".....", ".....", "####.", "#...#", "####.", "#....", "#...."),
    "s": (".....", ".....", ".####", "#....", ".###.", "....#", "####."),
}
FONT = {char: np.array([[c == "#" for c in row] for row in rows]) for char, rows in _FONT_ROWS.items()}
"""Each character the chart writes: a (7, 5) bool glyph."""
SCALE = 2
"""Pixels per font dot."""
ADVANCE = 6 * SCALE
"""Pixels from one character's left edge to the next one's."""
TEXT_HEIGHT = 7 * SCALE


def text_mask(text):
    """The pixels of ``text`` in the bitmap font: (TEXT_HEIGHT, ADVANCE * len(text)) bool."""
    unknown = sorted(set(text) - set(FONT))
    if unknown:
        raise ValueError(f"the chart's font has no glyph for {''.join(unknown)!r}")
    mask = np.zeros((7, 6 * len(text)), dtype=bool)
    for i, char in enumerate(text):
        mask[:, 6 * i:6 * i + 5] = FONT[char]
    return mask.repeat(SCALE, axis=0).repeat(SCALE, axis=1)


def nice_ticks(low, high, most=6):
    """Round tick values covering ``[low, high]``: steps of 1, 2 or 5 times a power of ten.

    Returns ``(ticks, decimals)``: at most ``most`` floats inside the range, and the digits after
    the point that tell them apart.
    """
    span = high - low
    power = 10.0 ** math.floor(math.log10(span / most))
    step = next(power * m for m in (1, 2, 5, 10) if span / (power * m) <= most)
    first = math.ceil(low / step - 1e-9)
    ticks = [(first + i) * step for i in range(int(math.floor(high / step + 1e-9)) - first + 1)]
    return ticks, max(0, -int(math.floor(math.log10(step) + 1e-9)))


class Canvas:
    """An RGB image being drawn on: ``pixels`` is (height, width, 3) uint8, rows from the top.

    Coordinates are floats in pixels, x to the right and y down; pixel (row r, column c)
    covers the unit square whose centre is (c, r).
    """

    def __init__(self, width, height, background=WHITE):
        self.pixels = np.empty((height, width, 3), dtype=np.uint8)
        self.pixels[:] = background

    def blend(self, top, left, coverage, colour):
        """Paint ``colour`` over the pixels from (top, left) in proportion to ``coverage``
        ((h, w) floats in [0, 1] or bool), clipped to the image."""
        height, width, _ = self.pixels.shape
        rows = slice(max(top, 0), min(top + coverage.shape[0], height))
        cols = slice(max(left, 0), min(left + coverage.shape[1], width))
        if rows.start >= rows.stop or cols.start >= cols.stop:
            return
        alpha = coverage[rows.start - top:rows.stop - top, cols.start - left:cols.stop - left, None]
        region = self.pixels[rows, cols].astype(np.float64)
        self.pixels[rows, cols] = np.rint(region + alpha * (np.asarray(colour, dtype=np.float64) - region))

    def _around(self, x0, y0, x1, y1, reach):
        """Pixel centres of the box around two points, widened by ``reach``: (top, left, xs, ys)."""
        left, top = int(math.floor(min(x0, x1) - reach)), int(math.floor(min(y0, y1) - reach))
        right, bottom = int(math.ceil(max(x0, x1) + reach)), int(math.ceil(max(y0, y1) + reach))
        ys, xs = np.mgrid[top:bottom + 1, left:right + 1].astype(np.float64)
        return top, left, xs, ys

    def segment(self, x0, y0, x1, y1, width, colour):
        """An anti-aliased straight line ``width`` pixels thick."""
        top, left, xs, ys = self._around(x0, y0, x1, y1, width)
        dx, dy = x1 - x0, y1 - y0
        length2 = dx * dx + dy * dy
        t = np.clip(((xs - x0) * dx + (ys - y0) * dy) / length2, 0.0, 1.0) if length2 else 0.0
        distance = np.hypot(xs - (x0 + t * dx), ys - (y0 + t * dy))
        self.blend(top, left, np.clip(width / 2 + 0.5 - distance, 0.0, 1.0), colour)

    def disc(self, x, y, radius, colour):
        """An anti-aliased filled circle."""
        top, left, xs, ys = self._around(x, y, x, y, radius + 1)
        self.blend(top, left, np.clip(radius + 0.5 - np.hypot(xs - x, ys - y), 0.0, 1.0), colour)

    def text(self, x, y, text, colour=BLACK, anchor="left", vertical=False):
        """Write ``text`` with its top at ``y``; ``anchor`` (left, centre, right) says where ``x``
        falls along it.  ``vertical`` turns it a quarter anticlockwise (reads bottom to top),
        centred on (x, y)."""
        mask = text_mask(text)
        if vertical:
            mask = np.rot90(mask)
            self.blend(int(round(y - mask.shape[0] / 2)), int(round(x - mask.shape[1] / 2)), mask, colour)
            return
        shift = {"left": 0, "centre": mask.shape[1] // 2, "right": mask.shape[1]}[anchor]
        self.blend(int(round(y)), int(round(x)) - shift, mask, colour)


def line_chart(xs, ys, *, xlabel, ylabel, width=500, height=350, integer_x=True):
    """Draw the curve through the points (xs[i], ys[i]) with markers, axes and labelled ticks.

    Args: xs, ys, sequences of finite numbers of the same length (at least one); xlabel and
    ylabel, text in :data:`FONT`'s characters; ``integer_x`` keeps x ticks on whole numbers.
    Returns: (height, width, 3) uint8 RGB pixels.
    """
    xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    if xs.shape != ys.shape or xs.ndim != 1 or xs.size == 0 or not np.all(np.isfinite(xs) & np.isfinite(ys)):
        raise ValueError("a line chart needs as many finite x as y values, at least one")
    canvas = Canvas(width, height)
    left, right, top, bottom = 100, width - 20, 20, height - 60
    x_low, x_high = _padded(xs.min(), xs.max(), whole=integer_x)
    y_low, y_high = _padded(ys.min(), ys.max(), whole=False)

    def at(x, y):
        return (left + (x - x_low) / (x_high - x_low) * (right - left),
                bottom - (y - y_low) / (y_high - y_low) * (bottom - top))

    y_ticks, y_decimals = nice_ticks(y_low, y_high)
    x_ticks, x_decimals = nice_ticks(x_low, x_high, most=10)
    if integer_x:
        x_ticks = sorted({round(t) for t in x_ticks if abs(t - round(t)) < 1e-6 and xs.min() <= t <= xs.max()})
        x_decimals = 0
    for value in y_ticks:
        row = int(round(at(x_low, value)[1]))
        canvas.pixels[row, left:right + 1] = GRID
        canvas.pixels[row, left - 5:left] = BLACK
        canvas.text(left - 8, row - TEXT_HEIGHT // 2, f"{value:.{y_decimals}f}", anchor="right")
    for value in x_ticks:
        column = int(round(at(value, y_low)[0]))
        canvas.pixels[top:bottom + 1, column] = GRID
        canvas.pixels[bottom + 1:bottom + 6, column] = BLACK
        canvas.text(column, bottom + 10, f"{value:.{x_decimals}f}", anchor="centre")
    canvas.pixels[top:bottom + 1, left] = BLACK
    canvas.pixels[bottom, left:right + 1] = BLACK
    canvas.text((left + right) / 2, height - TEXT_HEIGHT - 8, xlabel, anchor="centre")
    canvas.text(20, (top + bottom) / 2, ylabel, vertical=True)
    points = [at(x, y) for x, y in zip(xs, ys)]
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        canvas.segment(x0, y0, x1, y1, 2.0, BLUE)
    for x, y in points:
        canvas.disc(x, y, 4.0, BLUE)
    return canvas.pixels


def _padded(low, high, whole):
    """The axis range shown for data in [low, high]: 5% of room each side (half a unit, or 5% of
    the value, for a single value)."""
    if high > low:
        room = 0.05 * (high - low)
    else:
        room = 0.5 if whole else max(0.05 * abs(low), 1e-3)
    return low - room, high + room
