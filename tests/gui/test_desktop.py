"""Desktop integration: the icon in every size, the .desktop file, the About box's attributions."""

from pathlib import Path

from PySide6.QtWidgets import QMessageBox

from gdstudio.data.registry import DATASETS
from gdstudio.gui.app import application_icon

ROOT = Path(__file__).resolve().parents[2]


def test_icon_has_the_sizes_desktops_want(qapp):
    sizes = {size.width() for size in application_icon().availableSizes()}
    assert {16, 32, 48, 64, 128, 256} <= sizes


def test_desktop_file_names_the_gui_entry_point():
    entry = (ROOT / "resources" / "gdstudio.desktop").read_text()
    assert "Exec=gdstudio-gui" in entry and "Icon=gdstudio" in entry and "Type=Application" in entry
    assert 'gdstudio-gui = "gdstudio.gui.app:main"' in (ROOT / "pyproject.toml").read_text()


def test_about_lists_every_data_sets_licence(window, monkeypatch):
    shown = {}
    monkeypatch.setattr(QMessageBox, "about", lambda parent, title, text: shown.update(text=text))
    window.show_about()
    for name in ("digits", "cifar10", "mnist", "fashion-mnist"):
        assert DATASETS[name].licence in shown["text"]
