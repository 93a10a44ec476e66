"""*Save run as…*: choose where a run folder goes and name it, without a file dialog's habits.

A save-file dialog opens a folder whose name is typed (the name of the run folder to write, if it exists), and a
folder chooser only picks folders that exist. A run folder is usually a new one: this dialog asks for the folder
it goes in and for its name, says what Save will do (create it, or replace the run saved there), and refuses a
folder that holds other things.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QVBoxLayout, QWidget)

from gdstudio.engine.runs import FILES, PENDING, is_run_folder

NOTE_WIDTH = 420


def folder_problem(folder: Path) -> str | None:
    """Why a run cannot be saved into ``folder`` (None when it can: new, empty, or a run folder)."""
    if not folder.exists():
        return None
    if not folder.is_dir():
        return f"{folder} is a file, not a folder: choose another name."
    try:
        entries = {entry.name for entry in folder.iterdir()}
    except OSError as exc:
        return f"{folder} cannot be read ({exc.strerror or exc})."
    if entries and not entries & {*FILES, PENDING}:
        return f"{folder} already holds other files: choose another name."
    ours = sorted(entries & set(FILES))
    if ours and not is_run_folder(folder):  # someone's own config.json: Save would write over it
        return f"{folder} holds a {ours[0]} that is not a GD Studio run's: choose another name."
    return None


class RunFolderDialog(QDialog):
    """"Save run as": the folder to save in (with *Choose…*) and the new run folder's name.

    Parameters
    ----------
    parent_folder : str
        Where the new folder goes, at first (the last folder used).
    name : str
        The suggested name of the run folder.

    Call :meth:`open` (or ``exec``); once accepted, :meth:`folder` is where to save.
    """

    def __init__(self, parent_folder: str, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("saveRunDialog")
        self.setWindowTitle("Save run as")
        self.parent_edit = QLineEdit(str(parent_folder), objectName="runParentEdit")
        self.parent_edit.setToolTip("The folder in which the run's folder is made")
        self.name_edit = QLineEdit(name, objectName="runNameEdit")
        self.name_edit.setToolTip("The run's own folder: config.json, metrics.csv and weights.npz go in it")
        self.browse_button = QPushButton("Choose…", objectName="runParentBrowseButton")
        self.browse_button.setAutoDefault(False)
        self.browse_button.clicked.connect(self._on_browse_clicked)
        self.note = QLabel(objectName="runFolderNote")
        self.note.setWordWrap(True)
        self.note.setMinimumWidth(NOTE_WIDTH)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setObjectName("saveRunFolderButton")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        where = QHBoxLayout()
        where.addWidget(self.parent_edit, 1)
        where.addWidget(self.browse_button)
        form = QFormLayout()
        form.addRow("Save in", where)
        form.addRow("Run folder", self.name_edit)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.note)
        layout.addWidget(self.buttons)
        self.parent_edit.textChanged.connect(self._on_text_changed)
        self.name_edit.textChanged.connect(self._on_text_changed)
        self._on_text_changed()
        self.name_edit.setFocus()
        self.name_edit.selectAll()

    def folder(self) -> Path | None:
        """The run folder that Save writes (None while the name is empty)."""
        name = self.name_edit.text().strip()
        if not name:
            return None
        path = Path(name).expanduser()
        if not path.is_absolute():
            path = Path(self.parent_edit.text().strip() or ".").expanduser() / path
        return path

    @Slot()
    def _on_text_changed(self) -> None:
        folder = self.folder()
        if folder is None:
            text, ok = "Type a name for the run's folder.", False
        else:
            problem = folder_problem(folder)
            ok = problem is None
            if not ok:
                text = problem
            elif not folder.exists():
                text = f"Creates the folder {folder}."
            elif any((folder / name).exists() for name in FILES):
                text = f"Replaces the run saved in {folder}."
            else:
                text = f"Saves into the empty folder {folder}."
        self.note.setText(text)
        self.save_button.setEnabled(ok)

    @Slot()
    def _on_browse_clicked(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Save the run in", self.parent_edit.text())
        if chosen:
            self.parent_edit.setText(chosen)

    def accept(self) -> None:  # Qt override
        if self.save_button.isEnabled():  # Return in a box must not save into a folder refused above
            super().accept()
