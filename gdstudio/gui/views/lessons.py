"""Lessons in the window: a menu of presets, the chosen lesson's caption, and presenter mode for live demos.

The presets are JSON files (``gdstudio/resources/lessons``; see :mod:`gdstudio.engine.lessons`); a teacher adds
their own with "Load lessons from folder…".
"""

from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QAction, QFont, QPen
from PySide6.QtWidgets import (QApplication, QFileDialog, QFrame, QHBoxLayout, QLabel, QMenu, QMessageBox,
                               QPushButton, QToolButton, QVBoxLayout, QWidget)

from gdstudio.engine.lessons import Lesson, builtin_lessons, load_lesson_folder

PRESENTER_FONT_SCALE = 1.5
PRESENTER_LINE_SCALE = 2.0
PRESENTER_SYMBOL_SCALE = 1.5


# ----------------------------------------------------------------------------------------------------------------
# The menu


class LessonMenu(QObject):
    """Fills a menu with lessons; choosing one calls ``apply_lesson(lesson.config)`` and shows its caption.

    Made by :func:`build_lessons_menu`; a child of the menu, so it lives as long as the menu.

    Signals
    -------
    choosing(object)
        A :class:`~gdstudio.engine.lessons.Lesson` is about to be applied (the controls still show the values
        the user chose).
    chosen(object)
        The lesson was applied (``apply_lesson`` ran and did not return ``False``, which means "cancelled").
    """

    choosing = Signal(object)
    chosen = Signal(object)

    def __init__(self, menu: QMenu, apply_lesson, caption: "LessonCaption | None" = None) -> None:
        super().__init__(menu)
        self.setObjectName("lessonMenu")
        self.menu = menu
        self.apply_lesson = apply_lesson
        self.caption = caption
        self.lessons: list[Lesson] = []
        self.lesson_actions: list[QAction] = []
        self.problems: list[str] = []
        """What was wrong with the files of the last folder loaded (one message per bad file)."""
        self._folder_dialog: QFileDialog | None = None
        self._message: QMessageBox | None = None
        self._separator = menu.addSeparator()
        self.folder_action = QAction("Load lessons from folder…", menu)
        self.folder_action.setObjectName("loadLessonsAction")
        self.folder_action.setToolTip("Add the lessons (*.json: title, caption, settings) in a folder of yours")
        self.folder_action.triggered.connect(self._on_load_folder)
        menu.addAction(self.folder_action)
        for lesson in builtin_lessons():
            self.add_lesson(lesson)

    def add_lesson(self, lesson: Lesson) -> QAction:
        action = QAction(lesson.title, self.menu)
        action.setObjectName(f"lesson_{lesson.name}")
        action.setToolTip(lesson.caption)
        action.setStatusTip(lesson.caption)
        action.setData(len(self.lessons))
        action.triggered.connect(self._on_lesson_triggered)
        self.menu.insertAction(self._separator, action)
        self.lessons.append(lesson)
        self.lesson_actions.append(action)
        return action

    def choose(self, lesson: Lesson) -> None:
        """Apply ``lesson``: the callback gets its ``TrainConfig``; the caption shows its title and text. A callback
        that returns False (the person kept the current run) leaves everything as it was."""
        self.choosing.emit(lesson)
        if self.apply_lesson(lesson.config) is False:
            return
        if self.caption is not None:
            self.caption.show_lesson(lesson)
        self.chosen.emit(lesson)

    def load_folder(self, folder) -> int:
        """Add the good lessons of ``folder`` (``*.json``) and return how many; the bad files' messages are left
        in :attr:`problems`."""
        added, self.problems = load_lesson_folder(folder)
        for lesson in added:
            self.add_lesson(lesson)
        return len(added)

    @Slot()
    def _on_lesson_triggered(self) -> None:
        action = self.sender()
        index = action.data() if isinstance(action, QAction) else None
        if isinstance(index, int) and 0 <= index < len(self.lessons):
            self.choose(self.lessons[index])

    @Slot()
    def _on_load_folder(self) -> None:
        # Qt's own dialog, opened without blocking: the same on every platform, and a test can type into it.
        dialog = QFileDialog(self.menu.parentWidget(), "Load lessons from folder", str(Path.home()))
        dialog.setObjectName("lessonFolderDialog")
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOptions(QFileDialog.Option.ShowDirsOnly | QFileDialog.Option.DontUseNativeDialog)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(self._on_folder_chosen)
        self._folder_dialog = dialog
        dialog.open()

    @Slot(str)
    def _on_folder_chosen(self, folder: str) -> None:
        if not folder:
            return
        try:
            count = self.load_folder(folder)
        except OSError as exc:
            self._tell(QMessageBox.Icon.Warning, f"Cannot read {folder}: {exc.strerror or exc}")
            return
        if not self.problems:
            if count == 0:
                self._tell(QMessageBox.Icon.Information, f"No lesson files (*.json) in {folder}.")
            return
        loaded = f"Added {count} lesson{'s' if count != 1 else ''} from {folder} to the Lessons menu."
        bad = "\n".join(f"• {problem}" for problem in self.problems)
        files = "This file is" if len(self.problems) == 1 else "These files are"
        self._tell(QMessageBox.Icon.Warning, f"{loaded}\n\n{files} not a lesson and was left out:\n{bad}")

    def _tell(self, icon, text: str) -> None:
        """One message box, without blocking the window (it stays usable, and tests can read the box)."""
        box = QMessageBox(icon, "Lessons", text, QMessageBox.StandardButton.Ok, self.menu.parentWidget())
        box.setObjectName("lessonsMessage")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._message = box
        box.open()


