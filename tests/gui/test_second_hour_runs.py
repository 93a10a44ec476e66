"""Issue 17 items 2 and 3 in the window: run folders keep where their data is, a run whose data moved opens once a
person points to it, and a run changed live is resumed by the command line with the settings in force.

Each test drives the window as a person does (menus, buttons, boxes, the dialogs that open) and then reads what it
shows (the plots' items, the boxes, the dialogs' texts) and what it wrote (the run folder's ``config.json``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pyqtgraph as pg
import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QFileDialog, QLabel, QLineEdit, QMessageBox, QPushButton

from gdstudio.cli import main
from tests.data.fake_data_files import write_idx_folder

from .conftest import LOAD_TIMEOUT_MS
from .dialogs import DialogAnswerer, press_ok
from .person import WAIT_MS, click, curve_data, find, named_curve, pick, trigger_menu, type_into, visible_text

RUN_MS = 60_000
STEPS = 2
"""Steps of the command line's run (one epoch)."""


def saved(folder: Path) -> dict:
    return json.loads((folder / "config.json").read_text(encoding="utf-8"))


def live_loss(window):
    return curve_data(named_curve(find(window, pg.PlotWidget, "lossPlot"), "total loss"))


def change_markers(window) -> list:
    plot = find(window, pg.PlotWidget, "lossPlot").getPlotItem()
    return [item for item in plot.items if isinstance(item, pg.InfiniteLine) and getattr(item, "label", None)]


def state_text(window) -> str:
    return visible_text(find(window, QLabel, "stateLabel"))


@pytest.fixture
def cli_run(tmp_path):
    """`gdstudio train --dataset fashion-mnist --data COPY --epochs 1 --out R` on a small copy of the user's own
    (two steps of 256 images): ``(R, COPY)``."""
    copy = tmp_path / "my fashion"
    write_idx_folder(copy, n_train=400, n_test=60)
    run = tmp_path / "R"
    assert main(["train", "--dataset", "fashion-mnist", "--data", str(copy), "--epochs", "1", "--out", str(run),
                 "--quiet"]) == 0
    assert saved(run)["data_path"] == str(copy.resolve()) and saved(run)["state"]["step"] == STEPS
    return run, copy


class FolderChooser:
    """Stands in for the system's folder dialog: hands out the given folders in turn, and notes each title."""

    def __init__(self, monkeypatch, *folders) -> None:
        self.folders = [str(folder) for folder in folders]
        self.titles: list[str] = []
        monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(self._choose))

    def _choose(self, parent=None, title="", *args, **kwargs) -> str:
        self.titles.append(title)
        return self.folders.pop(0) if self.folders else ""


def open_run_from_menu(qtbot, window, answer=None) -> DialogAnswerer | None:
    """File → Open run…, with ``answer`` handling each dialog that opens while the run loads."""
    answerer = DialogAnswerer(answer) if answer is not None else None
    trigger_menu(window, "File", "Open run…")
    return answerer


def close_dialogs(answerer: DialogAnswerer) -> None:
    answerer.stop()
    for dialog in answerer.seen:
        if shiboken6.isValid(dialog) and dialog.isVisible():
            dialog.reject()


# ----------------------------------------------------------------------------------------------------------------
# Item 2: the data's place, kept and found again


def test_save_keeps_the_data_location_of_a_run_opened_from_the_cli(qtbot, window, monkeypatch, cli_run):
    """Issue 17 item 2: File → Save run in the window, on a run `train --data DIR --out R` made, keeps data_path."""
    run, copy = cli_run
    FolderChooser(monkeypatch, run)
    open_run_from_menu(qtbot, window)
    qtbot.waitUntil(lambda: window.controller.info.dataset == "fashion-mnist"
                    and len(live_loss(window)[0]) == STEPS, timeout=LOAD_TIMEOUT_MS)
    click(qtbot, find(window, QPushButton, "startButton"))  # Continue: one more epoch
    qtbot.waitUntil(lambda: len(live_loss(window)[0]) == 2 * STEPS and state_text(window) == "Finished",
                    timeout=RUN_MS)
    trigger_menu(window, "File", "Save run")
    qtbot.waitUntil(lambda: saved(run)["state"]["step"] == 2 * STEPS, timeout=WAIT_MS)
    assert saved(run)["data_path"] == str(copy.resolve())
    assert main(["train", "--resume", str(run), "--epochs", "3", "--quiet"]) == 0  # and the CLI still finds it
    assert saved(run)["data_path"] == str(copy.resolve())


