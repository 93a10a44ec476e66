"""*File → Open image folder…*: a person's own folder of class folders in the window (issue 13, item 4).

Each test drives the window as a person does (the menu, the directory chooser, the options dialog, Start) and reads
what it shows: the data set box, the status bar, the views' titles and axis labels, the dialogs' text.
"""

from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QFileDialog, QLabel, QLineEdit, QMessageBox,
                               QPushButton, QSpinBox, QTableWidget)

from tests.image_folders import make_image_folder

from .conftest import LOAD_TIMEOUT_MS, open_window
from .dialogs import DialogAnswerer, press_ok
from .layout_checks import raise_view_by_tab
from .person import WAIT_MS, click, find, pick, trigger_menu, type_into, visible_text, wait_idle

CLASSES = ["circle", "square", "triangle"]


@pytest.fixture
def shapes(tmp_path) -> Path:
    folder = make_image_folder(tmp_path / "shapes", per_class=12)
    (folder / "circle" / "notes.txt").write_text("where I took the photos")
    return folder


def type_folder_and_accept(qtbot, dialog: QFileDialog, folder) -> None:
    """Click into the chooser's name box, type the folder's path, close the list of suggestions that typing
    opened, and press Return. (Typed while the box has no focus, the chooser writes the names it selects along
    the way over the text: '"/" "tmp"/…'.)"""
    box = dialog.findChild(QLineEdit, "fileNameEdit")
    assert box is not None, "not Qt's own file dialog: a test cannot type into it"
    dialog.activateWindow()
    click(qtbot, box)
    qtbot.waitUntil(box.hasFocus, timeout=WAIT_MS)
    box.selectAll()
    QTest.keyClicks(box, str(folder))
    completer = box.completer()
    if completer is not None and completer.popup().isVisible():
        QTest.keyClick(completer.popup(), Qt.Key.Key_Escape)
    assert box.text() == str(folder), box.text()
    QTest.keyClick(box, Qt.Key.Key_Return)


def open_image_folder(qtbot, window, folder, size: int | None = None, grey: bool | None = None) -> list[str]:
    """Choose File → Open image folder…, the folder in the directory chooser, then the options, and press Open;
    returns the object names (or a message box's text) of the dialogs answered, in order. An error box is
    answered with OK."""
    seen = []

    def answer(dialog):
        if isinstance(dialog, QFileDialog):
            seen.append("QFileDialog")
            type_folder_and_accept(qtbot, dialog, folder)
        elif isinstance(dialog, QMessageBox):
            seen.append(dialog.text())
            press_ok(dialog)
        elif dialog.objectName() == "imageFolderDialog":
            seen.append("imageFolderDialog")
            assert dialog.findChild(QLineEdit, "imageFolderEdit").text() == str(folder)
            if size is not None:
                type_into(qtbot, dialog.findChild(QSpinBox, "imageSizeSpin"), str(size))
            box = dialog.findChild(QCheckBox, "greyCheck")
            if grey is not None and box.isChecked() != grey:
                click(qtbot, box)
            click(qtbot, dialog.findChild(QPushButton, "openImageFolderButton"))

    answerer = DialogAnswerer(answer)
    try:
        trigger_menu(window, "File", "Open image folder…")  # returns once its dialogs are answered
        qtbot.waitUntil(lambda: "imageFolderDialog" in seen, timeout=WAIT_MS)
    finally:
        answerer.stop()
    return seen


def wait_loaded(qtbot, window, dataset="images") -> None:
    qtbot.waitUntil(lambda: window.controller.ready and window.controller.info.dataset == dataset,
                    timeout=LOAD_TIMEOUT_MS)
    wait_idle(qtbot, 200)


def train(qtbot, window) -> None:
    click(qtbot, find(window, QPushButton, "startButton"))
    qtbot.waitUntil(lambda: window.controller.state == "ended", timeout=60_000)
    wait_idle(qtbot, 500)


