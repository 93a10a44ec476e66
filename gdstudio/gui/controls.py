"""The controls panel: the form that makes a :class:`~gdstudio.config.TrainConfig`, and the live knobs.

α, λ, batch size, loss and epochs change a run while it trains (``live_changed``, ``epochs_changed``); data set,
preprocessing, strategy and backend make a new session (``dataset_chosen``, ``rebuild_requested``) and are locked
while training. The seed is used by Reset. The preprocessing in force is shown with the mean image it subtracts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QColor, QImage, QPixmap
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QMenu,
                               QSpinBox, QToolButton, QVBoxLayout, QWidget)

from gdstudio.config import (BACKENDS, IMAGE_FOLDER_DATASET, LOSS_TITLES, LOSSES, MAX_BATCH_SIZE, REG_RANGE, STRATEGIES,
                             TrainConfig)
from gdstudio.data.registry import DATASETS
from gdstudio.gui.widgets import LogSpinSlider, format_number

LIVE_DELAY_MS = 200
"""A dragged slider sends its value this long after it stops moving (or when released), not at every pixel."""
BATCH_PICKS = (32, 64, 128, 256)
LR_DECADES_BELOW, LR_DECADES_ABOVE = 4, 3
REG_DECADES_BELOW, REG_DECADES_ABOVE = 4, 4
MAX_LR = 1e6
MAX_EPOCHS = 1e6
MEAN_IMAGE_PIXELS = 56
STRATEGY_TITLES = {"sgd": "SGD (gradient steps)", "random-search": "Random search",
                   "random-local-search": "Random local search"}
BACKEND_TITLES = {"auto": "Auto (fastest here)", "cpu": "CPU (Numba kernels)", "cuda": "CUDA (GPU)",
                  "numpy": "NumPy reference (slow)"}
PREPROCESS_TITLES = {"unit": "Subtract mean image, scale to unit range", "raw": "Subtract mean image only"}
PACES = ((None, "Full speed"), (1000.0, "1,000 steps/s"), (100.0, "100 steps/s"), (10.0, "10 steps/s"),
         (1.0, "1 step/s"))
MISSING_SUFFIX = " — not downloaded"


class ControlsPanel(QWidget):
    """Every training setting, with the object names of DESIGN.md §8.

    Signals
    -------
    dataset_chosen(str)
        A data set that is on disk was picked.
    dataset_missing(str)
        A data set that is not on disk was picked (the combo goes back to the current one).
    get_requested(str), locate_requested(str, bool)
        "Get …" / "Locate archive…" (bool: a folder rather than a file) for a data set.
    rebuild_requested()
        Preprocessing, strategy or backend changed: the run must start afresh.
    live_changed(dict)
        ``{"lr"|"reg"|"batch_size"|"loss": value}`` to apply to the running session.
    epochs_changed(float), pace_changed(object)
    """

    dataset_chosen = Signal(str)
    dataset_missing = Signal(str)
    get_requested = Signal(str)
    locate_requested = Signal(str, bool)
    rebuild_requested = Signal()
    live_changed = Signal(dict)
    epochs_changed = Signal(float)
    pace_changed = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.current_dataset = "digits"
        self.present: dict[str, bool] = {name: spec.builtin for name, spec in DATASETS.items()}
        self.image_folder: str | None = None
        """The folder of one's own images that the data set box names (``images``)."""
        self.image_options: dict = {}
        """``image_size`` and ``grey`` of the config shown, when it is a folder of one's own."""
        self._pending_live: dict = {}
        self._live_timer = QTimer(self)
        self._live_timer.setSingleShot(True)
        self._live_timer.setInterval(LIVE_DELAY_MS)
        self._live_timer.timeout.connect(self.flush_live)
        self._build()

    # ----------------------------------------------------------------------------------------------------------
    # Layout

    def _build(self) -> None:
        self.dataset_combo = QComboBox(objectName="datasetCombo")
        self.dataset_combo.setToolTip("The data set to train on; those not on this computer can be downloaded "
                                      "or located")
        for name, spec in DATASETS.items():
            self.dataset_combo.addItem(spec.title, name)
        self.dataset_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.dataset_combo.setMinimumContentsLength(18)
        self.dataset_combo.activated.connect(self._on_dataset_activated)
        self.data_button = QToolButton(objectName="dataMenuButton")
        self.data_button.setText("Get…")
        self.data_button.setToolTip("Download a data set, or point to a copy you have")
        self.data_menu = QMenu(self.data_button)
        self.get_actions: dict[str, QAction] = {}
        for name, spec in DATASETS.items():
            if spec.builtin or not spec.files:  # nothing to get: a folder of one's own is opened from the window
                continue
            short = short_title(name)
            if self.get_actions:
                self.data_menu.addSeparator()
            get = self.data_menu.addAction(f"Get {short}…")
            get.setData(name)
            get.triggered.connect(self._on_get)
            self.get_actions[name] = get
            for folder, what in ((False, "archive"), (True, "folder")):
                locate = self.data_menu.addAction(f"Locate {short} {what}…")
                locate.setData((name, folder))
                locate.triggered.connect(self._on_locate)
        self.data_button.setMenu(self.data_menu)
        self.data_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.dataset_label = QLabel(objectName="datasetInfoLabel")
        self.dataset_label.setWordWrap(True)

        self.preprocess_combo = QComboBox(objectName="preprocessCombo")
        for name, title in PREPROCESS_TITLES.items():
            self.preprocess_combo.addItem(title, name)
        self.preprocess_combo.currentIndexChanged.connect(self._on_rebuild_setting)
        self.preprocess_label = QLabel(objectName="preprocessLabel")
        self.preprocess_label.setWordWrap(True)
        self.mean_image = QLabel(objectName="meanImageLabel")
        self.mean_image.setFixedSize(MEAN_IMAGE_PIXELS, MEAN_IMAGE_PIXELS)
        self.mean_image.setToolTip("The mean image of the training split, which is subtracted from every image")

        self.loss_combo = QComboBox(objectName="lossCombo")
        for name in LOSSES:
            self.loss_combo.addItem(LOSS_TITLES[name], name)
        self.loss_combo.setToolTip("Multiclass SVM (hinge, margin 1) or softmax (cross-entropy); changes live")
        self.loss_combo.currentIndexChanged.connect(self._on_loss_chosen)

        self.reg = LogSpinSlider("regSpin", "regSlider", allow_zero=True)
        self.reg.spin.setToolTip("λ, the strength of the L2 regulariser λ‖W‖²; changes live")
        self.reg.value_changed.connect(self._on_reg_changed)
        self.reg.slider_released.connect(self.flush_live)
        self.lr = LogSpinSlider("lrSpin", "lrSlider")
        self.lr.spin.setToolTip("α, the step size of gradient descent; changes live")
        self.lr.value_changed.connect(self._on_lr_changed)
        self.lr.slider_released.connect(self.flush_live)

        self.batch_spin = QSpinBox(objectName="batchSizeSpin")
        self.batch_spin.setRange(1, MAX_BATCH_SIZE)
        self.batch_spin.setKeyboardTracking(False)
        self.batch_spin.setToolTip("Images per mini-batch (1 … the training set); changes live")
        self.batch_spin.valueChanged.connect(self._on_batch_changed)
        picks = QHBoxLayout()
        picks.setSpacing(2)
        picks.addWidget(self.batch_spin, 1)
        self.batch_buttons = []
        for size in BATCH_PICKS:
            button = QToolButton(objectName=f"batch{size}Button")
            button.setText(str(size))
            button.setToolTip(f"Batch size {size}")
            button.clicked.connect(self._on_batch_pick)
            button.setProperty("batch_size", size)
            picks.addWidget(button)
            self.batch_buttons.append(button)

        self.epochs_spin = QDoubleSpinBox(objectName="epochsSpin")
        self.epochs_spin.setRange(0.1, MAX_EPOCHS)
        self.epochs_spin.setDecimals(1)
        self.epochs_spin.setKeyboardTracking(False)
        self.epochs_spin.setToolTip("Passes over the training set; after the end, Continue trains this many more")
        self.epochs_spin.valueChanged.connect(self._on_epochs_changed)
        self.seed_spin = QSpinBox(objectName="seedSpin")
        self.seed_spin.setRange(0, 2**31 - 1)
        self.seed_spin.setToolTip("Seed of the random W, the shuffling and the searches; Reset (R) uses it")
        self.strategy_combo = QComboBox(objectName="strategyCombo")
        for name in STRATEGIES:
            self.strategy_combo.addItem(STRATEGY_TITLES[name], name)
        self.strategy_combo.setToolTip("How W is improved: gradient steps, or the lecture's random searches")
        self.strategy_combo.currentIndexChanged.connect(self._on_rebuild_setting)
        self.backend_combo = QComboBox(objectName="backendCombo")
        for name in BACKENDS:
            self.backend_combo.addItem(BACKEND_TITLES[name], name)
        self.backend_combo.currentIndexChanged.connect(self._on_rebuild_setting)
        self.set_cuda_reason("checking whether CUDA can run here…")
        self.pace_combo = QComboBox(objectName="paceCombo")
        for pace, title in PACES:
            self.pace_combo.addItem(title, pace)
        self.pace_combo.setToolTip("Slow training down to watch single steps")
        self.pace_combo.currentIndexChanged.connect(self._on_pace_chosen)

        data_box = QGroupBox("Data")
        data_form = QFormLayout(data_box)
        row = QHBoxLayout()
        row.addWidget(self.dataset_combo, 1)
        row.addWidget(self.data_button)
        data_form.addRow("Data set", row)
        data_form.addRow(self.dataset_label)
        data_form.addRow("Input", self.preprocess_combo)
        mean_row = QHBoxLayout()
        mean_row.addWidget(self.mean_image)
        mean_row.addWidget(self.preprocess_label, 1)
        data_form.addRow(mean_row)

        model_box = QGroupBox("Loss and regularisation")
        model_form = QFormLayout(model_box)
        model_form.addRow("Loss", self.loss_combo)
        model_form.addRow("λ (reg)", self.reg)

        optimiser_box = QGroupBox("Optimisation")
        optimiser_form = QFormLayout(optimiser_box)
        optimiser_form.addRow("α (step)", self.lr)
        optimiser_form.addRow("Batch size", picks)
        optimiser_form.addRow("Epochs", self.epochs_spin)
        optimiser_form.addRow("Strategy", self.strategy_combo)
        optimiser_form.addRow("Backend", self.backend_combo)
        optimiser_form.addRow("Seed", self.seed_spin)
        optimiser_form.addRow("Speed", self.pace_combo)

        for form in (data_form, model_form, optimiser_form):
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(data_box)
        layout.addWidget(model_box)
        layout.addWidget(optimiser_box)

    # ----------------------------------------------------------------------------------------------------------
    # Reading the form

    def value(self, name: str):
        """The form's value of a TrainConfig field."""
        return {"dataset": lambda: self.current_dataset, "loss": lambda: self.loss_combo.currentData(),
                "reg": self.reg.value, "lr": self.lr.value, "batch_size": self.batch_spin.value,
                "epochs": self.epochs_spin.value, "seed": self.seed_spin.value,
                "strategy": lambda: self.strategy_combo.currentData(),
                "backend": lambda: self.backend_combo.currentData(),
                "preprocess": lambda: self.preprocess_combo.currentData()}[name]()

    def config(self, dataset: str | None = None, **overrides) -> TrainConfig:
        """The form as a :class:`TrainConfig` (``ConfigError`` if a value is out of range)."""
        fields = {name: self.value(name) for name in ("loss", "reg", "lr", "batch_size", "epochs", "seed",
                                                      "strategy", "backend", "preprocess")}
        fields["dataset"] = dataset or self.current_dataset
        if fields["dataset"] == self.current_dataset:
            fields.update(self.image_options)
        fields.update(overrides)
        return TrainConfig(**fields)

    @property
    def pace(self) -> float | None:
        return self.pace_combo.currentData()

    # ----------------------------------------------------------------------------------------------------------
    # Showing a session

    def show_session(self, info) -> None:
        """Fill the form from a :class:`~gdstudio.gui.worker.SessionInfo`, without emitting anything."""
        self.present[info.dataset] = True
        self.refresh_datasets(self.present)
        self.batch_spin.setMaximum(max(1, min(info.sizes[0], MAX_BATCH_SIZE)))
        self.show_config(info.config, lr=info.lr, reg=info.reg, batch_size=info.batch_size, loss=info.loss)
        N_train, N_val, N_test = info.sizes
        shape = "×".join(str(n) for n in info.image_shape) if info.image_shape else f"{info.num_features} values"
        self.dataset_label.setText(f"{N_train:,} train · {N_val:,} validation · {N_test:,} test · "
                                   f"{len(info.class_names)} classes · {shape} ({info.num_features:,} inputs)")
        self._show_preprocessing(info)

    def show_config(self, config: TrainConfig, **in_force) -> None:
        """Show ``config`` (its ``None`` fields filled with the data set's defaults) without emitting anything:
        from the first paint, while its data set still loads, the boxes show the settings it will train with,
        never the boxes' minimum values. ``in_force``: ``lr``, ``reg``, ``batch_size``, ``loss`` of a session
        whose live values differ from its config."""
        values = {"lr": config.lr, "reg": config.reg, "batch_size": config.batch_size, "loss": config.loss,
                  **in_force}
        self.current_dataset = config.dataset
        self.image_options = ({"image_size": config.image_size, "grey": config.grey}
                              if config.dataset == IMAGE_FOLDER_DATASET else {})
        defaults = DATASETS[config.dataset].defaults if config.dataset in DATASETS else {}
        lr_default = defaults.get("lr", values["lr"])
        reg_default = defaults.get("reg", values["reg"]) or 1e-4
        self.lr.set_span(lr_default * 10.0 ** -LR_DECADES_BELOW, lr_default * 10.0 ** LR_DECADES_ABOVE, MAX_LR)
        self.reg.set_span(reg_default * 10.0 ** -REG_DECADES_BELOW,
                          min(reg_default * 10.0 ** REG_DECADES_ABOVE, REG_RANGE[1]), REG_RANGE[1])
        epochs = config.epochs if config.epochs is not None else defaults.get("epochs", 10)
        with _quiet(self.dataset_combo, self.loss_combo, self.batch_spin, self.epochs_spin, self.seed_spin,
                    self.strategy_combo, self.backend_combo, self.preprocess_combo):
            if values["batch_size"] > self.batch_spin.maximum():  # the last data set's size; its own comes later
                self.batch_spin.setMaximum(MAX_BATCH_SIZE)
            self.dataset_combo.setCurrentIndex(max(0, self.dataset_combo.findData(config.dataset)))
            self.loss_combo.setCurrentIndex(self.loss_combo.findData(values["loss"]))
            self.batch_spin.setValue(values["batch_size"])
            self.epochs_spin.setValue(float(epochs))
            self.seed_spin.setValue(int(config.seed) % 2**31)
            self.strategy_combo.setCurrentIndex(self.strategy_combo.findData(config.strategy))
            self.backend_combo.setCurrentIndex(self.backend_combo.findData(config.backend))
            self.preprocess_combo.setCurrentIndex(self.preprocess_combo.findData(config.preprocess))
        self.lr.set_value(values["lr"])
        self.reg.set_value(values["reg"])
        self._pending_live.clear()
        self._live_timer.stop()

    def show_values(self, changes: dict) -> None:
        """Show live values asked of the training elsewhere (``{"lr"|"reg"|"batch_size"|"loss": value}``), without
        emitting anything; a value of the same name still waiting to be sent gives way to it."""
        for name, value in changes.items():
            if name in ("lr", "reg", "batch_size", "loss") and self.value(name) == value:
                continue  # the form's own change coming back (a slider being dragged must not be moved)
            if name == "lr":
                self.lr.set_value(float(value))
            elif name == "reg":
                self.reg.set_value(float(value))
            elif name == "batch_size":
                with _quiet(self.batch_spin):
                    self.batch_spin.setValue(int(value))
            elif name == "loss":
                with _quiet(self.loss_combo):
                    self.loss_combo.setCurrentIndex(self.loss_combo.findData(value))
            else:
                continue
            self._pending_live.pop(name, None)

    def _show_preprocessing(self, info) -> None:
        if info.config.preprocess == "unit":
            text = (f"x = (pixels − mean image) × 1/{info.max_value}: centred, in about [−1, 1]")
        else:
            text = "x = pixels − mean image: centred, raw 0–255 scale (the lecture's CIFAR-10 setting)"
        self.preprocess_label.setText(text)
        self.preprocess_label.setToolTip(f"scale = {info.scale:g}; mean pixel value "
                                         f"{float(np.mean(info.mean)):.3g}")
        pixmap = mean_image_pixmap(info.mean, info.image_shape, MEAN_IMAGE_PIXELS)
        self.mean_image.setVisible(pixmap is not None)
        if pixmap is not None:
            self.mean_image.setPixmap(pixmap)

    def refresh_datasets(self, present: dict[str, bool]) -> None:
        """Mark the data sets that are not on disk."""
        self.present = dict(present)
        for index in range(self.dataset_combo.count()):
            name = self.dataset_combo.itemData(index)
            title = DATASETS[name].title
            there = self.present.get(name, False)
            if name == IMAGE_FOLDER_DATASET:
                folder = self.image_folder
                self.dataset_combo.setItemText(index, f"Your images: {Path(folder).name}" if folder else title)
                self.dataset_combo.setItemData(
                    index, f"{folder}: one sub-folder of images per class (File → Open image folder… opens "
                    "another)" if folder else "Pick it to choose a folder holding one sub-folder of images per class",
                    Qt.ItemDataRole.ToolTipRole)
                continue
            self.dataset_combo.setItemText(index, title if there else title + MISSING_SUFFIX)
            self.dataset_combo.setItemData(index, None if there else QColor(130, 130, 130),
                                           Qt.ItemDataRole.ForegroundRole)
            self.dataset_combo.setItemData(
                index, DATASETS[name].attribution if there else
                f"Not on this computer: pick it to download it or to locate a copy. {DATASETS[name].licence}.",
                Qt.ItemDataRole.ToolTipRole)
        self._update_data_actions()

    def set_image_folder(self, folder: str | None) -> None:
        """Name ``folder`` in the data set box's entry for one's own images (``None``: no folder yet)."""
        self.image_folder = folder
        self.refresh_datasets(self.present)

    def set_cuda_reason(self, reason: str | None) -> None:
        """Grey out CUDA with ``reason`` as its tooltip (``None``: CUDA can run)."""
        index = self.backend_combo.findData("cuda")
        item = self.backend_combo.model().item(index)
        item.setEnabled(reason is None)
        item.setToolTip(reason or "Train on the GPU")
        self.backend_combo.setToolTip(f"Where the kernels run. {reason}" if reason else "Where the kernels run")

    def set_running(self, running: bool, busy: bool = False) -> None:
        """Lock the settings that need a new session while training (or while something loads)."""
        locked = running or busy
        for widget in (self.dataset_combo, self.data_button, self.preprocess_combo, self.strategy_combo,
                       self.backend_combo):
            widget.setEnabled(not locked)
        for widget in (self.loss_combo, self.reg, self.lr, self.batch_spin, self.epochs_spin, self.seed_spin,
                       *self.batch_buttons):
            widget.setEnabled(not busy)

    # ----------------------------------------------------------------------------------------------------------
    # Live changes

    def _queue_live(self, name: str, value) -> None:
        self._pending_live[name] = value
        self._live_timer.start()

    @Slot()
    def flush_live(self) -> None:
        """Send the live changes waiting for the timer now."""
        self._live_timer.stop()
        if self._pending_live:
            changes, self._pending_live = self._pending_live, {}
            self.live_changed.emit(changes)

    @Slot(float)
    def _on_lr_changed(self, value: float) -> None:
        if value > 0:
            self._queue_live("lr", value)

    @Slot(float)
    def _on_reg_changed(self, value: float) -> None:
        self._queue_live("reg", value)

    @Slot(int)
    def _on_batch_changed(self, value: int) -> None:
        self._queue_live("batch_size", value)
        self.flush_live()

    @Slot()
    def _on_batch_pick(self) -> None:
        size = int(self.sender().property("batch_size"))
        self.batch_spin.setValue(min(size, self.batch_spin.maximum()))

    @Slot(int)
    def _on_loss_chosen(self, index: int) -> None:
        self._queue_live("loss", self.loss_combo.itemData(index))
        self.flush_live()

    @Slot(float)
    def _on_epochs_changed(self, value: float) -> None:
        self.epochs_changed.emit(value)

    @Slot(int)
    def _on_pace_chosen(self, index: int) -> None:
        self.pace_changed.emit(self.pace_combo.itemData(index))

    @Slot(int)
    def _on_rebuild_setting(self, index: int) -> None:
        self.rebuild_requested.emit()

    # ----------------------------------------------------------------------------------------------------------
    # Data sets

    @Slot(int)
    def _on_dataset_activated(self, index: int) -> None:
        name = self.dataset_combo.itemData(index)
        if name == self.current_dataset:
            return
        with _quiet(self.dataset_combo):
            self.dataset_combo.setCurrentIndex(self.dataset_combo.findData(self.current_dataset))
        if self.present.get(name, False):
            self.dataset_chosen.emit(name)
        else:
            self.dataset_missing.emit(name)

    def _update_data_actions(self) -> None:
        for name, action in self.get_actions.items():
            there = self.present.get(name, False)
            action.setText(f"Get {short_title(name)}…" + (" (already here)" if there else ""))

    @Slot()
    def _on_get(self) -> None:
        self.get_requested.emit(self.sender().data())

    @Slot()
    def _on_locate(self) -> None:
        name, folder = self.sender().data()
        self.locate_requested.emit(name, bool(folder))