def build_lessons_menu(menu: QMenu, apply_lesson, caption: "LessonCaption | None" = None) -> LessonMenu:
    """Add one action per lesson to ``menu``, then "Load lessons from folder…".

    Parameters
    ----------
    menu : QMenu
    apply_lesson : callable
        Called with the lesson's :class:`~gdstudio.config.TrainConfig` when one is chosen (the window loads it:
        ``controller.load(config)`` and sets its controls).
    caption : LessonCaption, optional
        Shown with the chosen lesson's title and caption.

    Returns the :class:`LessonMenu` that owns the actions (a child of ``menu``; keeping it is optional).
    """
    return LessonMenu(menu, apply_lesson, caption)


class LessonCaption(QFrame):
    """The chosen lesson's title and caption, with a close button; hidden until a lesson is chosen.

    A lesson that compares two runs (``compare``) also gets "Reset & train again": the comparison's second run
    must start from the same W₀ as the kept one, not continue the first run.

    Signals
    -------
    closed()
    rerun_requested()
        "Reset & train again" was clicked.
    """

    closed = Signal()
    rerun_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("lessonCaption")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("#lessonCaption { background: #fff8dc; border: 1px solid #e0c97f; border-radius: 4px; }")
        self.lesson: Lesson | None = None
        self.title_label = QLabel("")
        self.title_label.setObjectName("lessonTitle")
        self.title_label.setStyleSheet("font-weight: bold")  # not setFont: presenter mode scales the app's font
        self.text_label = QLabel("")
        self.text_label.setObjectName("lessonText")
        self.text_label.setWordWrap(True)
        self.text_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.close_button = QToolButton()
        self.close_button.setObjectName("lessonCloseButton")
        self.close_button.setText("✕")
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip("Hide the lesson's caption")
        self.close_button.clicked.connect(self._on_close_clicked)
        self.rerun_button = QPushButton("Reset && train again")  # "&&": a plain "&", not a shortcut
        self.rerun_button.setObjectName("resetTrainButton")
        self.rerun_button.setToolTip("Reset to the seed's W₀ and train with the settings as they are now, to "
                                     "compare with the kept run")
        self.rerun_button.clicked.connect(self.rerun_requested)
        self.rerun_button.hide()
        rerun_row = QHBoxLayout()
        rerun_row.addWidget(self.rerun_button)
        rerun_row.addStretch(1)
        texts = QVBoxLayout()
        texts.addWidget(self.title_label)
        texts.addWidget(self.text_label)
        texts.addLayout(rerun_row)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 6, 4, 6)
        layout.addLayout(texts, 1)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_lesson(self, lesson: Lesson) -> None:
        self.lesson = lesson
        self.title_label.setText(lesson.title)
        self.text_label.setText(lesson.caption)
        self.rerun_button.setVisible(lesson.compare)
        self.show()

    @Slot()
    def _on_close_clicked(self) -> None:
        self.hide()
        self.closed.emit()


# ----------------------------------------------------------------------------------------------------------------
# Presenter mode

_PRESENTER_PROPERTY = "gdstudioPresenterMode"


def presenter_mode(window: QWidget) -> bool:
    return bool(window.property(_PRESENTER_PROPERTY))


def set_presenter_mode(window: QWidget, on: bool) -> None:
    """Larger fonts (the application's ×1.5) and thicker curves (×2) in ``window``'s plots, for live demos.

    Reversible: turning it off restores the fonts and pens saved when it was turned on. Curves made while it is
    on keep their normal width.
    """
    on = bool(on)
    if presenter_mode(window) == on:
        return
    app = QApplication.instance()
    if on:
        window._presenter_saved = {"font": QFont(app.font()), "items": [], "axes": [], "texts": []}
        saved = window._presenter_saved
        app.setFont(_scaled_font(app.font(), PRESENTER_FONT_SCALE))
        # Plot titles, legends' text, change markers' labels and the views' TextItems carry sizes of their own,
        # which the application's font does not reach.
        saved["texts"] = _scale_texts(_scene_items(window), PRESENTER_FONT_SCALE)
        for plot_item in _plot_items(window):
            for item in plot_item.listDataItems():
                if isinstance(item, pg.PlotDataItem):
                    saved["items"].append((item, item.opts["pen"], item.opts["symbolSize"]))
                    item.setPen(_scaled_pen(item.opts["pen"], PRESENTER_LINE_SCALE))
                    item.setSymbolSize(item.opts["symbolSize"] * PRESENTER_SYMBOL_SCALE)
            for name in ("left", "bottom", "right", "top"):
                axis = plot_item.getAxis(name)
                saved["axes"].append((axis, axis.style.get("tickFont"), QFont(axis.label.font())))
                axis.setTickFont(_scaled_font(app.font(), 1.0))
                axis.label.setFont(_scaled_font(axis.label.font(), PRESENTER_FONT_SCALE))
                _relayout(axis)
    else:
        saved = getattr(window, "_presenter_saved", None) or {"font": app.font(), "items": [], "axes": [],
                                                              "texts": []}
        app.setFont(saved["font"])
        _restore_texts(saved["texts"])
        for item, pen, symbol_size in saved["items"]:
            try:
                item.setPen(pen)
                item.setSymbolSize(symbol_size)
            except RuntimeError:  # the curve was deleted meanwhile
                pass
        for axis, tick_font, label_font in saved["axes"]:
            try:
                axis.setTickFont(tick_font)
                axis.label.setFont(label_font)
                _relayout(axis)
            except RuntimeError:
                pass
        window._presenter_saved = None
    window.setProperty(_PRESENTER_PROPERTY, on)


