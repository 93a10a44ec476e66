"""Draw the application icon (a loss bowl with a descending path) in the sizes desktops want.

Run once after changing the design: ``QT_QPA_PLATFORM=offscreen python resources/make_icons.py``; it writes
``gdstudio/resources/icons/gdstudio-<size>.png`` and ``gdstudio.png`` (256 px), which are committed.
"""

from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QGuiApplication, QImage, QLinearGradient, QPainter, QPainterPath, QPen

SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
OUT = Path(__file__).resolve().parents[1] / "gdstudio" / "resources" / "icons"


def draw(size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    p = QPainter(image)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    s = size / 64.0
    background = QLinearGradient(0, 0, 0, size)
    background.setColorAt(0, QColor("#1f3b5c"))
    background.setColorAt(1, QColor("#0f1e30"))
    p.setBrush(QBrush(background))
    p.setPen(Qt.PenStyle.NoPen)
    p.drawRoundedRect(QRectF(2 * s, 2 * s, 60 * s, 60 * s), 12 * s, 12 * s)
    bowl = QPainterPath(QPointF(10 * s, 14 * s))
    bowl.cubicTo(QPointF(18 * s, 62 * s), QPointF(46 * s, 62 * s), QPointF(54 * s, 14 * s))
    p.setPen(QPen(QColor("#7fb3e6"), max(1.0, 3 * s), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawPath(bowl)
    steps = [QPointF(13 * s, 22 * s), QPointF(44 * s, 33 * s), QPointF(24 * s, 41 * s), QPointF(35 * s, 45 * s),
             QPointF(32 * s, 47.5 * s)]
    p.setPen(QPen(QColor("#ff9f43"), max(1.0, 2.2 * s), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
    for a, b in zip(steps, steps[1:]):
        p.drawLine(a, b)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor("#ffd166"))
    for point in steps:
        p.drawEllipse(point, max(0.8, 2.4 * s), max(0.8, 2.4 * s))
    p.end()
    return image


if __name__ == "__main__":
    app = QGuiApplication([])
    OUT.mkdir(parents=True, exist_ok=True)
    for size in SIZES:
        draw(size).save(str(OUT / f"gdstudio-{size}.png"))
    draw(256).save(str(OUT / "gdstudio.png"))
    print(f"icons in {OUT}")
