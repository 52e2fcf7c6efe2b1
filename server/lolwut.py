"""LOLWUT VERSION 5: Georg Nees's "Schotter" on a braille canvas, as Redis 7.0's lolwut5.c.

The first two rows of squares are never disturbed, so a drawing with one or two rows is the
same as Redis's to the byte; lower rows are rotated and shifted at random (Redis uses rand()
too). Arithmetic follows the C code: ``float`` values are rounded to single precision after
each operation, ``round()`` rounds halves away from zero, casts to int truncate.
"""

from __future__ import annotations

import math
import random
import struct

_F = struct.Struct("f")


def _f32(v: float) -> float:
    return float(_F.unpack(_F.pack(v))[0])


def _c_round(v: float) -> float:
    return math.copysign(math.floor(abs(v) + 0.5), v)


class Canvas:
    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(width * height)

    def set(self, x: int, y: int) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            self.pixels[y * self.width + x] = 1

    def get(self, x: int, y: int) -> int:
        if 0 <= x < self.width and 0 <= y < self.height:
            return self.pixels[y * self.width + x]
        return 0

    def line(self, x1: int, y1: int, x2: int, y2: int) -> None:
        """Bresenham, as lwDrawLine."""
        dx, dy = abs(x2 - x1), abs(y2 - y1)
        sx = 1 if x1 < x2 else -1
        sy = 1 if y1 < y2 else -1
        err = dx - dy
        while True:
            self.set(x1, y1)
            if x1 == x2 and y1 == y2:
                return
            e2 = err * 2
            if e2 > -dy:
                err -= dy
                x1 += sx
            if e2 < dx:
                err += dx
                y1 += sy

    def square(self, x: int, y: int, size: float, angle: float) -> None:
        size = _f32(_c_round(_f32(size / 1.4142135623)))
        k = _f32(math.pi / 4 + angle)
        px, py = [], []
        for _ in range(4):
            px.append(int(_c_round(math.sin(k) * size + x)))
            py.append(int(_c_round(math.cos(k) * size + y)))
            k = _f32(k + math.pi / 2)
        for j in range(4):
            self.line(px[j], py[j], px[(j + 1) % 4], py[(j + 1) % 4])

    def render(self) -> str:
        """Each 2x4 pixel block is one braille character (U+2800 + the dots)."""
        rows = []
        for y in range(0, self.height, 4):
            chars = []
            for x in range(0, self.width, 2):
                g = self.get
                byte = (g(x, y) | g(x, y + 1) << 1 | g(x, y + 2) << 2 | g(x + 1, y) << 3
                        | g(x + 1, y + 1) << 4 | g(x + 1, y + 2) << 5 | g(x, y + 3) << 6
                        | g(x + 1, y + 3) << 7)
                chars.append(chr(0x2800 + byte))
            rows.append("".join(chars) + ("\n" if y != self.height - 1 else ""))
        return "".join(rows)


def schotter(cols: int, per_row: int, per_col: int, rng: random.Random | None = None) -> str:
    rng = rng or random.Random()
    width = cols * 2
    padding = 2 if width > 4 else 0
    side = _f32(_f32(width - padding * 2) / per_row)
    height = int(_f32(side * per_col) + padding * 2)
    canvas = Canvas(width, height)
    half = _f32(side / 2)
    for y in range(per_col):
        for x in range(per_row):
            sx = int(_f32(_f32(_f32(x * side) + half) + padding))
            sy = int(_f32(_f32(_f32(y * side) + half) + padding))
            angle = 0.0
            if y > 1:
                r1, r2, r3 = (_f32(rng.random() / per_col * y) for _ in range(3))
                r1, r2, r3 = (r if rng.random() < 0.5 else -r for r in (r1, r2, r3))
                angle = r1
                sx = int(sx + _f32(r2 * side / 3))
                sy = int(sy + _f32(r3 * side / 3))
            canvas.square(sx, sy, side, angle)
    return canvas.render()


def lolwut5(args: list[int], version: str) -> str:
    """``args``: the optional columns, squares per row, squares per column (clamped)."""
    cols, per_row, per_col = (args + [66, 8, 12][len(args):])[:3]
    cols = min(max(cols, 1), 1000)
    per_row = min(max(per_row, 1), 200)
    per_col = min(max(per_col, 1), 200)
    return (schotter(cols, per_row, per_col)
            + f"\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. {version}\n")