def adopt_presenter_texts(widget: QWidget, items) -> None:
    """Text items made while presenter mode is on (a change marker's label): they were made in its larger
    application font, so turning the mode off must give them the normal one, as it does the others."""
    window = widget.window()
    saved = getattr(window, "_presenter_saved", None)
    if not presenter_mode(window) or not saved:
        return
    for item in items:
        if isinstance(item, pg.TextItem):
            saved["texts"].append(("text", item, _scaled_font(item.textItem.font(), 1 / PRESENTER_FONT_SCALE)))


def _scene_items(window: QWidget) -> list:
    """Every graphics item of every pyqtgraph view in ``window`` (each once)."""
    items, seen = [], set()
    views = window.findChildren(pg.GraphicsView)
    if isinstance(window, pg.GraphicsView):
        views.insert(0, window)
    for widget in views:
        for graphics_item in widget.scene().items():
            if id(graphics_item) not in seen:
                seen.add(id(graphics_item))
                items.append(graphics_item)
    return items


def _plot_items(window: QWidget):
    return [item for item in _scene_items(window) if isinstance(item, pg.PlotItem)]


def _scale_texts(items, factor: float) -> list[tuple]:
    """Scale the text of pyqtgraph's labels (plot titles, legend entries: a CSS size of their own), text items
    (change markers' labels, the views' numbers) and legends (their next entries); returns what undoes it."""
    undo = []
    for item in items:
        if isinstance(item, pg.LabelItem):
            size = item.opts.get("size")
            font = item.item.font()
            current = size or (f"{font.pointSizeF():.3g}pt" if font.pointSizeF() > 0 else f"{font.pixelSize()}px")
            undo.append(("label", item, size))
            item.setText(item.text, size=_scaled_css_size(current, factor))
        elif isinstance(item, pg.TextItem):
            undo.append(("text", item, QFont(item.textItem.font())))
            item.setFont(_scaled_font(item.textItem.font(), factor))
        elif isinstance(item, pg.LegendItem):
            size = item.opts.get("labelTextSize")
            undo.append(("legend", item, size))
            item.opts["labelTextSize"] = _scaled_css_size(size or "9pt", factor)
    for item in items:
        if isinstance(item, pg.LegendItem):
            item.updateSize()
    return undo


def _restore_texts(undo: list[tuple]) -> None:
    for kind, item, value in undo:
        try:
            if kind == "label":
                if value is None:
                    item.opts.pop("size", None)
                    item.setText(item.text)
                else:
                    item.setText(item.text, size=value)
            elif kind == "text":
                item.setFont(value)
            else:
                item.opts["labelTextSize"] = value
                item.updateSize()
        except RuntimeError:  # deleted meanwhile (a marker of a run that was reset)
            pass


def _scaled_css_size(size: str, factor: float) -> str:
    """``"9pt"`` × 1.5 → ``"13.5pt"``; pixel sizes likewise; anything else unchanged."""
    for unit in ("pt", "px"):
        if size.endswith(unit):
            try:
                return f"{float(size[:-len(unit)]) * factor:.3g}{unit}"
            except ValueError:
                return size
    return size


def _relayout(axis) -> None:
    """Make room for the axis label's new font (pyqtgraph has no public call for it)."""
    update = getattr(axis, "_updateLabel", None)
    if update is not None:
        update()
    axis.resizeEvent()


def _scaled_font(font: QFont, factor: float) -> QFont:
    scaled = QFont(font)
    if font.pointSizeF() > 0:
        scaled.setPointSizeF(font.pointSizeF() * factor)
    elif font.pixelSize() > 0:
        scaled.setPixelSize(max(1, round(font.pixelSize() * factor)))
    return scaled


def _scaled_pen(pen, factor: float):
    if pen is None:
        return None
    scaled = QPen(pg.mkPen(pen))
    if scaled.style() == Qt.PenStyle.NoPen:
        return scaled
    scaled.setWidthF(max(scaled.widthF(), 1.0) * factor)
    return scaled