def test_a_run_whose_data_moved_opens_after_locating_the_data(qtbot, window, monkeypatch, cli_run, tmp_path):
    """Issue 17 item 2: a fresh window opening a run whose data folder is gone offers to locate it (a dialog with
    Locate…, not a "pass --data PATH" hint); after locating it the run opens with its curves, continues, and a
    save records the new place."""
    run, copy = cli_run
    moved = copy.rename(tmp_path / "moved to another disk")
    chooser = FolderChooser(monkeypatch, run, moved)
    texts: list[str] = []
    buttons: list[list[str]] = []

    def answer(dialog) -> None:
        texts.append(dialog.text() if isinstance(dialog, QMessageBox) else dialog.windowTitle())
        names = [b.text().replace("&", "") for b in dialog.buttons()] if isinstance(dialog, QMessageBox) else []
        buttons.append(names)
        locate = [b for b in dialog.buttons() if b.text().replace("&", "") == "Locate folder…"] \
            if isinstance(dialog, QMessageBox) else []
        if locate:
            click(qtbot, locate[0])
        else:
            press_ok(dialog)

    answerer = open_run_from_menu(qtbot, window, answer)
    try:
        qtbot.waitUntil(lambda: bool(texts), timeout=LOAD_TIMEOUT_MS)
        qtbot.waitUntil(lambda: window.controller.info.dataset == "fashion-mnist" or len(texts) > 1,
                        timeout=LOAD_TIMEOUT_MS)
    finally:
        close_dialogs(answerer)
    question = texts[0]
    assert "--data" not in question, question
    assert str(copy.resolve()) in question, question  # where the run says its data was
    assert "Locate folder…" in buttons[0] and "Locate archive…" in buttons[0], buttons
    assert len(chooser.titles) == 2 and "Fashion" in chooser.titles[1], chooser.titles
    qtbot.waitUntil(lambda: len(live_loss(window)[0]) == STEPS, timeout=LOAD_TIMEOUT_MS)
    assert window.controller.info.step == STEPS and len(texts) == 1, texts
    click(qtbot, find(window, QPushButton, "startButton"))  # Continue: one more epoch
    qtbot.waitUntil(lambda: len(live_loss(window)[0]) == 2 * STEPS and state_text(window) == "Finished",
                    timeout=RUN_MS)
    assert window.last_error is None
    trigger_menu(window, "File", "Save run")
    qtbot.waitUntil(lambda: saved(run)["state"]["step"] == 2 * STEPS, timeout=WAIT_MS)
    assert saved(run)["data_path"] == str(moved.resolve())


def test_a_run_whose_data_is_nowhere_says_so_and_keeps_the_window_usable(qtbot, window, monkeypatch, cli_run):
    """Issue 17 item 2: Cancel in the locate question leaves the window on the run it had, usable."""
    run, copy = cli_run
    import shutil

    shutil.rmtree(copy)
    FolderChooser(monkeypatch, run)
    texts: list[str] = []

    def answer(dialog) -> None:
        texts.append(dialog.text() if isinstance(dialog, QMessageBox) else dialog.windowTitle())
        cancel = [b for b in dialog.buttons() if b.text().replace("&", "") == "Cancel"] \
            if isinstance(dialog, QMessageBox) else []
        click(qtbot, cancel[0]) if cancel else press_ok(dialog)

    answerer = open_run_from_menu(qtbot, window, answer)
    try:
        qtbot.waitUntil(lambda: bool(texts), timeout=LOAD_TIMEOUT_MS)
        qtbot.wait(300)
    finally:
        close_dialogs(answerer)
    assert len(texts) == 1 and "--data" not in texts[0], texts
    assert window.controller.info.dataset == "digits" and state_text(window) == "Ready"
    click(qtbot, find(window, QPushButton, "stepButton"))
    qtbot.waitUntil(lambda: len(live_loss(window)[0]) == 1, timeout=WAIT_MS)


# ----------------------------------------------------------------------------------------------------------------
# Item 3: a run changed live, resumed by the command line


def save_run_as(qtbot, window, parent: Path, name: str) -> Path:
    """File → Save run as…: type the folder and the name into the dialog and press Save."""

    def answer(dialog) -> None:
        if isinstance(dialog, QMessageBox):
            press_ok(dialog)
            return
        type_into(qtbot, dialog.findChild(QLineEdit, "runParentEdit"), str(parent), commit=None)
        type_into(qtbot, dialog.findChild(QLineEdit, "runNameEdit"), name, commit=None)
        click(qtbot, dialog.findChild(QPushButton, "saveRunFolderButton"))

    answerer = DialogAnswerer(answer)
    try:
        trigger_menu(window, "File", "Save run as…")
        qtbot.waitUntil(lambda: (parent / name / "config.json").exists(), timeout=WAIT_MS)
    finally:
        close_dialogs(answerer)
    return parent / name


