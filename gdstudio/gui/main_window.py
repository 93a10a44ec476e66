"""The main window: controls on the left, the live curves in the middle, the run's figures in the status bar.

It wires the views to the :class:`~gdstudio.gui.controller.TrainingController` and holds no training logic: every
number on screen comes from a ``Progress`` record or a ``SessionInfo`` that the training thread sent.
"""

from __future__ import annotations

import math
import re
import time
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QSettings, QSize, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QApplication, QDockWidget, QFileDialog, QGroupBox, QHBoxLayout,
                               QLabel, QMainWindow, QMessageBox, QPlainTextEdit, QPushButton, QScrollArea, QSizePolicy,
                               QStyle, QTabBar, QTabWidget, QTextEdit, QVBoxLayout, QWidget)

from gdstudio import __version__
from gdstudio.config import (IMAGE_FOLDER_DATASET, IMAGE_SIZE_DEFAULT, IMAGE_SIZE_RANGE, LOSS_TITLES, ConfigError,
                             GDStudioError, TrainConfig)
from gdstudio.data.registry import DATASETS, dataset_status
from gdstudio.engine.lessons import FULL_SPEED, Lesson
from gdstudio.engine.progress import DIVERGED, OK, Progress
from gdstudio.engine.session import dataset_defaults
from gdstudio.gui.banner import DivergenceBanner
from gdstudio.gui.controller import (DIVERGED_STATE, ENDED, LOADING, NO_SESSION, PAUSED, READY,
                                     RUNNING_STATE, STARTING, TrainingController)
from gdstudio.gui.controls import ControlsPanel, short_strategy_title, short_title
from gdstudio.gui.curves import REDRAW_BUSY_FRACTION, REDRAW_IDLE_FRACTION, CurvesView, KeptRunsPanel
from gdstudio.gui.datasets import DownloadDialog
from gdstudio.gui.errorlog import log_error
from gdstudio.gui.imagefolder import ImageFolderDialog
from gdstudio.gui.export import save_widget_png, write_curves_csv
from gdstudio.gui.keys import KeyboardRouter
from gdstudio.gui.runfolder import RunFolderDialog
from gdstudio.gui.series import X_AXES, RunCurves
from gdstudio.gui.settings import Preferences
from gdstudio.gui.widgets import VerticalScrollArea, fitted_position, fitted_size, format_number
from gdstudio.gui.views.inspection import INSPECTION_VIEWS
from gdstudio.gui.views.lecture import LECTURE_VIEWS
from gdstudio.gui.views.lessons import LessonCaption, build_lessons_menu, set_presenter_mode
from gdstudio.gui.worker import SessionInfo

# No antialiasing: Qt's software rasteriser draws an antialiased 2-pixel curve of a thousand points in ~100 ms,
# which would stall the event loop (and the training thread waiting for the GIL) at every redraw.
pg.setConfigOptions(background="w", foreground="k", antialias=False)

START_TEXTS = {READY: "Start", RUNNING_STATE: "Pause", PAUSED: "Resume", ENDED: "Continue",
               DIVERGED_STATE: "Start", LOADING: "Start", NO_SESSION: "Start", STARTING: "Starting…"}
STATE_TEXTS = {NO_SESSION: "No data set loaded", LOADING: "Loading…", READY: "Ready", RUNNING_STATE: "Training",
               PAUSED: "Paused", ENDED: "Finished", DIVERGED_STATE: "Diverged", STARTING: "Loading…"}
DEFAULT_WINDOW_SIZE = (1640, 960)
"""The window's first size where the screen has room for it (smaller screens get their available area)."""
PRESENTER_MAX_SIZE = 100_000
"""Presenter mode asks for a window this large: the screen's available area is what it gets."""
VIEW_KEYS = "1234567890"
"""Ctrl+1 … Ctrl+9, Ctrl+0 bring the first ten views to the front (all of them: Ctrl+Tab, View → Views)."""
VIEW_FOCUS_TRIES, VIEW_FOCUS_RETRY_MS = 40, 50
"""A view brought to the front gets the keyboard once its controls show (looked for this often, this long)."""
MAX_TAB_HOPS = 1000
"""Tab passes over the widgets of views hidden behind a tab: at most this many (more than the window has)."""
RATE_WINDOW_S = 1.0
STATUS_INTERVAL_S = 0.1
IN_WINDOW_WORDS = (
    (re.compile(r"download it with `gdstudio datasets download ([\w-]+)`, or pass --data PATH to a copy you have"),
     lambda match: f"download it with File → Data sets → Get {short_title(match[1])}…, or use File → Data sets → "
                   "Locate… to point to a copy you have"),
    (re.compile(r"use --dataset ([\w-]+)"), lambda match: f"choose {short_title(match[1])} in the data set box"),
    (re.compile(r"it takes no --data path"), lambda match: "it needs no archive or folder"),
    (re.compile(r"pass --data DIR, where DIR holds one sub-folder of images per class"),
     lambda match: "choose a folder holding one sub-folder of images per class with File → Open image folder…"),
    (re.compile(r"use --backend cpu"), lambda match: "choose the CPU backend"),
    (re.compile(r"--lr\b"), lambda match: "α"),
    (re.compile(r"--reg\b"), lambda match: "λ"),
)
"""The engine's messages speak to the command line (a ``--data`` flag); in the window they name the menu."""


VIEWS_BESIDE_ROOM = 840
"""Beside the training panel, the curves and a view side by side need this much width (about 440 px for the
curves, 400 for a view). With less (1024×768; presenter mode at 1366×768) the views go below the curves, where
both get the whole width (issue 17 item 5: beside them, the views got 173 px and scrolled sideways)."""
VIEWS_BELOW_SHARE = 0.4
"""The share of the window's height the views get below the curves."""
VIEW_WIDTH = 380
"""The views dock's narrowest first width beside the curves: every view's controls fit it."""
CURVES_WIDTH = 510
"""The curves' width with their options on one row (x axis, log scale, smoothing)."""


def views_dock_width(window_width: int, room: int | None = None) -> int:
    """The views dock's first width beside the curves: a third of the window, but no more than leaves the curves
    ``CURVES_WIDTH`` of the ``room`` beside the training panel, and at least ``VIEW_WIDTH``."""
    wanted = window_width // 3 if room is None else min(window_width // 3, room - CURVES_WIDTH)
    return max(VIEW_WIDTH, wanted)


class RateMeter:
    """Examples per second over the last ``RATE_WINDOW_S`` of wall time, as the user sees the run progress
    (the records' own rates count kernel time only, and a slow pace would not show in them)."""

    def __init__(self) -> None:
        self.points: list[tuple[float, int]] = []

    def clear(self) -> None:
        self.points = []

    def add(self, now: float, examples: int) -> None:
        self.points.append((now, examples))
        while len(self.points) > 2 and now - self.points[1][0] >= RATE_WINDOW_S:
            self.points.pop(0)

    def rate(self) -> float | None:
        if len(self.points) < 2:
            return None
        (t0, e0), (t1, e1) = self.points[0], self.points[-1]
        return (e1 - e0) / (t1 - t0) if t1 > t0 else None


