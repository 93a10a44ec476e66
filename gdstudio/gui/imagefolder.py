"""*File → Open image folder…*: the options of a person's own folder of class folders (``--dataset images``).

The folder comes from a directory chooser; this small dialog then shows it and asks for the two options that
change the arrays (the side of the square images, colour or grey). The folder itself is decoded in the training
thread, like any data set.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (QCheckBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from gdstudio.config import IMAGE_SIZE_DEFAULT, IMAGE_SIZE_RANGE


class ImageFolderDialog(QDialog):
    """The folder, the image size and the grey choice; :meth:`choice` reads them once accepted.

    Parameters
    ----------
    folder : str
        The folder chosen (it can be changed with *Browse…*).
    image_size : int
        The side N of the N×N images to offer first (the last one used).
    grey : bool
        Whether to offer grey first.
    """

    def __init__(self, folder: str, image_size: int = IMAGE_SIZE_DEFAULT, grey: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("imageFolderDialog")
        self.setWindowTitle("Open image folder")
        self.folder_edit = QLineEdit(folder, objectName="imageFolderEdit")
        self.folder_edit.setToolTip("A folder holding one sub-folder of images per class; the sub-folders' names "
                                    "are the class names")
        self.folder_edit.setMinimumWidth(320)
        browse = QPushButton("Browse…", objectName="imageFolderBrowseButton")
        browse.clicked.connect(self._on_browse)
        self.size_spin = QSpinBox(objectName="imageSizeSpin")
        self.size_spin.setRange(*IMAGE_SIZE_RANGE)
        self.size_spin.setSuffix(" px")
        self.size_spin.setToolTip("Each image's centre square is resized to N×N pixels: each pixel (and colour) "
                                  "is one input of the classifier")
        self.grey_check = QCheckBox("Grey (one channel instead of colour)", objectName="greyCheck")

        row = QHBoxLayout()
        row.addWidget(self.folder_edit, 1)
        row.addWidget(browse)
        form = QFormLayout()
        form.addRow("Folder", row)
        form.addRow("Image size", self.size_spin)
        form.addRow("", self.grey_check)
        hint = QLabel("PNG, JPEG, BMP, GIF and WebP files are read; other files are skipped, and the status bar "
                      "says which. The decoded images are kept in the cache folder, so opening the folder again "
                      "is quick.", objectName="imageFolderHint")
        hint.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.open_button = buttons.addButton("Open", QDialogButtonBox.ButtonRole.AcceptRole)
        self.open_button.setObjectName("openImageFolderButton")
        self.open_button.setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(hint)
        layout.addWidget(buttons)
        self.folder_edit.textChanged.connect(self._on_folder_changed)
        self._on_folder_changed(folder)
        self.show_choice(folder, image_size, grey)

    def show_choice(self, folder: str, image_size: int, grey: bool) -> None:
        """Offer ``folder``, ``image_size`` and ``grey`` (the dialog is made once and shown again)."""
        self.folder_edit.setText(folder)
        self.size_spin.setValue(int(min(max(image_size, IMAGE_SIZE_RANGE[0]), IMAGE_SIZE_RANGE[1])))
        self.grey_check.setChecked(bool(grey))

    def choice(self) -> tuple[str, int, bool]:
        """``(folder, image size, grey)`` as the dialog shows them."""
        return self.folder_edit.text().strip(), self.size_spin.value(), self.grey_check.isChecked()

    def _on_browse(self) -> None:
        start = self.folder_edit.text().strip() or str(Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder of class folders", start)
        if folder:
            self.folder_edit.setText(folder)

    def _on_folder_changed(self, text: str) -> None:
        self.open_button.setEnabled(bool(text.strip()))
