"""Folders of generated images for the tests of ``--dataset images``: coloured shapes drawn with Pillow, saved in
every format GD Studio reads, and a decompression bomb written by hand (a valid PNG claiming 30,000 × 30,000
pixels, about 100 KB on disk)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

SAVE_AS = (("png", "PNG"), ("jpg", "JPEG"), ("bmp", "BMP"), ("gif", "GIF"), ("webp", "WEBP"))
"""File extension and Pillow format, taken in turn by the images of each class."""
SHAPES = {"circle": (215, 45, 40), "square": (40, 170, 60), "triangle": (45, 70, 215)}
"""Class name → the shape's colour."""


def shape_image(kind: str, colour, rng: np.random.Generator, size=(48, 40)) -> Image.Image:
    """A ``kind`` shape (circle, square or triangle) of roughly ``colour``, at a random place and size, on a light
    background of random tint."""
    width, height = size
    background = tuple(int(v) for v in rng.integers(190, 256, 3))
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    side = int(rng.integers(min(size) // 2, min(size) - 4))
    x0, y0 = int(rng.integers(0, width - side)), int(rng.integers(0, height - side))
    fill = tuple(int(np.clip(c + rng.integers(-30, 31), 0, 255)) for c in colour)
    if kind == "circle":
        draw.ellipse((x0, y0, x0 + side, y0 + side), fill=fill)
    elif kind == "square":
        draw.rectangle((x0, y0, x0 + side, y0 + side), fill=fill)
    else:
        draw.polygon([(x0, y0 + side), (x0 + side, y0 + side), (x0 + side // 2, y0)], fill=fill)
    return image


def make_image_folder(root: Path, per_class: int = 20, shapes: dict | None = None, seed: int = 0,
                      size=(48, 40)) -> Path:
    """``root/<shape>/<shape>-NN.<ext>``: ``per_class`` images of each shape, in the five formats in turn."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for kind, colour in (shapes or SHAPES).items():
        folder = root / kind
        folder.mkdir(exist_ok=True)
        for i in range(per_class):
            extension, format_ = SAVE_AS[i % len(SAVE_AS)]
            shape_image(kind if kind in SHAPES else "circle", colour, rng, size).save(
                folder / f"{kind}-{i:02d}.{extension}", format_)
    return root


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def write_png_bomb(path: Path, width: int = 30_000, height: int = 30_000) -> Path:
    """A valid 1-bit grey PNG of ``width`` × ``height`` black pixels: tiny on disk, 0.9 GB per channel once
    decoded at 30,000 × 30,000. Written row block by row block, so making it never needs that memory either."""
    row = b"\x00" + bytes((width + 7) // 8)  # filter byte "none", then the packed bits
    squeeze = zlib.compressobj(9)
    block = row * 1000
    data = []
    for start in range(0, height, 1000):
        data.append(squeeze.compress(block if height - start >= 1000 else row * (height - start)))
    data.append(squeeze.flush())
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", b"".join(data))
                     + _chunk(b"IEND", b""))
    return path