class MainWindow(QMainWindow):
    """GD Studio's window.

    Parameters
    ----------
    dataset : str
        The data set to open with (DESIGN.md §8: the embedded ``digits`` by default).
    settings : QSettings, optional
        Where to remember choices between sessions (``gdstudio`` passes the user's); ``None`` remembers
        nothing, so a window made in a test or a script starts from the data set's defaults.
    """

    def __init__(self, dataset: str = "digits", settings: QSettings | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.setWindowTitle("GD Studio")
        self.prefs = Preferences(settings)
        self.curves = RunCurves()
        self.controller = TrainingController(self)
        self.last_error: tuple[str, str] | None = None
        self._error_box: QMessageBox | None = None
        self._downloads: list[DownloadDialog] = []
        self._image_folder_dialog: ImageFolderDialog | None = None
        self._pending_data_path: tuple[str, str] | None = None
        self._rate_meter = RateMeter()
        self._status_shown = 0.0
        self._loading: str | None = None
        self._closed = False
        self._sizes_before_presenter: tuple[QSize, list[int]] | None = None
        self._dock_widths_wanted: list[int] = []
        self.run_folder: str | None = None
        """Where File → Save writes: the folder the run was opened from or last saved to."""
        self.lesson_in_force = False
        """The controls hold a lesson's values, which are not remembered as the user's (until the user opens a
        data set or a run, or restores the defaults)."""

        self._build_widgets()
        self._build_views()
        self._keyboard = KeyboardRouter(self)
        for watched in (self, self.controls_dock, *self.view_docks.values()):
            watched.installEventFilter(self._keyboard)  # a floating dock is a window: its keys stop there
        self._build_actions()
        self._build_menus()
        self._connect()
        self._restore_view_settings()
        self._refresh_datasets()
        self._on_state_changed(self.controller.state)
        self.open_dataset(dataset if dataset in DATASETS else "digits")

    # ----------------------------------------------------------------------------------------------------------
    # Building

    def _build_widgets(self) -> None:
        style = self.style()
        self.start_button = QPushButton("Start", objectName="startButton")
        self.start_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
        self.start_button.setToolTip("Start or pause training (Space)")
        self.start_button.setMinimumHeight(34)
        font = self.start_button.font()
        font.setBold(True)
        self.start_button.setFont(font)
        self.step_button = QPushButton("Step", objectName="stepButton")
        self.step_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_MediaSkipForward))
        self.step_button.setToolTip("One mini-batch step, then pause (S)")
        self.reset_button = QPushButton("Reset", objectName="resetButton")
        self.reset_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_BrowserReload))
        self.reset_button.setToolTip("New random W from the seed; clears the curves (R)")
        for button in (self.step_button, self.reset_button):
            button.setMinimumHeight(34)

        self.controls = ControlsPanel()
        self.view = CurvesView(self.curves)
        self.kept_panel = KeptRunsPanel(self.view)
        self.banner = DivergenceBanner()

        run_row = QHBoxLayout()
        run_row.addWidget(self.start_button, 2)
        run_row.addWidget(self.step_button, 1)
        run_row.addWidget(self.reset_button, 1)
        kept_box = QGroupBox("Compare runs")
        kept_layout = QVBoxLayout(kept_box)
        kept_layout.addWidget(self.kept_panel)
        panel = QWidget(objectName="controlsPanel")
        panel_layout = QVBoxLayout(panel)
        panel_layout.addLayout(run_row)
        panel_layout.addWidget(self.controls)
        panel_layout.addWidget(kept_box)
        panel_layout.addStretch(1)
        scroll = VerticalScrollArea()
        scroll.setWidget(panel)
        self.controls_dock = QDockWidget("Training", self)
        self.controls_dock.setObjectName("controlsDock")
        self.controls_dock.setWidget(scroll)
        # Closable: View → Training panel hides it, and gives its room to the curves and views (issue 17 item 5).
        self.controls_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                                       | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                                       | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.controls_dock.toggleViewAction().setText("Training panel")
        self.controls_dock.toggleViewAction().setStatusTip("Show or hide the training panel (Start and Reset stay in "
                                                           "the Run menu)")
        self.controls_dock.installEventFilter(self)  # its width decides where the views go
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.controls_dock)
        # The training panel keeps the whole height on the left, so views below the curves do not run under it.
        for corner in (Qt.Corner.TopLeftCorner, Qt.Corner.BottomLeftCorner):
            self.setCorner(corner, Qt.DockWidgetArea.LeftDockWidgetArea)
        for corner in (Qt.Corner.TopRightCorner, Qt.Corner.BottomRightCorner):
            self.setCorner(corner, Qt.DockWidgetArea.RightDockWidgetArea)

        central = QWidget(objectName="centralArea")
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 0)
        self.lesson_caption = LessonCaption()
        layout.addWidget(self.lesson_caption)
        layout.addWidget(self.banner)
        layout.addWidget(self.view, 1)
        self.setCentralWidget(central)

        status = self.statusBar()
        self.state_label = QLabel(objectName="stateLabel")
        self.final_label = QLabel(objectName="finalLabel")
        self.step_label = QLabel(objectName="stepLabel")
        self.epoch_label = QLabel(objectName="epochLabel")
        self.rate_label = QLabel(objectName="rateLabel")
        self.loss_label = QLabel(objectName="lossLabel")
        self.backend_label = QLabel(objectName="backendLabel")
        # What loading the data set skipped (an image folder's unreadable files): it stays while that data set is
        # loaded; cut to the room there is (the whole line is its tooltip), never widening the window.
        self.notice_label = QLabel(objectName="dataNoticeLabel")
        self.notice_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.notice_label.hide()
        status.addWidget(self.state_label)
        status.addWidget(self.notice_label, 1)
        status.addWidget(self.final_label, 1)
        for label, tip in ((self.step_label, "Steps done"), (self.epoch_label, "Passes over the training set"),
                           (self.rate_label, "Training examples per second"),
                           (self.loss_label, "Loss of the last mini-batch"),
                           (self.backend_label, "Where the kernels run")):
            label.setToolTip(tip)
            label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
            status.addPermanentWidget(label)
        self._show_status(None)
        # The size a 1080p screen shows well, cut to the screen the window opens on (a 1280×720 projector).
        self.resize(fitted_size(self, QSize(*DEFAULT_WINDOW_SIZE)))

    def _build_views(self) -> None:
        """Every inspection and lecture view, in tabbed docks on the right, created now so that tests and demos
        find them by object name. A hidden tab does not redraw, so only the view on top costs anything."""
        self.views: dict[str, QWidget] = {}
        self.view_docks: dict[str, QDockWidget] = {}
        first = None
        for cls in INSPECTION_VIEWS + LECTURE_VIEWS:
            view = cls(self.controller)
            dock = QDockWidget(cls.title, self)
            dock.setObjectName(f"{cls.object_name}Dock")
            holder = QScrollArea()  # a narrow dock scrolls its view rather than squeezing the curves
            holder.setWidgetResizable(True)
            holder.setFrameShape(QScrollArea.Shape.NoFrame)
            holder.setWidget(view)
            dock.setWidget(holder)
            self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
            if first is None:
                first = dock
            else:
                self.tabifyDockWidget(first, dock)
            self.views[cls.object_name] = view
            self.view_docks[cls.object_name] = dock
        for area in (Qt.DockWidgetArea.RightDockWidgetArea, Qt.DockWidgetArea.BottomDockWidgetArea):
            self.setTabPosition(area, QTabWidget.TabPosition.North)
        self._configure_tab_bars()
        # Tab moves on from a table or a text box (a table's Tab walked its cells, and the focus stayed there).
        for view in self.views.values():
            for table in view.findChildren(QAbstractItemView):
                table.setTabKeyNavigation(False)
            for text in (*view.findChildren(QTextEdit), *view.findChildren(QPlainTextEdit)):
                text.setTabChangesFocus(True)
        first.raise_()
        self._views_dock = first
        self._docks_sized = False
        self._views_below_for_width: bool | None = None
        """Where the window's width last put the views (below the curves or beside them); the person may move
        them with View → Views below the curves, and the width moves them again only when it asks otherwise."""
        self._views_beside_width: int | None = None
        self._arrangement_due = False
        self.views["confusionView"].on_cell_clicked = self._show_confusion_cell

    def _show_confusion_cell(self, true_class: int, predicted: int, indices) -> None:
        """A click on a confusion cell lists those validation images in the inspector."""
        self.view_docks["inspectorView"].raise_()
        self.views["inspectorView"].show_cell(true_class, predicted, indices)

    def apply_lesson(self, config: TrainConfig) -> bool:
        """Load a lesson's settings as a new run (the caption is shown by the lessons menu); asks first when that
        throws a trained run away. False when the person keeps the run."""
        if not self.confirm_discard("The lesson"):
            return False
        self._load(config, self._data_path_for(config.dataset))
        return True

    def _load(self, config: TrainConfig, data_path=None) -> None:
        """Make a new session from ``config``; the boxes show its settings from the first paint, while it loads."""
        self.controls.show_config(config.with_defaults(dataset_defaults(config.dataset)))
        self.controller.load(config, data_path)

    def _configure_tab_bars(self) -> None:
        """Whole titles and scroll arrows, not ten titles cut to "Cl…". QMainWindow makes a new tab bar whenever
        it lays docks out anew (restoring their state, a dock dragged back), so this runs for each new one."""
        for bar in self.findChildren(QTabBar):
            if bar.parentWidget() is self and bar.elideMode() != Qt.TextElideMode.ElideNone:
                bar.setElideMode(Qt.TextElideMode.ElideNone)
                bar.setUsesScrollButtons(True)

    def set_presenter_mode(self, on: bool) -> None:
        """Presenter mode (F11): larger fonts and lines, in a window that stays inside its screen; when it ends,
        the window and the views dock come back to their sizes."""
        on = bool(on)
        if on and self._sizes_before_presenter is None:
            self._sizes_before_presenter = (self.size(), [self.controls_dock.width(), self._views_dock.width()])
        set_presenter_mode(self, on)
        if on and not (self.isMaximized() or self.isFullScreen()):
            # The whole screen for the larger fonts: on a 1920×1080 screen a 1640×960 window gave the curves
            # what the enlarged training panel left of it.
            self.resize(fitted_size(self, QSize(PRESENTER_MAX_SIZE, PRESENTER_MAX_SIZE)))
        if not on and self._sizes_before_presenter is not None:
            size, self._dock_widths_wanted = self._sizes_before_presenter
            self._sizes_before_presenter = None
            self.resize(size)
            # The docks' minimum widths follow the fonts once their change has gone through the event loop.
            QTimer.singleShot(0, self, self._restore_dock_widths)
        self._keep_on_screen()
        if self.presenter_action.isChecked() != on:
            self.presenter_action.setChecked(on)

    @Slot()
    def _restore_dock_widths(self, tries: int = 5) -> None:
        """Give the docks back their widths from before presenter mode. The minimum widths of the curves and
        the docks shrink back over a few passes of the event loop as the font change reaches each widget, so
        this tries again until the views dock has its width."""
        if not self._dock_widths_wanted:
            return
        self.resizeDocks([self.controls_dock, self._views_dock], self._dock_widths_wanted, Qt.Orientation.Horizontal)
        if abs(self._views_dock.width() - self._dock_widths_wanted[1]) > 2 and tries > 1:
            QTimer.singleShot(50, self, lambda: self._restore_dock_widths(tries - 1))
        else:
            self._dock_widths_wanted = []

    # Where the views go ---------------------------------------------------------------------------------------

    def _view_docks_in(self, *areas: Qt.DockWidgetArea) -> list[QDockWidget]:
        return [dock for dock in self.view_docks.values()
                if not dock.isFloating() and self.dockWidgetArea(dock) in areas]

    @property
    def views_below(self) -> bool:
        """The views are in tabs below the curves (not beside them on the right)."""
        docked = self._view_docks_in(Qt.DockWidgetArea.RightDockWidgetArea, Qt.DockWidgetArea.BottomDockWidgetArea)
        return bool(docked) and all(self.dockWidgetArea(dock) == Qt.DockWidgetArea.BottomDockWidgetArea
                                    for dock in docked)

    @Slot(bool)
    def set_views_below(self, below: bool) -> None:
        """Put the docked views in tabs below the curves (``below``), or beside them on the right. The view on top
        stays on top, closed views stay closed, floated ones stay where they are."""
        below = bool(below)
        right, bottom = Qt.DockWidgetArea.RightDockWidgetArea, Qt.DockWidgetArea.BottomDockWidgetArea
        target = bottom if below else right
        docked = self._view_docks_in(right, bottom)
        moving = [dock for dock in docked if self.dockWidgetArea(dock) != target]
        if moving:
            if below:
                beside = [dock for dock in moving if dock.isVisible()]
                if beside:
                    self._views_beside_width = beside[0].width()
            on_top = next((dock for dock in docked if dock.isVisible() and not dock.visibleRegion().isEmpty()), None)
            closed = [dock for dock in moving if dock.isHidden()]
            anchor = next((dock for dock in docked if dock not in moving and not dock.isHidden()), None)
            for dock in [d for d in moving if not d.isHidden()] + closed:  # a closed one joins the tabs, hidden
                if anchor is None:
                    self.addDockWidget(target, dock)
                    anchor = dock
                else:
                    self.tabifyDockWidget(anchor, dock)
            for dock in closed:
                dock.hide()
            if on_top is not None:
                on_top.raise_()
            self._configure_tab_bars()
            # Sizes of docks hold once the layout has placed them in their new area.
            QTimer.singleShot(0, self, self._size_views_area)
        if self.views_below_action.isChecked() != below:
            self.views_below_action.setChecked(below)

    @Slot()
    def _size_views_area(self) -> None:
        """The views' share of the window in their area: below the curves, ``VIEWS_BELOW_SHARE`` of the height;
        beside them, the width they had there, or their first width where that is more."""
        below = self.views_below
        shown = [dock for dock in self._view_docks_in(Qt.DockWidgetArea.BottomDockWidgetArea if below
                                                      else Qt.DockWidgetArea.RightDockWidgetArea)
                 if dock.isVisible()]
        if not shown:
            return
        if below:
            height = self.height() - self.menuBar().height() - self.statusBar().height()
            self.resizeDocks([shown[0]], [int(VIEWS_BELOW_SHARE * height)], Qt.Orientation.Vertical)
        else:
            # The width they had there, unless that was a sliver (a small window's first layout put them there).
            first = views_dock_width(self.width(), self._room_beside_panel())
            width = max(self._views_beside_width or 0, first)
            self.resizeDocks([shown[0]], [width], Qt.Orientation.Horizontal)

    def _room_beside_panel(self) -> int:
        """The window's width less the training panel's, where the curves and the views share it."""
        panel = self.controls_dock
        docked = panel.isVisible() and not panel.isFloating()
        return self.width() - (panel.width() if docked else 0)

    def _arrange_views_later(self) -> None:
        if self._docks_sized and not self._arrangement_due:
            self._arrangement_due = True
            QTimer.singleShot(0, self, self._arrange_views_for_width)

    @Slot()
    def _arrange_views_for_width(self) -> None:
        """Below the curves when the room beside the training panel is too narrow for the curves and a view side
        by side; beside them when it is wide enough. Only when the width asks otherwise than it last did: a
        person's own choice (View → Views below the curves) stays until then."""
        self._arrangement_due = False
        below = self._room_beside_panel() < VIEWS_BESIDE_ROOM
        if below != self._views_below_for_width:
            self._views_below_for_width = below
            self.set_views_below(below)

    def resizeEvent(self, event) -> None:  # Qt override
        super().resizeEvent(event)
        self._arrange_views_later()

    def eventFilter(self, watched, event) -> bool:  # Qt override
        if watched is self.controls_dock and event.type() in (QEvent.Type.Resize, QEvent.Type.Show,
                                                              QEvent.Type.Hide):
            self._arrange_views_later()  # the panel's width changed (presenter mode) or it was hidden
        return super().eventFilter(watched, event)

    def _keep_on_screen(self) -> None:
        """Inside the screen's available area (frame included), at the size asked for or smaller."""
        if self.isMaximized() or self.isFullScreen():
            return
        self.resize(fitted_size(self, self.size()))
        self.move(fitted_position(self))

    def childEvent(self, event) -> None:  # Qt override
        super().childEvent(event)
        if event.type() == QEvent.Type.ChildPolished and isinstance(event.child(), QTabBar):
            self._configure_tab_bars()

    def _action(self, text: str, slot, shortcut=None, tip: str = "", checkable: bool = False) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.setCheckable(checkable)
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts work even with the menu bar hidden
        return action

    def _build_actions(self) -> None:
        self.start_action = self._action("Start / Pause", self.toggle_training, Qt.Key.Key_Space,
                                         "Start or pause training")
        self.step_action = self._action("Step", self.single_step, Qt.Key.Key_S, "One mini-batch step")
        self.reset_action = self._action("Reset", self.reset_run, Qt.Key.Key_R, "New random W from the seed")
        self.keep_action = self._action("Keep this run", self.keep_run, Qt.Key.Key_K,
                                        "Pin the current curves to compare the next run with them")
        self.clear_kept_action = self._action("Remove kept runs", self.view.clear_kept, None,
                                              "Remove every kept run from the plots")
        self.open_action = self._action("Open run…", self.choose_run_to_open, QKeySequence.StandardKey.Open,
                                        "Open a saved run folder: curves, weights and settings")
        self.save_action = self._action("Save run", self.save_current_run, QKeySequence.StandardKey.Save,
                                        "Save the run back into its folder (the first time: choose a folder)")
        self.save_as_action = self._action("Save run as…", self.choose_run_folder, QKeySequence("Ctrl+Shift+S"),
                                           "Save the run (config.json, metrics.csv, weights.npz) into a new folder")
        self.open_image_folder_action = self._action(
            "Open image folder…", self.choose_image_folder, None,
            "Train on your own images: a folder holding one sub-folder of images per class")
        self.open_image_folder_action.setObjectName("openImageFolderAction")
        self.export_csv_action = self._action("Export curves as CSV…", self.choose_csv_file, None,
                                              "Every recorded step as a table")
        self.export_png_action = self._action("Export plots as PNG…", self.choose_png_file, None,
                                              "The plots as they are on screen")
        # Ctrl+Q explicitly: QKeySequence.Quit is empty on Linux without a platform theme.
        self.quit_action = self._action("Quit", self.close, QKeySequence("Ctrl+Q"), "Close GD Studio")
        self.log_action = self._action("Log-scale loss", self.view.set_log_loss, Qt.Key.Key_L,
                                       "Draw the loss on a logarithmic axis", checkable=True)
        self.x_axis_group = QActionGroup(self)
        self.x_axis_actions = {}
        for axis, title in X_AXES.items():
            action = QAction(f"x axis: {title}", self, checkable=True)
            action.setData(axis)
            action.triggered.connect(self._on_x_axis_action)
            self.x_axis_group.addAction(action)
            self.x_axis_actions[axis] = action
        self.x_axis_actions["step"].setChecked(True)
        self.presenter_action = self._action("Presenter mode", self.set_presenter_mode, Qt.Key.Key_F11,
                                             "Larger fonts and thicker lines for live demos", checkable=True)
        self.view_actions: dict[str, QAction] = {}
        for index, (name, dock) in enumerate(self.view_docks.items()):
            shortcut = QKeySequence(f"Ctrl+{VIEW_KEYS[index]}") if index < len(VIEW_KEYS) else None
            action = self._action(dock.windowTitle(), self._on_view_action, shortcut,
                                  f"Bring {dock.windowTitle()} to the front")
            action.setData(name)
            self.view_actions[name] = action
        self.next_view_action = self._action("Next view", self._on_next_view, QKeySequence("Ctrl+Tab"),
                                             "Bring the next view to the front")
        self.previous_view_action = self._action("Previous view", self._on_previous_view,
                                                 QKeySequence("Ctrl+Shift+Tab"),
                                                 "Bring the previous view to the front")
        self.views_below_action = self._action("Views below the curves", self.set_views_below, None,
                                               "The views in tabs below the curves (a narrow window puts them there)",
                                               checkable=True)
        self.about_action = QAction("About GD Studio", self)
        self.about_action.triggered.connect(self.show_about)

    def _build_menus(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addAction(self.open_action)
        file_menu.addAction(self.save_action)
        file_menu.addAction(self.save_as_action)
        file_menu.addSeparator()
        file_menu.addAction(self.export_csv_action)
        file_menu.addAction(self.export_png_action)
        file_menu.addSeparator()
        data_menu = file_menu.addMenu("Data sets")
        for action in self.controls.data_menu.actions():
            data_menu.addAction(action)
        file_menu.addAction(self.open_image_folder_action)
        self.controls.data_menu.addSeparator()  # the panel's Get… button offers it too
        self.controls.data_menu.addAction(self.open_image_folder_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        run_menu = menu.addMenu("&Run")
        for action in (self.start_action, self.step_action, self.reset_action):
            run_menu.addAction(action)
        run_menu.addSeparator()
        run_menu.addAction(self.keep_action)
        run_menu.addAction(self.clear_kept_action)
        run_menu.addSeparator()
        self.restore_defaults_action = self._action(
            "Restore defaults", self.restore_defaults, None,
            "The data set's own α, λ, batch size, epochs and input, softmax and SGD, as a new run")
        run_menu.addAction(self.restore_defaults_action)
        view_menu = menu.addMenu("&View")
        for action in self.x_axis_actions.values():
            view_menu.addAction(action)
        view_menu.addSeparator()
        view_menu.addAction(self.log_action)
        view_menu.addSeparator()
        view_menu.addAction(self.controls_dock.toggleViewAction())
        view_menu.addAction(self.views_below_action)
        views_menu = view_menu.addMenu("Views")
        for action in self.view_actions.values():
            views_menu.addAction(action)  # brings the view to the front (showing it again if it was closed)
        views_menu.addSeparator()
        views_menu.addAction(self.next_view_action)
        views_menu.addAction(self.previous_view_action)
        shown_menu = views_menu.addMenu("Show or hide")
        for dock in self.view_docks.values():
            shown_menu.addAction(dock.toggleViewAction())
        view_menu.addSeparator()
        view_menu.addAction(self.presenter_action)
        self.lessons_menu = menu.addMenu("&Lessons")
        self._lessons = build_lessons_menu(self.lessons_menu, self.apply_lesson, self.lesson_caption)
        self._lessons.choosing.connect(self._on_lesson_choosing)
        self._lessons.chosen.connect(self._on_lesson_chosen)
        self.lesson_caption.rerun_requested.connect(self.reset_and_train)
        help_menu = menu.addMenu("&Help")
        help_menu.addAction(self.about_action)

    def _connect(self) -> None:
        controller = self.controller
        controller.loaded.connect(self._on_loaded)
        controller.progressed.connect(self._on_progressed)
        controller.ended.connect(self._on_ended)
        controller.state_changed.connect(self._on_state_changed)
        controller.saved.connect(self._on_saved)
        controller.failed.connect(self._on_failed)
        controller.backends_checked.connect(self._on_backends_checked)
        controller.settings_requested.connect(self._on_settings_requested)
        controller.run_data_missing.connect(self._on_run_data_missing)
        for view in self.views.values():
            controller.loaded.connect(view.on_loaded)
            controller.progressed.connect(view.on_progress)
            controller.ended.connect(view.on_ended)
        self.start_button.clicked.connect(self.toggle_training)
        self.step_button.clicked.connect(self.single_step)
        self.reset_button.clicked.connect(self.reset_run)
        self.kept_panel.keep_requested.connect(self.keep_run)
        self.banner.resume_requested.connect(self._on_resume_requested)
        controls = self.controls
        controls.live_changed.connect(self._on_live_changed)
        controls.epochs_changed.connect(self._on_epochs_changed)
        controls.pace_changed.connect(self._on_pace_changed)
        controls.rebuild_requested.connect(self._on_rebuild_requested)
        controls.dataset_chosen.connect(self._on_dataset_chosen)
        controls.dataset_missing.connect(self._on_dataset_missing)
        controls.get_requested.connect(self.download_dataset)
        controls.locate_requested.connect(self.choose_data_path)
        self.view.log_check.toggled.connect(self.log_action.setChecked)
        self.view.x_axis_combo.currentIndexChanged.connect(self._on_x_axis_combo)

    # ----------------------------------------------------------------------------------------------------------
    # Commands (the menu, the buttons, the shortcuts, and tests call these)

    @Slot()
    def toggle_training(self) -> None:
        """Start, pause, resume or continue; while a data set loads, start the run once it has loaded."""
        if not self.controller.can("start"):
            return
        self.controls.flush_live()  # a value still being typed or dragged applies before the run goes on
        if not self.controller.running:
            self.banner.hide()
        self.controller.toggle(extend_epochs=self.controls.value("epochs"))

    @Slot()
    def single_step(self) -> None:
        if self.controller.can("step"):
            self.controls.flush_live()
            self.controller.single_step()

    @Slot()
    def reset_run(self) -> None:
        """A new random W from the seed, for a run as long as the Epochs field says (Continue moved the old
        run's end on; the next run must not be three times longer for it)."""
        if self.controller.info is None or not self.controller.can("reset"):
            return
        self.controls.flush_live()
        self.controller.reset(seed=self.controls.value("seed"), epochs=self.controls.value("epochs"))

    def show_view(self, name: str) -> None:
        """Bring view ``name`` to the front (showing its dock again if it was closed) and give it the keyboard."""
        dock = self.view_docks[name]
        if dock.isHidden():
            dock.show()
        dock.raise_()
        if dock.isFloating():
            dock.activateWindow()
        dock.widget().setFocus(Qt.FocusReason.TabFocusReason)
        self._focus_view(name, VIEW_FOCUS_TRIES)

    def _focus_view(self, name: str, tries: int) -> None:
        """The keyboard to the first control of view ``name``. A view shows its controls only once it has been
        drawn in front (until then its dock holds the focus), so this looks again for a while, unless the person
        has moved the focus on in the meantime."""
        dock = self.view_docks[name]
        if QApplication.focusWidget() is not dock.widget():
            return
        first = self._first_tab_stop(self.views[name])
        if first is not None:
            first.setFocus(Qt.FocusReason.TabFocusReason)
        elif tries > 1:
            QTimer.singleShot(VIEW_FOCUS_RETRY_MS, self, lambda: self._focus_view(name, tries - 1))

    def _first_tab_stop(self, view: QWidget) -> QWidget | None:
        """The first widget of ``view`` that Tab would stop on."""
        widget = self.nextInFocusChain()
        while widget is not self:
            if view.isAncestorOf(widget) and self._tab_stop(widget):
                return widget
            widget = widget.nextInFocusChain()
        return None

    @staticmethod
    def _tab_stop(widget: QWidget) -> bool:
        return (bool(widget.focusPolicy() & Qt.FocusPolicy.TabFocus) and widget.isEnabled()
                and widget.isVisible() and widget.focusProxy() is None)

    def _front_view(self) -> str | None:
        """The view that holds the keyboard, else the first one that can be seen."""
        focus = QApplication.focusWidget()
        for name, view in self.views.items():
            if focus is not None and view.isAncestorOf(focus):
                return name
        return next((name for name, view in self.views.items() if not view.visibleRegion().isEmpty()), None)

    def _step_view(self, steps: int) -> None:
        names = [name for name, dock in self.view_docks.items() if not dock.isHidden()]
        if not names:
            return
        current = self._front_view()
        index = names.index(current) if current in names else -steps if steps > 0 else 0
        self.show_view(names[(index + steps) % len(names)])

    @Slot()
    def _on_view_action(self) -> None:
        self.show_view(self.sender().data())

    @Slot()
    def _on_next_view(self) -> None:
        self._step_view(1)

    @Slot()
    def _on_previous_view(self) -> None:
        self._step_view(-1)

    def focusNextPrevChild(self, next: bool) -> bool:  # Qt override (Tab and Shift+Tab end up here)
        """Tab and Shift+Tab pass over the views hidden behind another view's tab: a tabbed dock stays "visible"
        to Qt, and the focus walked into views no one could see (issue 17 item 4)."""
        start = QApplication.focusWidget()
        for _ in range(MAX_TAB_HOPS):
            if not super().focusNextPrevChild(next):
                return False
            widget = QApplication.focusWidget()
            if widget is None or widget is start or not self._behind_a_tab(widget):
                return True
        return True

    def _behind_a_tab(self, widget: QWidget) -> bool:
        for name, dock in self.view_docks.items():
            if dock.isAncestorOf(widget):
                return self.views[name].visibleRegion().isEmpty()
        return False

    def confirm_discard(self, what: str) -> bool:
        """Ask before ``what`` (e.g. "Opening a run") replaces a run that has trained; True: go ahead."""
        steps = self.controller.steps_done
        if self.controller.info is None or steps == 0:
            return True
        box = QMessageBox(QMessageBox.Icon.Question, "Discard the current run?",
                          f"{what} replaces the current run. Its {steps:,} steps of training (curves and weights) "
                          "will be discarded unless you save it first (File → Save run).", parent=self)
        box.setObjectName("discardRunDialog")
        discard = box.addButton("Discard run", QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(keep)
        box.exec()
        return box.clickedButton() is discard

    @Slot()
    def keep_run(self) -> None:
        label = self._run_label()
        if self.view.keep(label) is None:
            self.statusBar().showMessage("Nothing to keep yet: start a run first", 4000)

    def open_dataset(self, name: str) -> None:
        """Make a new session on data set ``name`` with the remembered (or default) hyperparameters."""
        if self.controller.info is not None:
            self._remember_hyperparameters()
        try:
            config = self._config_for(name)
        except ConfigError:
            config = TrainConfig(dataset=name)
        self._loading = name
        self._load(config, self._data_path_for(name))

    @Slot(str)
    def _on_dataset_chosen(self, name: str) -> None:
        if name == IMAGE_FOLDER_DATASET and self._data_path_for(name) is None:
            # No folder of one's own yet: choose one, once the box's list has closed (a modal chooser opened
            # inside the click that closes it got that click's keys and mouse).
            QTimer.singleShot(0, self, self.choose_image_folder)
        elif self.confirm_discard("Another data set"):
            self.open_dataset(name)

    def open_run(self, folder, data_path=None) -> None:
        """Open a saved run folder: its curves, weights and settings replace the current run. ``data_path``:
        where its data set is now (else where the run says it was, or where the window finds it)."""
        self.controller.pause()
        paths = self._data_paths()
        paths.pop(IMAGE_FOLDER_DATASET, None)  # a run on images reopens its own folder, not the last one opened
        self.controller.open_run(folder, paths, data_path)

    def save_run(self, folder) -> None:
        """Save the current run into ``folder`` (DESIGN.md §7), in the training thread between chunks."""
        self.controls.flush_live()  # α typed a moment ago is part of the run saved (it waits 0.2 s to be sent)
        self.controller.save_run(folder)

    def export_csv(self, path) -> Path:
        return write_curves_csv(path, self.curves)

    def export_png(self, path) -> Path:
        """Save the two plots, drawn from the data now (the redraw timer may not have drawn the last of it)."""
        self.view.redraw()
        return save_widget_png(path, self.view.plots)

    def download_dataset(self, name: str, download=None) -> DownloadDialog:
        """Download ``name`` behind a progress dialog; it opens when the download succeeds."""
        dialog = DownloadDialog(name, self, **({"download": download} if download is not None else {}))
        dialog.download_finished.connect(self._on_download_finished)
        self._downloads.append(dialog)
        dialog.start()
        return dialog

    def use_data_path(self, name: str, path: str) -> None:
        """Open data set ``name`` from ``path`` (an archive or folder); remembered once it loads."""
        self._pending_data_path = (name, str(path))
        if self.controller.info is not None:
            self._remember_hyperparameters()
        try:
            config = self._config_for(name)
        except ConfigError:
            config = TrainConfig(dataset=name)
        self._loading = name
        self._load(config, str(path))

    def use_image_folder(self, folder: str, image_size: int, grey: bool) -> None:
        """Open a folder of class folders as the data set ``images``, its images ``image_size`` square and grey
        or in colour; the folder and the options are remembered once it loads."""
        self.prefs.set("images/size", str(int(image_size)))
        self.prefs.set("images/grey", "true" if grey else "false")
        self.use_data_path(IMAGE_FOLDER_DATASET, folder)

    # Dialog front ends -----------------------------------------------------------------------------------------

    @Slot()
    def choose_image_folder(self) -> None:
        """A directory chooser, then the image size and grey choice; loads the folder in the training thread."""
        remembered = self._data_paths().get(IMAGE_FOLDER_DATASET)
        start = str(Path(remembered).parent) if remembered else self._last_folder()
        folder = QFileDialog.getExistingDirectory(self, "Open image folder: a folder of class folders", start)
        if not folder:
            return
        options = self._image_options(IMAGE_FOLDER_DATASET)
        if self._image_folder_dialog is None:  # one, kept: deleting a dialog that just closed raced with its
            self._image_folder_dialog = ImageFolderDialog(folder, parent=self)  # last events
        dialog = self._image_folder_dialog
        dialog.show_choice(folder, options["image_size"], options["grey"])
        if dialog.exec() != ImageFolderDialog.DialogCode.Accepted:
            return
        folder, image_size, grey = dialog.choice()
        if folder and self.confirm_discard(f"Opening {Path(folder).name}"):
            self.prefs.set("files/last_folder", str(Path(folder).parent))
            self.use_image_folder(folder, image_size, grey)

    @Slot()
    def choose_run_to_open(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open run folder", self._last_folder())
        if folder and self.confirm_discard("Opening a run"):
            self.prefs.set("files/last_folder", str(Path(folder).parent))
            self.open_run(folder)

    @Slot()
    def save_current_run(self) -> None:
        """Write the run back into the folder it was opened from or last saved to (an opened run continues there)."""
        if self.run_folder is None:
            self.choose_run_folder()
        else:
            self.save_run(self.run_folder)

    @Slot()
    def choose_run_folder(self) -> None:
        """Ask for a new run folder (the folder it goes in, and its name) and save there; without blocking."""
        if self.controller.info is None:
            return
        info = self.controller.info
        dialog = RunFolderDialog(self._last_folder(), f"run-{info.dataset}-{self.controls.value('loss')}", self)
        dialog.accepted.connect(self._on_run_folder_chosen)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    @Slot()
    def _on_run_folder_chosen(self) -> None:
        folder = self.sender().folder()
        if folder is not None:
            self.prefs.set("files/last_folder", str(folder.parent))
            self.save_run(str(folder))

    @Slot()
    def choose_csv_file(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export curves as CSV",
                                              str(Path(self._last_folder()) / "curves.csv"), "CSV (*.csv)")
        if path:
            self._export(self.export_csv, path)

    @Slot()
    def choose_png_file(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export plots as PNG",
                                              str(Path(self._last_folder()) / "curves.png"), "PNG image (*.png)")
        if path:
            self._export(self.export_png, path)

    def _export(self, export, path: str) -> None:
        self.prefs.set("files/last_folder", str(Path(path).parent))
        try:
            export(path)
        except GDStudioError as exc:
            self.show_error("Export failed", str(exc))
        else:
            self.statusBar().showMessage(f"Wrote {path}", 5000)

    @Slot(str, bool)
    def choose_data_path(self, name: str, folder: bool) -> None:
        title = f"Locate {short_title(name)}"
        if folder:
            path = QFileDialog.getExistingDirectory(self, title, self._last_folder())
        else:
            path, _ = QFileDialog.getOpenFileName(self, title, self._last_folder(),
                                                  "Archives (*.tar.gz *.tgz *.tar *.gz *.zip);;All files (*)")
        if path and self.confirm_discard(f"Opening {short_title(name)}"):
            self.use_data_path(name, path)

    @Slot(str)
    def _on_dataset_missing(self, name: str) -> None:
        title, package = short_title(name), DATASETS[name].system_package
        system = (f"\n\nOn Debian or Ubuntu, `sudo apt-get install {package}` installs it for every user of this "
                  "computer; GD Studio finds it there." if package else "")
        box = QMessageBox(QMessageBox.Icon.Question, f"{title} is not on this computer",
                          f"{DATASETS[name].title} is not downloaded yet.\n\nDownload it now (into "
                          f"{self._cache_hint(name)}), or point to an archive or folder you already have?{system}",
                          parent=self)
        box.setObjectName("missingDatasetDialog")
        download = box.addButton("Download", QMessageBox.ButtonRole.AcceptRole)
        archive = box.addButton("Locate archive…", QMessageBox.ButtonRole.ActionRole)
        folder = box.addButton("Locate folder…", QMessageBox.ButtonRole.ActionRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        clicked = box.clickedButton()
        if clicked is download:
            self.download_dataset(name)
        elif clicked is archive:
            self.choose_data_path(name, False)
        elif clicked is folder:
            self.choose_data_path(name, True)

    @Slot(str, str, str, str)
    def _on_run_data_missing(self, folder: str, name: str, recorded: str, message: str) -> None:
        """A run folder's data set is not where it was: ask where it is (a folder or an archive), then open the
        run with it. The engine's ``message`` speaks to the command line (``--data``), so the question is the
        window's own, about its buttons."""
        title = short_title(name)
        where = (f"It was read from {recorded}, which is not there now." if recorded else
                 f"{title} is not on this computer (nor in {self._cache_hint(name)}).")
        box = QMessageBox(QMessageBox.Icon.Question, f"Where is {title}?",
                          f"The run in {folder} was trained on {title}. {where}\n\nLocate the folder or the archive "
                          "that holds it, and the run opens and can go on.", parent=self)
        box.setObjectName("runDataMissingDialog")
        folder_button = box.addButton("Locate folder…", QMessageBox.ButtonRole.AcceptRole)
        archive_button = box.addButton("Locate archive…", QMessageBox.ButtonRole.ActionRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(folder_button)
        box.exec()
        clicked = box.clickedButton()
        if clicked not in (folder_button, archive_button):
            return
        path = self._ask_data_path(name, folder=clicked is folder_button)
        if path:
            self._pending_data_path = (name, path)  # remembered for the data set once the run has opened
            self.open_run(folder, data_path=path)

    def _ask_data_path(self, name: str, folder: bool) -> str:
        """A folder or an archive that the person picks as holding ``name`` ("" when they cancel)."""
        title = f"Locate {short_title(name)}"
        if folder:
            return QFileDialog.getExistingDirectory(self, title, self._last_folder())
        path, _ = QFileDialog.getOpenFileName(self, title, self._last_folder(),
                                              "Archives (*.tar.gz *.tgz *.tar *.gz *.zip);;All files (*)")
        return path

    @Slot()
    def show_about(self) -> None:
        sets = "".join(f"<li><b>{spec.title}</b>: {spec.attribution} <i>Licence:</i> {spec.licence}</li>"
                       for spec in DATASETS.values() if not spec.name.startswith("toy2d-"))
        QMessageBox.about(self, "About GD Studio",
                          f"<b>GD Studio {__version__}</b><p>Watch a linear classifier (multiclass SVM or softmax) "
                          "learn by gradient descent, and change α, λ, batch size and loss while it trains.</p>"
                          f"<p>Data sets:</p><ul>{sets}</ul>"
                          "<p>Built with PySide6 (Qt for Python, LGPLv3), pyqtgraph (MIT), NumPy (BSD) and Numba "
                          "(BSD).</p>")

    # ----------------------------------------------------------------------------------------------------------
    # News from the training thread

    @Slot(object)
    def _on_loaded(self, info: SessionInfo) -> None:
        self.controls.show_session(info)
        self.run_folder = info.folder if info.source == "opened" else None
        if info.source == "opened" and info.history is not None:
            self.curves.load(info.history["steps"], info.history["evals"], info.changes)
        else:
            self.curves.clear()
        self.view.redraw(full=True)
        self.view.clear_readout()  # the values under the pointer were the old run's
        self.banner.hide()
        self._rate_meter.clear()
        self.final_label.setText("")
        if self._pending_data_path is not None and self._pending_data_path[0] == info.dataset:
            self.prefs.remember_data_path(*self._pending_data_path)
            self._refresh_datasets()
        self._pending_data_path = None
        self._show_image_folder()
        self.prefs.set("data/last", info.dataset)
        notice = getattr(info.data, "notice", "")
        self.notice_label.setText(notice)
        self.notice_label.setToolTip(notice)
        self.notice_label.setVisible(bool(notice))
        title = self.controls.dataset_combo.currentText() if info.dataset == IMAGE_FOLDER_DATASET else \
            DATASETS[info.dataset].title if info.dataset in DATASETS else info.dataset
        # The app's name last: Qt appends the application display name to a title that does not end with it
        # (under X), which made "GD Studio — digits — GD Studio".
        self.setWindowTitle(f"{title} — GD Studio")
        self._show_status(None)
        if info.source == "opened":
            self.statusBar().showMessage(f"Opened {info.folder} at step {info.step:,}", 5000)
            final = info.final
            if info.status == OK and final.get("steps", info.step) == info.step:
                self._show_final(final)  # a finished run's accuracies, as its config.json holds them
            if info.status == DIVERGED:
                self.banner.hide()

    @Slot(object)
    def _on_progressed(self, batch) -> None:
        self.curves.add_many(batch)
        if batch:
            now = time.perf_counter()
            self._rate_meter.add(now, batch[-1].examples_seen)
            if now - self._status_shown >= STATUS_INTERVAL_S:  # relaying out the status bar 30 times a second
                self._status_shown = now                      # costs more than it tells
                self._show_status(batch[-1])

    @Slot(object)
    def _on_ended(self, record: Progress) -> None:
        self._show_status(record)
        final = record.final
        if record.status == DIVERGED:
            self.banner.show_divergence(record)
            self.final_label.setText("")
            return
        if record.status == OK:
            self._show_final(final)

    def _show_final(self, final: dict) -> None:
        """The run's accuracies on the full splits, beside the state label's "Finished"."""
        names = ("train_accuracy", "val_accuracy", "test_accuracy")
        if not all(isinstance(final.get(name), (int, float)) for name in names):
            return
        train, val, test = (100 * final[name] for name in names)
        self.final_label.setText(f"accuracy train {train:.1f} %, validation {val:.1f} %, test {test:.1f} % "
                                 "(full splits)")

    @Slot(str)
    def _on_state_changed(self, state: str) -> None:
        running = state == RUNNING_STATE
        self._set_redraw_budget()
        if running:
            self.final_label.setText("")  # the last run's final accuracies are not this run's
        else:
            self._rate_meter.clear()
            if self.controller.last_progress is not None:
                self._show_status(self.controller.last_progress)  # the throttled status may lag behind
        can = self.controller.can  # the run's table (controller.ENABLED) says what may be done in each state
        self.start_button.setText(START_TEXTS.get(state, "Start"))
        self.start_button.setIcon(self.style().standardIcon(
            QStyle.StandardPixmap.SP_MediaPause if running else QStyle.StandardPixmap.SP_MediaPlay))
        self.start_button.setToolTip("The run starts as soon as the data set has loaded (press again to cancel)"
                                     if state == STARTING else "Start or pause training (Space)")
        for widgets, action in (((self.start_button, self.start_action), "start"),
                                ((self.step_button, self.step_action), "step"),
                                ((self.reset_button, self.reset_action), "reset"),
                                ((self.open_action,), "open"), ((self.save_action, self.save_as_action), "save"),
                                ((self.restore_defaults_action,), "restore")):
            for widget in widgets:
                widget.setEnabled(can(action))
        self.controls.set_running(running, busy=state in (LOADING, STARTING))
        self.state_label.setText(STATE_TEXTS.get(state, state))

    @Slot(str)
    def _on_saved(self, folder: str) -> None:
        self.run_folder = folder
        self.statusBar().showMessage(f"Saved the run to {folder}", 6000)

    @Slot(str, str, str)
    def _on_failed(self, what: str, message: str, details: str) -> None:
        if what in ("load", "open") and self.controller.info is not None:
            self.controls.show_session(self.controller.info)  # back to the data set that is still loaded
        elif what == "load" and self.controller.info is None and self._loading != "digits":
            self.open_dataset("digits")  # the first data set could not load (moved, deleted): open the built-in one
        self._pending_data_path = None
        titles = {"load": "Cannot open the data set", "open": "Cannot open the run", "save": "Cannot save the run",
                  "train": "Training stopped with an error", "view": "A view could not finish its work"}
        self.show_error(titles.get(what, "Something went wrong"), message, details)

    @Slot(str)
    def _on_backends_checked(self, reason: str) -> None:
        self.controls.set_cuda_reason(reason or None)

    # ----------------------------------------------------------------------------------------------------------
    # From the controls

    @Slot(dict)
    def _on_live_changed(self, changes: dict) -> None:
        if self.controller.info is None:
            return
        try:
            self.controller.request(**changes)
        except ConfigError as exc:
            self.show_error("Value out of range", str(exc))

    @Slot(float)
    def _on_epochs_changed(self, epochs: float) -> None:
        if self.controller.info is not None:
            self.controller.set_epochs(epochs)

    @Slot(object)
    def _on_pace_changed(self, pace) -> None:
        self.controller.set_pace(pace)
        self._set_redraw_budget()

    def _set_redraw_budget(self) -> None:
        flat_out = self.controller.running and self.controls.pace is None
        self.view.redraw_fraction = REDRAW_BUSY_FRACTION if flat_out else REDRAW_IDLE_FRACTION
        self.view.set_live(self.controller.running)

    @Slot()
    def _on_rebuild_requested(self) -> None:
        info = self.controller.info
        if info is None or self.controller.running:
            return
        try:
            config = self.controls.config()
        except ConfigError as exc:
            self.show_error("Value out of range", str(exc))
            return
        if not self.confirm_discard("A new strategy, backend or input scaling"):
            kept = {name: getattr(info.config, name) for name in ("strategy", "backend", "preprocess")}
            self.controls.show_config(config.replace(**kept))  # the boxes go back to the run that is kept
            return
        own_folder = config.dataset == IMAGE_FOLDER_DATASET  # the folder loaded, which an opened run brought
        self.controller.load(config, info.data_path if own_folder else self._data_path_for(config.dataset))

    @Slot()
    def _on_resume_requested(self) -> None:
        self.controller.resume_diverged()  # the α chosen comes back through settings_requested

    @Slot(dict)
    def _on_settings_requested(self, changes: dict) -> None:
        """α, λ, batch size or loss asked of the training from elsewhere (a view, the banner): the boxes show
        the values in force, never the ones before."""
        self.controls.show_values(changes)

    @Slot(str, bool, str)
    def _on_download_finished(self, name: str, ok: bool, message: str) -> None:
        self._downloads = [d for d in self._downloads if d.name != name]
        self._refresh_datasets()
        if ok:
            self.statusBar().showMessage(f"Downloaded {short_title(name)}", 5000)
            if self.confirm_discard(f"Opening {short_title(name)}"):
                self.open_dataset(name)
        elif message != "cancelled":
            self.show_error(f"Cannot download {short_title(name)}", message)

    @Slot()
    def _on_x_axis_action(self) -> None:
        self.view.set_x_axis(self.sender().data())

    @Slot(int)
    def _on_x_axis_combo(self, index: int) -> None:
        axis = self.view.x_axis_combo.itemData(index)
        self.x_axis_actions[axis].setChecked(True)

    # ----------------------------------------------------------------------------------------------------------
    # Status and errors

    def _show_status(self, record: Progress | None) -> None:
        info = self.controller.info
        if record is None:
            step = info.step if info is not None else 0
            epoch = info.epoch if info is not None else 0.0
            self.step_label.setText(f"step {step:,}")
            self.epoch_label.setText(f"epoch {epoch:.2f}")
            self.rate_label.setText("— examples/s")
            loss = last_recorded_loss(info)
            self.loss_label.setText("loss —" if loss is None else f"loss {loss:.4g}")
            self.backend_label.setText(f"backend {info.backend}" if info is not None else "backend —")
            return
        self.step_label.setText(f"step {record.step:,}")
        self.epoch_label.setText(f"epoch {record.epoch:.2f}")
        rate = self._rate_meter.rate()
        self.rate_label.setText(f"{rate:,.0f} examples/s" if rate else "— examples/s")
        loss = record.loss
        self.loss_label.setText(f"loss {loss:.4g}" if math.isfinite(loss) else f"loss {loss}")
        self.backend_label.setText(f"backend {record.backend}")

    def show_error(self, title: str, message: str, details: str = "") -> None:
        """Tell the user, without blocking: one window-modal box, reused while it is open."""
        message = in_window_words(message)
        self.last_error = (title, message)
        logged = log_error(title, message, details)
        if logged is not None:
            details = f"{details.rstrip()}\n\n(also written to {logged})" if details else f"Written to {logged}"
        box = self._error_box
        if box is None or not box.isVisible():
            box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
            box.setObjectName("errorDialog")
            self._error_box = box
        box.setWindowTitle(title)
        box.setText(message)
        box.setDetailedText(details)
        box.open()

    # ----------------------------------------------------------------------------------------------------------
    # Settings

    def _config_for(self, name: str) -> TrainConfig:
        """The config of a new session on ``name`` that the user chose: its remembered hyperparameters (else its
        defaults), and the loss, seed, strategy and backend on screen (remembered ones for the first session of
        the window, and after a lesson, whose values are the lesson's). Such a session ends the lesson."""
        remembered = self.prefs.hyperparameters(name)
        if self.controller.info is None or self.lesson_in_force:
            self.lesson_in_force = False
            run = self.prefs.run_settings()
        else:
            run = {key: self.controls.value(key) for key in ("loss", "seed", "strategy", "backend")}
        return TrainConfig(dataset=name, **remembered, **run, **self._image_options(name))

    def _image_options(self, name: str) -> dict:
        """``image_size`` and ``grey`` last chosen for a folder of one's own; nothing for other data sets."""
        if name != IMAGE_FOLDER_DATASET:
            return {}
        size = self.prefs.number("images/size", IMAGE_SIZE_DEFAULT)
        low, high = IMAGE_SIZE_RANGE
        valid = size is not None and size == int(size) and low <= size <= high
        return {"image_size": int(size) if valid else IMAGE_SIZE_DEFAULT, "grey": self.prefs.flag("images/grey")}

    def _remember_hyperparameters(self) -> None:
        """Remember the values on screen as the user's choice for the data set (not a lesson's values)."""
        info = self.controller.info
        if info is None or self.lesson_in_force:
            return
        values = {name: self.controls.value(name) for name in ("lr", "reg", "batch_size", "epochs", "preprocess")}
        self.prefs.remember_hyperparameters(info.dataset, values)
        self.prefs.remember_run_settings({name: self.controls.value(name)
                                          for name in ("loss", "strategy", "backend", "seed")})

    def _restore_view_settings(self) -> None:
        geometry = self.prefs.bytes("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
            self._keep_on_screen()  # remembered from a bigger screen, or one no longer there
        state = self.prefs.bytes("window/state")
        if state is not None:
            self.restoreState(state)
            self._configure_tab_bars()
        axis = self.prefs.text("view/x_axis", "step", choices=tuple(X_AXES))
        self.view.set_x_axis(axis)
        self.view.set_log_loss(self.prefs.flag("view/log_loss", False))
        smoothing = self.prefs.number("view/smoothing", self.view.smoothing)
        self.view.set_smoothing(min(max(smoothing, 0.0), 0.99))
        pace = self.prefs.number("run/pace")
        index = self.controls.pace_combo.findData(pace) if pace else 0
        self.controls.pace_combo.setCurrentIndex(max(index, 0))
        self.views["sweepView"].set_place(self.prefs.text("sweep/place", "here"),
                                          self.prefs.text("sweep/scheduler", ""))

    def _save_settings(self) -> None:
        self._remember_hyperparameters()
        self.prefs.set("window/geometry", self.saveGeometry())
        self.prefs.set("window/state", self.saveState())
        self.prefs.set("view/x_axis", self.view.x_axis)
        self.prefs.set("view/log_loss", "true" if self.view.log_loss else "false")
        self.prefs.set("view/smoothing", repr(self.view.smoothing))
        place, address = self.views["sweepView"].place()
        self.prefs.set("sweep/place", place)
        self.prefs.set("sweep/scheduler", address)
        pace = self.controls.pace
        if not self.lesson_in_force:  # a lesson's speed is the lesson's, like its values (issue 12 item 13)
            self.prefs.set("run/pace", repr(pace) if pace else "0")
        self.prefs.sync()

    def _data_paths(self) -> dict[str, str]:
        return {name: path for name, path in self.prefs.data_paths().items() if Path(path).exists()}

    def _data_path_for(self, name: str) -> str | None:
        spec = DATASETS.get(name)
        if name == IMAGE_FOLDER_DATASET:  # never in the cache: always the person's own folder
            return self._data_paths().get(name)
        if spec is None or spec.builtin or self._in_cache.get(name, False):
            return None
        return self._data_paths().get(name)

    def _refresh_datasets(self) -> None:
        try:
            rows = dataset_status()
        except Exception:  # a broken cache folder must not stop the window from opening
            rows = [{"name": name, "present": spec.builtin} for name, spec in DATASETS.items()]
        self._in_cache = {row["name"]: bool(row["present"]) for row in rows}
        located = self._data_paths()
        present = {name: there or name in located for name, there in self._in_cache.items()}
        self.controls.refresh_datasets(present)
        self._show_image_folder()

    def _show_image_folder(self) -> None:
        """The data set box names the folder of one's own that is loaded, else the last one opened."""
        info = self.controller.info
        loaded = info is not None and info.dataset == IMAGE_FOLDER_DATASET
        self.controls.set_image_folder(info.data_path if loaded else self._data_paths().get(IMAGE_FOLDER_DATASET))

    def _cache_hint(self, name: str) -> str:
        from gdstudio.data.registry import cache_dir

        return str(cache_dir() / name)

    def _last_folder(self) -> str:
        folder = self.prefs.text("files/last_folder", str(Path.home()))
        return folder if Path(folder).is_dir() else str(Path.home())

    def _run_label(self) -> str:
        record = self.controller.last_progress
        info = self.controller.info
        if record is None and info is None:
            return "run"
        source = record if record is not None else info
        loss = record.loss_name if record is not None else info.loss
        step = record.step if record is not None else info.step
        strategy = record.strategy if record is not None else info.config.strategy
        parts = [short_strategy_title(strategy), LOSS_TITLES.get(loss, loss)]
        if strategy == "sgd":  # the searches take no step along a gradient: α plays no part in them
            parts.append(f"α={format_number(source.lr)}")
        parts += [f"λ={format_number(source.reg)}", f"B={source.batch_size}"]
        return f"{', '.join(parts)} ({step:,} steps)"

    # ----------------------------------------------------------------------------------------------------------
    # Lessons

    @Slot(object)
    def _on_lesson_choosing(self, lesson: Lesson) -> None:
        if not self.lesson_in_force:  # the values on screen are still the user's: keep them for next time
            self._remember_hyperparameters()

    @Slot(object)
    def _on_lesson_chosen(self, lesson: Lesson) -> None:
        self.lesson_in_force = True
        if lesson.pace is not None:
            self._show_pace(None if lesson.pace == FULL_SPEED else lesson.pace)

    def _show_pace(self, pace: float | None) -> None:
        """Put ``pace`` (steps per second; None: full speed) in the Speed box, which applies it."""
        combo = self.controls.pace_combo
        index = next((i for i in range(combo.count()) if combo.itemData(i) == pace), -1)
        if index < 0:  # a teacher's own speed: add it among the others, fastest first
            index = next((i for i in range(1, combo.count()) if combo.itemData(i) < pace), combo.count())
            combo.insertItem(index, f"{format_number(pace)} steps/s", pace)
        combo.setCurrentIndex(index)

    @Slot()
    def restore_defaults(self) -> None:
        """A new run with the data set's own hyperparameters (and softmax, SGD); they become the remembered ones."""
        info = self.controller.info
        if info is None or not self.controller.can("restore"):
            return
        name = info.dataset
        self.lesson_in_force = False
        self.lesson_caption.hide()
        self.prefs.forget_hyperparameters(name)
        config = TrainConfig(dataset=name, seed=self.controls.value("seed"), backend=self.controls.value("backend"),
                             image_size=info.config.image_size, grey=info.config.grey)
        self._load(config, info.data_path if name == IMAGE_FOLDER_DATASET else self._data_path_for(name))

    @Slot()
    def reset_and_train(self) -> None:
        """The comparison's next run: W₀ and the batches from the seed again, the settings on screen, and train.
        Reset starts from the values in force (a loss switched after the first run is the new run's loss from its
        first step, not a change marked at step 0)."""
        if not self.controller.can("reset"):
            return
        if self.controller.running:
            self.controller.pause()
        self.reset_run()
        self.toggle_training()

    # ----------------------------------------------------------------------------------------------------------
    # Closing

    def showEvent(self, event) -> None:  # Qt override
        super().showEvent(event)
        if not self._docks_sized:  # sizes of docks only hold once the window has its own
            self._docks_sized = True
            self._keep_on_screen()
            self.resizeDocks([self._views_dock], [views_dock_width(self.width(), self._room_beside_panel())],
                             Qt.Orientation.Horizontal)
            # A window manager adds its frame only once the window is mapped: fit again then.
            QTimer.singleShot(0, self, self._keep_on_screen)
            self._arrange_views_later()

    def closeEvent(self, event: QCloseEvent) -> None:  # Qt override
        if not self._closed:
            self._closed = True
            self._save_settings()
            for dialog in list(self._downloads):
                dialog.stop()
            for view in self.views.values():
                view.stop_refreshing()
                if hasattr(view, "shutdown"):
                    view.shutdown()
            self.controller.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> bool:
        """Stop the training thread and wait for it (closing does this too)."""
        return self.controller.shutdown()


def last_recorded_loss(info: SessionInfo | None) -> float | None:
    """The loss of an opened run's last recorded step (its curve's end); None for a run with no steps yet."""
    if info is None or info.history is None:
        return None
    losses = np.asarray(info.history["steps"].get("loss", ()), dtype=np.float64)
    finite = losses[np.isfinite(losses)]
    return float(finite[-1]) if len(finite) else None


def in_window_words(message: str) -> str:
    """An engine message as the window says it: the menu to use instead of a command-line flag."""
    for pattern, words in IN_WINDOW_WORDS:
        message = pattern.sub(words, message)
    return message
