"""Writing an RGB image as a PNG file, with the standard library's zlib: no imaging library needed.

The smallest valid PNG (RFC 2083): the signature, an ``IHDR`` chunk (8-bit truecolour, no
interlace), one ``IDAT`` chunk holding the zlib-compressed scanlines, each prefixed by filter
type 0 (none), and ``IEND``.  Each chunk carries the CRC-32 of its type and data.
"""
import struct
import zlib

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_png(pixels):
    """The PNG file of an image.

    Args: pixels, (height, width, 3) uint8, RGB, rows from the top.
    Returns: bytes.
    """
    pixels = np.asarray(pixels)
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype != np.uint8 or 0 in pixels.shape:
        raise ValueError(f"an image is a non-empty (height, width, 3) uint8 array, not {pixels.dtype} "
                         f"{pixels.shape}")
    height, width, _ = pixels.shape
    scanlines = np.zeros((height, 1 + 3 * width), dtype=np.uint8)
    scanlines[:, 1:] = pixels.reshape(height, 3 * width)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(scanlines.tobytes(), 6))
            + _chunk(b"IEND", b""))
