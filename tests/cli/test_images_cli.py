"""``gdstudio train --dataset images --data DIR`` end to end on folders of generated images (issue 13, item 4)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from gdstudio.cli import main
from gdstudio.data import registry
from tests.image_folders import make_image_folder, write_png_bomb

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """The decoded images are cached in a folder of the test's own, never the user's."""
    monkeypatch.setenv(registry.DATA_DIR_ENV, str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="module")
def shapes(tmp_path_factory) -> Path:
    """Three classes of coloured shapes, 20 images each, in PNG, JPEG, BMP, GIF and WebP."""
    return make_image_folder(tmp_path_factory.mktemp("folders") / "shapes")


def run_cli(capsys, *argv):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_train_learns_a_folder_of_generated_images(capsys, shapes):
    status, out, err = run_cli(capsys, "train", "--dataset", "images", "--data", shapes, "--json", "--quiet")
    assert status == 0, err
    result = json.loads(out)
    assert result["status"] == "ok" and result["dataset"] == "images"
    assert result["class_names"] == ["circle", "square", "triangle"]
    assert result["image_size"] == 32 and result["grey"] is False
    assert result["test_accuracy"] >= 0.9  # chance is 1/3
    assert "D = 3072, C = 3" in err
    assert "skipped" not in err


def test_image_size_and_grey_shape_the_inputs(capsys, shapes):
    status, out, err = run_cli(capsys, "train", "--dataset", "images", "--data", shapes, "--image-size", "8",
                               "--grey", "--json", "--quiet")
    assert status == 0, err
    result = json.loads(out)
    assert "D = 64, C = 3" in err and result["image_size"] == 8 and result["grey"] is True
    assert result["test_accuracy"] > 1 / 3


def test_class_names_are_in_the_json_of_every_data_set(capsys):
    status, out, _ = run_cli(capsys, "train", "--dataset", "digits", "--steps", "2", "--json", "--quiet")
    assert status == 0
    assert json.loads(out)["class_names"] == [str(d) for d in range(10)]


def test_skipped_files_are_one_line_on_stderr(capsys, shapes, tmp_path):
    folder = make_image_folder(tmp_path / "mixed", per_class=6)
    (folder / "circle" / "notes.txt").write_text("my notes")
    (folder / "square" / "broken.jpg").write_bytes((folder / "square" / "square-01.jpg").read_bytes()[:300])
    write_png_bomb(folder / "triangle" / "bomb.png")
    status, out, err = run_cli(capsys, "train", "--dataset", "images", "--data", folder, "--steps", "3", "--json",
                               "--quiet")
    assert status == 0, err
    lines = [line for line in err.splitlines() if "skipped" in line]
    assert len(lines) == 1
    line = lines[0]
    assert line.startswith("gdstudio: skipped 3 files in mixed (18 images kept): ")
    assert "triangle/bomb.png (too large to decode safely: 900,000,000 pixels)" in line
    assert "circle/notes.txt (not a PNG, JPEG, BMP, GIF or WebP image)" in line
    assert "square/broken.jpg (cannot be decoded" in line
    assert "Traceback" not in err


@pytest.mark.parametrize("layout, words", [
    ("missing", "no such folder"),
    ("file", "is a file, not a folder"),
    ("empty", "no class folders in it"),
    ("one class", "found images of 1 class (circle); need at least two class folders with images"),
])
def test_a_folder_that_cannot_be_trained_on_exits_2_with_one_line(capsys, tmp_path, layout, words):
    folder = tmp_path / "mine"
    if layout == "file":
        folder.write_text("x")
    elif layout == "empty":
        folder.mkdir()
    elif layout == "one class":
        make_image_folder(folder, per_class=4, shapes={"circle": (200, 0, 0)})
    status, out, err = run_cli(capsys, "train", "--dataset", "images", "--data", folder, "--quiet")
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and words in err and err.startswith("gdstudio: error: ")


def test_images_without_a_folder_says_how(capsys):
    status, _, err = run_cli(capsys, "train", "--dataset", "images", "--quiet")
    assert status == 2
    assert err.strip() == ("gdstudio: error: data set 'images' is a folder of your own: pass --data DIR, where DIR "
                           "holds one sub-folder of images per class")


@pytest.mark.parametrize("argv, words", [
    (["--dataset", "digits", "--image-size", "16"], "--image-size applies to --dataset images only"),
    (["--dataset", "digits", "--grey"], "--grey applies to --dataset images only"),
    (["--dataset", "images", "--image-size", "3"], "--image-size must be a whole number from 4 to 256, got 3"),
    (["--dataset", "images", "--image-size", "many"], "--image-size must be a whole number from 4 to 256, got 'many'"),
])
def test_image_flags_are_checked(capsys, argv, words):
    status, _, err = run_cli(capsys, "train", "--quiet", *argv)
    assert status == 2 and words in err and err.count("\n") == 1


def test_datasets_lists_images_as_your_folder(capsys):
    status, out, _ = run_cli(capsys, "datasets")
    assert status == 0
    (line,) = [line for line in out.splitlines() if line.startswith("images ")]
    assert "your own folder: --data DIR" in line
    status, _, err = run_cli(capsys, "datasets", "download", "images")
    assert status == 2 and "nothing to download" in err


def test_resume_reloads_the_same_folder_with_the_same_options(capsys, shapes, tmp_path):
    """--image-size and --grey are saved in config.json: --resume decodes the folder as the run was trained on it."""
    run = tmp_path / "run"
    status, _, err = run_cli(capsys, "train", "--dataset", "images", "--data", shapes, "--image-size", "12",
                             "--grey", "--epochs", "2", "--out", run, "--quiet")
    assert status == 0, err
    config = json.loads((run / "config.json").read_text())["config"]
    assert config["image_size"] == 12 and config["grey"] is True
    status, out, err = run_cli(capsys, "train", "--resume", run, "--epochs", "4", "--json", "--quiet")
    assert status == 0, err
    result = json.loads(out)
    assert result["epochs"] == pytest.approx(4) and result["image_size"] == 12 and result["grey"] is True
    assert "D = 144, C = 3" in err
    status, _, err = run_cli(capsys, "train", "--resume", run, "--epochs", "6", "--image-size", "16", "--quiet")
    assert status == 2 and "--image-size" in err


def test_an_old_run_folder_without_the_image_keys_still_resumes(capsys, tmp_path):
    run = tmp_path / "run"
    assert run_cli(capsys, "train", "--steps", "5", "--out", run, "--quiet")[0] == 0
    document = json.loads((run / "config.json").read_text())
    del document["config"]["image_size"], document["config"]["grey"]
    (run / "config.json").write_text(json.dumps(document))
    status, out, err = run_cli(capsys, "train", "--resume", run, "--steps", "10", "--json", "--quiet")
    assert status == 0, err and json.loads(out)["steps"] == 10


def test_compare_and_gradcheck_take_a_folder_too(capsys, shapes):
    status, out, err = run_cli(capsys, "compare", "--dataset", "images", "--data", shapes, "--image-size", "8",
                               "--budget", "40", "--json")
    assert status == 0, err
    assert set(json.loads(out)) == {"random-search", "random-local-search", "sgd"}
    status, out, err = run_cli(capsys, "gradcheck", "--dataset", "images", "--data", shapes, "--image-size", "4",
                               "--steps", "2", "--entries", "20", "--json")
    assert status == 0, err
    assert json.loads(out)["verdict"] in ("good", "acceptable")


def test_a_second_run_on_the_folder_decodes_nothing(tmp_path):
    """Two processes: the second finds the cache the first wrote and opens no image file."""
    folder = make_image_folder(tmp_path / "shapes", per_class=6)
    env = dict(os.environ, GDSTUDIO_DATA_DIR=str(tmp_path / "cache"),
               PYTHONPATH=os.pathsep.join([str(ROOT), *sys.path]))
    script = ("import sys; from PIL import Image; opened = []; real = Image.open\n"
              "Image.open = lambda *a, **k: opened.append(1) or real(*a, **k)\n"
              "from gdstudio.cli import main\n"
              "status = main(['train', '--dataset', 'images', '--data', sys.argv[1], '--steps', '2', '--quiet'])\n"
              "print('opened', len(opened)); sys.exit(status)")
    counts = []
    for _ in range(2):
        done = subprocess.run([sys.executable, "-c", script, str(folder)], env=env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr
        counts.append(done.stdout.strip())
    assert counts == ["opened 18", "opened 0"]
    Image.new("RGB", (48, 40)).save(folder / "circle" / "new.png")
    done = subprocess.run([sys.executable, "-c", script, str(folder)], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.stdout.strip() == "opened 19"  # an added file: decoded afresh