class _quiet:
    """``with _quiet(a, b): ...`` blocks the widgets' signals inside the block."""

    def __init__(self, *widgets) -> None:
        self.widgets = widgets

    def __enter__(self):
        self.previous = [w.blockSignals(True) for w in self.widgets]
        return self

    def __exit__(self, *exc) -> None:
        for widget, previous in zip(self.widgets, self.previous):
            widget.blockSignals(previous)


def mean_image_pixmap(mean: np.ndarray, image_shape, size: int) -> QPixmap | None:
    """The mean image as a pixmap of ``size``×``size`` pixels (contrast stretched), or None for non-images."""
    if image_shape is None or int(np.prod(image_shape)) != mean.size:
        return None
    H, W, channels = image_shape
    values = np.asarray(mean, dtype=np.float64).reshape(H, W, channels)
    low, high = float(values.min()), float(values.max())
    scaled = np.zeros_like(values) if high - low < 1e-12 else (values - low) / (high - low)
    pixels = np.ascontiguousarray((scaled * 255).round().astype(np.uint8))
    if channels == 1:
        image = QImage(pixels.tobytes(), W, H, W, QImage.Format.Format_Grayscale8)
    else:
        image = QImage(pixels[:, :, :3].tobytes(), W, H, 3 * W, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(image.copy()).scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                                                  Qt.TransformationMode.FastTransformation)


def short_strategy_title(strategy: str) -> str:
    """``SGD`` for ``sgd``: the strategy's title without its explanation in brackets."""
    return STRATEGY_TITLES.get(strategy, strategy).split(" (")[0]


def short_title(name: str) -> str:
    """``CIFAR-10`` for ``cifar10``: a data set's title up to its first comma."""
    spec = DATASETS.get(name)
    return spec.title.split(",")[0] if spec is not None else name


__all__ = ["ControlsPanel", "mean_image_pixmap", "format_number"]
