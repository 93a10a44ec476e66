"""Screenshot of the window mid-training (for the README): run under a real X server, e.g.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python tests/bench/gui_screenshot.py docs/screenshot-main.png

It trains softmax on the embedded digits, changes α live, keeps that run, starts an SVM run against it and grabs
the window while the second run is training.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication


def main(path: str = "docs/screenshot-main.png", width: int = 1680, height: int = 980) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    from gdstudio.gui import MainWindow

    window = MainWindow()
    window.resize(width, height)
    window.show()
    controls = window.controls
    steps = []

    def when(condition, then, timeout_s=30.0):
        waited = [0.0]

        def poll():
            if condition():
                then()
            elif waited[0] > timeout_s:
                print("timed out", file=sys.stderr)
                app.exit(1)
            else:
                waited[0] += 0.05
                QTimer.singleShot(50, poll)

        poll()

    def first_run():
        controls.epochs_spin.setValue(60)
        controls.lr.spin.setValue(0.05)
        controls.pace_combo.setCurrentIndex(controls.pace_combo.findData(1000.0))
        controls.flush_live()
        window.toggle_training()
        when(lambda: window.controller.last_progress is not None and window.controller.last_progress.step >= 300,
             change_lr)

    def change_lr():
        controls.lr.spin.setValue(0.5)
        controls.flush_live()
        when(lambda: window.controller.last_progress.step >= 700, keep_and_restart)

    def keep_and_restart():
        window.toggle_training()
        window.keep_run()
        window.reset_run()
        when(lambda: len(window.curves) == 0 and window.controller.state == "ready", second_run)

    def second_run():
        controls.loss_combo.setCurrentIndex(controls.loss_combo.findData("svm"))
        controls.lr.spin.setValue(0.05)
        controls.flush_live()
        window.toggle_training()
        when(lambda: window.controller.last_progress is not None and window.controller.last_progress.step >= 250,
             change_reg)

    def change_reg():
        controls.reg.spin.setValue(0.01)
        controls.flush_live()
        when(lambda: window.controller.last_progress.step >= 520, grab)

    def grab():
        app.processEvents()
        # Everything from the same record: the status bar (refreshed at 10 Hz) and the plots (redrawn in turn).
        window.view.redraw(full=True)
        window.view.show_values_at(400)
        window._show_status(window.controller.last_progress)
        ok = window.grab().save(path)
        print(f"saved {path}: {ok}; step {window.controller.last_progress.step}; status {window.step_label.text()}")
        window.close()
        app.exit(0 if ok else 1)

    when(lambda: window.controller.ready, first_run)
    steps.append(app.exec())
    return steps[-1]


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