def test_the_cli_resumes_a_window_run_with_the_settings_changed_live(qtbot, window, tmp_path, capsys):
    """Issue 17 item 3: a window run switched to SVM and α = 0.1 at step 200 and saved, resumed by `train
    --resume`, prints and reports (stderr line and --json) SVM and α = 0.1, not softmax and the first α."""
    pick(qtbot, find(window, QComboBox, "paceCombo"), "100 steps/s")
    type_into(qtbot, find(window, QDoubleSpinBox, "epochsSpin"), "500", commit=Qt.Key.Key_Return)
    first_lr = find(window, QDoubleSpinBox, "lrSpin").value()
    assert first_lr != 0.1 and find(window, QComboBox, "lossCombo").currentText() == "Softmax"
    click(qtbot, find(window, QPushButton, "startButton"))
    qtbot.waitUntil(lambda: len(live_loss(window)[0]) and live_loss(window)[0][-1] >= 200, timeout=RUN_MS)
    pick(qtbot, find(window, QComboBox, "lossCombo"), "Multiclass SVM")
    type_into(qtbot, find(window, QDoubleSpinBox, "lrSpin"), "0.1", commit=Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(change_markers(window)) == 2, timeout=WAIT_MS)
    click(qtbot, find(window, QPushButton, "startButton"))  # Pause
    qtbot.waitUntil(lambda: state_text(window) == "Paused", timeout=WAIT_MS)
    folder = save_run_as(qtbot, window, tmp_path, "changed-live")
    step = saved(folder)["state"]["step"]
    capsys.readouterr()
    status = main(["train", "--resume", str(folder), "--steps", str(step + 10), "--quiet", "--json"])
    out, err = capsys.readouterr()
    assert status == 0, err
    first = err.splitlines()[0]
    assert "training svm on digits" in first and "α = 0.1," in first, first
    document = json.loads(out)
    assert document["loss_function"] == "svm" and document["lr"] == 0.1, document


def test_alpha_typed_while_paused_and_saved_is_what_the_run_resumes_with(qtbot, window, tmp_path, capsys):
    """α typed while a run is paused waits for the next step; File → Save run as then must keep it: `train
    --resume` reports and trains with that α, marked at the step where the run was paused."""
    type_into(qtbot, find(window, QDoubleSpinBox, "epochsSpin"), "500", commit=Qt.Key.Key_Return)
    first_lr = find(window, QDoubleSpinBox, "lrSpin").value()
    assert first_lr != 0.02
    click(qtbot, find(window, QPushButton, "startButton"))
    qtbot.waitUntil(lambda: len(live_loss(window)[0]) >= 20, timeout=RUN_MS)
    click(qtbot, find(window, QPushButton, "startButton"))  # Pause
    qtbot.waitUntil(lambda: state_text(window) == "Paused", timeout=WAIT_MS)
    type_into(qtbot, find(window, QDoubleSpinBox, "lrSpin"), "0.02", commit=Qt.Key.Key_Return)
    folder = save_run_as(qtbot, window, tmp_path, "typed-while-paused")
    step = saved(folder)["state"]["step"]
    capsys.readouterr()
    status = main(["train", "--resume", str(folder), "--steps", str(step + 10), "--quiet", "--json"])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert "α = 0.02," in err.splitlines()[0], err
    assert json.loads(out)["lr"] == 0.02
    changes = saved(folder)["changes"]
    assert [(c["step"], c["name"], c["new"]) for c in changes] == [(step, "lr", 0.02)], changes


@pytest.mark.parametrize("length", [["--steps", "5"], ["--budget", "5"]])
def test_start_continues_a_run_that_the_cli_ran_for_a_number_of_steps(qtbot, window, monkeypatch, tmp_path, length):
    """A run made with `train --steps 5` (or `--budget 5`), opened in the window: Start trains on (it did nothing:
    only an epochs target was moved on), for the window's Epochs more, and the curve goes on from step 5."""
    run = tmp_path / "five-steps"
    assert main(["train", "--dataset", "digits", *length, "--out", str(run), "--quiet"]) == 0
    FolderChooser(monkeypatch, run)
    open_run_from_menu(qtbot, window)
    qtbot.waitUntil(lambda: len(live_loss(window)[0]) == 5 and state_text(window) == "Finished",
                    timeout=LOAD_TIMEOUT_MS)
    click(qtbot, find(window, QPushButton, "startButton"))  # Continue
    qtbot.waitUntil(lambda: len(live_loss(window)[0]) > 5 and state_text(window) == "Finished", timeout=RUN_MS)
    steps = live_loss(window)[0]
    assert list(steps[:6]) == [1, 2, 3, 4, 5, 6]
    epochs = find(window, QDoubleSpinBox, "epochsSpin").value()
    assert window.controller.last_progress.epoch == pytest.approx(5 * 64 / 1257 + epochs, abs=64 / 1257)
