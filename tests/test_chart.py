"""The loss curve without matplotlib: the PNG encoder, the bitmap font, the ticks and the chart."""
import struct
import zlib

import numpy as np
import pytest

from w2v_np.chart import ADVANCE, BLUE, FONT, TEXT_HEIGHT, Canvas, line_chart, nice_ticks, text_mask
from w2v_np.png import SIGNATURE, encode_png


def decode_png(data):
    """Pixels of a PNG written by encode_png, every chunk's length and CRC checked: (h, w, 3) uint8."""
    assert data[:8] == SIGNATURE
    chunks, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at:at + 4])
        kind, body = data[at + 4:at + 8], data[at + 8:at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length:at + 12 + length])
        assert crc == zlib.crc32(kind + body)
        chunks.append((kind, body))
        at += 12 + length
    assert [kind for kind, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"] and at == len(data)
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, colour, compression, filtering, interlace) == (8, 2, 0, 0, 0)
    rows = np.frombuffer(zlib.decompress(chunks[1][1]), dtype=np.uint8).reshape(height, 1 + 3 * width)
    assert np.all(rows[:, 0] == 0)
    return rows[:, 1:].reshape(height, width, 3)


def test_png_round_trip():
    pixels = np.random.default_rng(0).integers(0, 256, size=(7, 11, 3), dtype=np.uint8)
    assert np.array_equal(decode_png(encode_png(pixels)), pixels)


def test_png_reads_the_same_in_pillow(tmp_path):
    """An independent decoder (Pillow, which matplotlib brings) sees the same pixels."""
    image = pytest.importorskip("PIL.Image")
    pixels = np.random.default_rng(1).integers(0, 256, size=(5, 9, 3), dtype=np.uint8)
    (tmp_path / "x.png").write_bytes(encode_png(pixels))
    with image.open(tmp_path / "x.png") as opened:
        assert opened.mode == "RGB" and np.array_equal(np.asarray(opened), pixels)


@pytest.mark.parametrize("bad", [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 4), np.uint8),
                                 np.zeros((4, 4, 3), np.float32), np.zeros((0, 4, 3), np.uint8)])
def test_png_refuses_what_is_not_an_rgb_image(bad):
    with pytest.raises(ValueError, match="uint8"):
        encode_png(bad)


def test_font_glyphs_and_text_mask():
    assert all(glyph.shape == (7, 5) for glyph in FONT.values())
    assert len({glyph.tobytes() for glyph in FONT.values()}) == len(FONT)
    mask = text_mask("10")
    assert mask.shape == (TEXT_HEIGHT, 2 * ADVANCE)
    scale = TEXT_HEIGHT // 7
    assert np.array_equal(mask[::scale, ::scale][:, :5], FONT["1"]) and not mask[:, 5 * scale:6 * scale].any()
    with pytest.raises(ValueError, match="'Q'"):
        text_mask("Q1")


@pytest.mark.parametrize("low, high", [(0.3336, 0.4627), (0.0, 1.0), (-3.2, 17.5), (1e-5, 3e-5), (120.0, 121.0)])
def test_nice_ticks_are_round_and_inside(low, high):
    ticks, decimals = nice_ticks(low, high)
    steps = np.diff(ticks)
    assert 2 <= len(ticks) <= 6 and np.allclose(steps, steps[0])
    mantissa = steps[0] / 10.0 ** np.floor(np.log10(steps[0]))
    assert min(abs(mantissa - m) for m in (1, 2, 5, 10)) < 1e-9
    assert low - 1e-12 <= ticks[0] and ticks[-1] <= high + 1e-12
    assert len({f"{t:.{decimals}f}" for t in ticks}) == len(ticks)
    assert ticks[0] - steps[0] < low and ticks[-1] + steps[0] > high


def test_segment_and_disc_coverage():
    canvas = Canvas(20, 10)
    canvas.segment(2.0, 5.0, 17.0, 5.0, 2.0, (0, 0, 0))
    row = canvas.pixels[:, 10, 0]
    # Two pixels wide around a pixel centre: that pixel full, half of each neighbour.
    assert list(row[3:8]) == [255, 128, 0, 128, 255]
    assert canvas.pixels[5, 0, 0] == 255 and canvas.pixels[5, 19, 0] == 255
    canvas = Canvas(20, 20)
    canvas.disc(10.0, 10.0, 4.0, (0, 0, 0))
    assert canvas.pixels[10, 10, 0] == 0 and canvas.pixels[10, 14, 0] < 255 and canvas.pixels[10, 16, 0] == 255
    before = canvas.pixels.copy()
    canvas.disc(-50.0, -50.0, 4.0, (0, 0, 0))
    canvas.segment(25.0, 3.0, 40.0, 30.0, 2.0, (0, 0, 0))
    assert np.array_equal(canvas.pixels, before)


def test_line_chart_puts_each_point_where_its_value_says():
    """Each marker is drawn in the curve's colour at its place, the lowest loss lowest in the image,
    and the markers are evenly spaced along x for evenly spaced epochs."""
    losses = [0.46, 0.38, 0.36, 0.34, 0.33]
    pixels = line_chart([1, 2, 3, 4, 5], losses, xlabel="epoch", ylabel="mean loss")
    assert pixels.shape == (350, 500, 3) and pixels.dtype == np.uint8
    blue = np.all(pixels == BLUE, axis=2)
    # A 5x5 block of the curve's colour fits only inside a marker (the line is 2 pixels wide).
    cores = np.argwhere(np.lib.stride_tricks.sliding_window_view(blue, (5, 5)).all(axis=(2, 3))) + 2
    cores = cores[np.argsort(cores[:, 1], kind="stable")]
    markers = np.split(cores, np.flatnonzero(np.diff(cores[:, 1]) > 1) + 1)
    centres = [group[:, 1].mean() for group in markers]
    heights = [group[:, 0].mean() for group in markers]
    assert len(markers) == 5 and np.allclose(np.diff(centres), np.diff(centres)[0], atol=1)
    assert np.argmax(heights) == 4 and np.argmin(heights) == 0
    span = (heights[4] - heights[0]) / (losses[0] - losses[4])
    assert np.allclose([heights[0] + (losses[0] - loss) * span for loss in losses], heights, atol=1.5)


def test_line_chart_is_deterministic_and_handles_one_point():
    first = line_chart([1], [0.41], xlabel="epoch", ylabel="mean loss")
    assert np.array_equal(first, line_chart([1], [0.41], xlabel="epoch", ylabel="mean loss"))
    assert np.all(first == BLUE, axis=2).sum() > 20
    assert not np.array_equal(first, line_chart([1], [0.42], xlabel="epoch", ylabel="mean loss"))


@pytest.mark.parametrize("xs, ys", [([], []), ([1, 2], [0.5]), ([1], [float("nan")]), ([1], [float("inf")])])
def test_line_chart_refuses_bad_points(xs, ys):
    with pytest.raises(ValueError, match="finite"):
        line_chart(xs, ys, xlabel="epoch", ylabel="mean loss")