def drawn_ticks(axis: pg.AxisItem) -> list[str]:
    """The tick labels an axis draws now (pyqtgraph's own draw list)."""
    image = QImage(10, 10, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        _, _, texts = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return [text for _, _, text in texts]


def test_open_image_folder_loads_trains_and_names_the_classes_everywhere(qtbot, window, shapes):
    width = window.width()
    assert open_image_folder(qtbot, window, shapes, size=16) == ["QFileDialog", "imageFolderDialog"]
    wait_loaded(qtbot, window)
    combo = find(window, QComboBox, "datasetCombo")
    assert combo.currentText() == "Your images: shapes"
    assert window.windowTitle().startswith("Your images: shapes")
    info_text = visible_text(find(window, QLabel, "datasetInfoLabel"))
    assert "3 classes" in info_text and "16×16×3" in info_text
    notice = find(window, QLabel, "dataNoticeLabel")
    assert notice.isVisible() and notice.text().startswith("skipped 1 file in shapes (36 images kept): ")
    assert "circle/notes.txt (not a PNG, JPEG, BMP, GIF or WebP image)" in notice.text()
    assert window.width() == width  # the long line does not widen the window

    train(qtbot, window)
    final = visible_text(find(window, QLabel, "finalLabel"))
    assert "test" in final

    raise_view_by_tab(qtbot, window, "Class templates")
    templates = window.views["templatesView"]
    qtbot.waitUntil(lambda: sorted(item.toPlainText() for item in templates.view_box.addedItems
                                   if isinstance(item, pg.TextItem)) == CLASSES, timeout=WAIT_MS)

    raise_view_by_tab(qtbot, window, "Confusion matrix")
    confusion = window.views["confusionView"]
    qtbot.waitUntil(lambda: all(any(name in text for text in drawn_ticks(confusion.matrix_plot.getAxis("left")))
                                for name in CLASSES), timeout=WAIT_MS)

    raise_view_by_tab(qtbot, window, "One image's maths")
    inspector = window.views["inspectorView"]
    qtbot.waitUntil(lambda: inspector.strip.count() > 0, timeout=WAIT_MS)
    rect = inspector.strip.visualItemRect(inspector.strip.item(0))
    qtbot.mouseClick(inspector.strip.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    table = inspector.findChild(QTableWidget)
    qtbot.waitUntil(lambda: table.rowCount() == 3, timeout=WAIT_MS)
    rows = [table.verticalHeaderItem(r).text().removesuffix(" ✓") for r in range(3)]
    assert rows == CLASSES
    assert any(name in inspector.strip.item(0).toolTip() for name in CLASSES)


def test_the_size_and_grey_chosen_shape_the_images_and_are_remembered(qtbot, tmp_path, shapes):
    path = str(tmp_path / "gdstudio.ini")
    window = open_window(qtbot, settings=QSettings(path, QSettings.Format.IniFormat))
    open_image_folder(qtbot, window, shapes, size=12, grey=True)
    wait_loaded(qtbot, window)
    assert window.controller.info.image_shape == (12, 12, 1)
    assert "12×12×1" in visible_text(find(window, QLabel, "datasetInfoLabel"))
    window.close()

    again = open_window(qtbot, dataset="images", settings=QSettings(path, QSettings.Format.IniFormat))
    wait_loaded(qtbot, again)
    assert again.controller.info.image_shape == (12, 12, 1)
    assert find(again, QComboBox, "datasetCombo").currentText() == "Your images: shapes"
    # A new strategy makes a new session: on the same folder, with the same options.
    strategy = find(again, QComboBox, "strategyCombo")
    strategy.setFocus()
    qtbot.keyClick(strategy, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: again.controller.ready and again.controller.info.config.strategy != "sgd",
                    timeout=LOAD_TIMEOUT_MS)
    assert again.controller.info.image_shape == (12, 12, 1)
    again.close()


@pytest.mark.parametrize("layout, words", [
    ("one class", "found images of 1 class (circle); need at least two class folders with images"),
    ("empty", "no class folders in it"),
])
def test_a_bad_folder_says_why_and_the_data_set_stays(qtbot, window, tmp_path, layout, words):
    folder = tmp_path / "mine"
    if layout == "one class":
        make_image_folder(folder, per_class=4, shapes={"circle": (200, 0, 0)})
    else:
        folder.mkdir()
    open_image_folder(qtbot, window, folder)
    qtbot.waitUntil(lambda: window.last_error is not None, timeout=LOAD_TIMEOUT_MS)
    wait_loaded(qtbot, window, "digits")
    title, message = window.last_error
    assert title == "Cannot open the data set" and words in message and "\n" not in message
    assert find(window, QComboBox, "datasetCombo").currentText().startswith("Handwritten digits")
    assert not find(window, QLabel, "dataNoticeLabel").isVisible()
    assert window.controller.info.dataset == "digits"
    box = find(window, QMessageBox, "errorDialog")
    qtbot.waitUntil(box.isVisible, timeout=WAIT_MS)
    assert words in box.text()
    press_ok(box)


def test_the_data_set_box_asks_for_a_folder_when_there_is_none(qtbot, window, shapes):
    """Picking "Your own images" before any folder was opened opens the directory chooser."""
    combo = find(window, QComboBox, "datasetCombo")
    seen = []

    def answer(dialog):
        seen.append(type(dialog).__name__)
        if isinstance(dialog, QFileDialog):
            type_folder_and_accept(qtbot, dialog, shapes)
        elif isinstance(dialog, QDialog) and dialog.objectName() == "imageFolderDialog":
            click(qtbot, dialog.findChild(QPushButton, "openImageFolderButton"))

    answerer = DialogAnswerer(answer)
    try:
        pick(qtbot, combo, "Your own images (a folder of class folders)")
        wait_loaded(qtbot, window)
    finally:
        answerer.stop()
    assert seen == ["QFileDialog", "ImageFolderDialog"]
    assert combo.currentText() == "Your images: shapes"
    assert window.controller.info.image_shape == (32, 32, 3)  # the default size
