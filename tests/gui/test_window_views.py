"""The views live in the main window: found by object name, fed by the training, wired to each other."""

import numpy as np
import pytest
from PySide6.QtWidgets import QWidget

from gdstudio.gui.views.inspection import INSPECTION_VIEWS
from gdstudio.gui.views.lecture import LECTURE_VIEWS

NAMES = [cls.object_name for cls in INSPECTION_VIEWS + LECTURE_VIEWS]


@pytest.mark.parametrize("name", NAMES)
def test_every_view_exists_when_the_window_opens(window, name):
    assert window.findChild(QWidget, name) is window.views[name]


def test_views_follow_training(window, qtbot):
    window.view_docks["templatesView"].raise_()
    window.toggle_training()
    qtbot.waitUntil(lambda: window.views["templatesView"].weights is not None
                    and window.views["templatesView"].last_record is not None
                    and window.views["templatesView"].last_record.step > 0, timeout=20_000)
    window.toggle_training()
    W, _ = window.views["templatesView"].weights
    assert W.shape == (10, 64)


def test_confusion_cell_lists_images_in_the_inspector(window, qtbot, monkeypatch):
    shown = {}
    monkeypatch.setattr(window.views["inspectorView"], "show_cell",
                        lambda t, p, indices: shown.update(t=t, p=p, n=len(indices)))
    window.views["confusionView"].on_cell_clicked(3, 5, np.array([1, 2]))
    assert shown == {"t": 3, "p": 5, "n": 2}


def test_a_lesson_loads_its_settings_and_shows_its_caption(window, qtbot):
    actions = [a for a in window.lessons_menu.actions() if a.text() and not a.isSeparator()]
    assert len(actions) >= 8  # seven lessons and "Load lessons from folder…"
    actions[0].trigger()  # α too small
    qtbot.waitUntil(lambda: window.controller.ready and window.controls.value("lr") == pytest.approx(0.001),
                    timeout=20_000)
    assert window.lesson_caption.isVisible()


def test_presenter_mode_toggles(window, qapp):
    size = qapp.font().pointSizeF()
    window.presenter_action.trigger()
    assert qapp.font().pointSizeF() > size
    window.presenter_action.trigger()
    assert qapp.font().pointSizeF() == pytest.approx(size)


def test_an_opened_run_continues_and_saves_back_into_its_folder(window, qtbot, tmp_path):
    from gdstudio.engine.runs import load_run
    from gdstudio.gui.controller import ENDED

    window.controller.set_epochs(1.0)
    window.toggle_training()
    qtbot.waitUntil(lambda: window.controller.state == ENDED, timeout=20_000)
    window.save_run(tmp_path / "run")
    qtbot.waitUntil(lambda: window.run_folder is not None, timeout=20_000)
    first = load_run(tmp_path / "run").state["step"]
    window.open_run(tmp_path / "run")
    qtbot.waitUntil(lambda: window.controller.ready and window.run_folder == str(tmp_path / "run"), timeout=20_000)
    window.controller.set_epochs(2.0)
    window.toggle_training()
    qtbot.waitUntil(lambda: window.controller.state == ENDED, timeout=20_000)
    window.save_action.trigger()  # File → Save: back into the opened folder, no dialog
    qtbot.waitUntil(lambda: load_run(tmp_path / "run").state["step"] > first, timeout=20_000)
