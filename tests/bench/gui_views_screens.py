"""Screenshots of the inspection views (for the README's feature tour): run under a real X server, e.g.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python tests/bench/gui_views_screens.py [docs]

Each view is shown on its own (no main window) on a headless-trained session — softmax on the embedded digits,
toy2d blobs for the decision regions — and saved as ``<folder>/view-<objectName>.png`` with ``QWidget.grab()``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QApplication

SIZE = (1000, 680)


def _session_info(dataset: str, steps: int):
    from gdstudio.config import TrainConfig
    from gdstudio.engine.session import Session
    from gdstudio.gui.worker import session_info

    session = Session(TrainConfig(dataset=dataset, steps=steps))
    for _ in session.run():
        pass
    return session, session_info(session, "new")


def _settle(app: QApplication, seconds: float = 0.3) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.01)


def main(folder: str = "docs") -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    from gdstudio.gui.views.inspection import INSPECTION_VIEWS, RegionsView

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    _, digits = _session_info("digits", 300)
    _, toy = _session_info("toy2d", 400)
    views = {}
    for view_class in INSPECTION_VIEWS:
        view = view_class()
        view.setWindowTitle(view.title)
        view.resize(*SIZE)
        view.on_loaded(toy if view_class is RegionsView else digits)
        view.show()
        _settle(app)
        view.refresh()
        views[view.objectName()] = view

    views["templatesView"].gradient_check.setChecked(True)
    confusion, inspector = views["confusionView"], views["inspectorView"]
    confusion.on_cell_clicked = inspector.show_cell
    matrix = confusion.matrix
    off_diagonal = matrix - np.diag(np.diag(matrix))
    t, p = np.unravel_index(np.argmax(off_diagonal), matrix.shape)  # the commonest mistake
    confusion.select_cell(int(t), int(p))  # the inspector lists that cell's images and shows the first
    regions = views["regionsView"]
    regions.move_point(0, 40.0, 40.0)
    regions.add_point(200.0, 200.0, 0)
    gradcheck = views["gradcheckView"]
    gradcheck.start_check()
    gradcheck.wait_for_check(60_000)
    _settle(app, 0.5)
    for name, view in views.items():
        view.refresh()
        _settle(app, 0.2)
        path = out / f"view-{name}.png"
        if not view.grab().save(str(path)):
            print(f"could not write {path}", file=sys.stderr)
            return 1
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
