"""pyqtgraph items that need care when they leave a plot."""

from __future__ import annotations

import warnings


def remove_line(plot, line) -> None:
    """Remove the ``pg.InfiniteLine`` ``line`` from ``plot`` (a PlotWidget or PlotItem), its label included.

    A pyqtgraph line label joins its scene's ``sigPrepareForPaint`` when first painted and leaves it only when
    painted in another scene: removed, it stayed connected, and once the garbage collector had emptied its Python
    side, the next paint called it ("'InfLineLabel' object has no attribute 'textItem'", seen in the GUI soak under
    load). Hidden and disconnected first, nothing calls it again.
    """
    label = getattr(line, "label", None)
    scene = None if label is None else label.scene()
    if label is not None:
        label.setVisible(False)
    if scene is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # never painted: it had not connected
            try:
                scene.sigPrepareForPaint.disconnect(label.updateTransform)
            except (RuntimeError, TypeError):
                pass
    plot.removeItem(line)
