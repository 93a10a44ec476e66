"""A person's own folder of class folders (issue 13, item 4): decoding, splits, the cache and every bad input."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, JpegImagePlugin

from gdstudio.config import IMAGE_MAX_PIXELS, ConfigError, DataError, TrainConfig
from gdstudio.data import imagefolder, registry
from gdstudio.data.imagefolder import load_image_folder
from tests.image_folders import SHAPES, make_image_folder, write_png_bomb

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def shapes(tmp_path) -> Path:
    return make_image_folder(tmp_path / "shapes")


@pytest.fixture
def opens(monkeypatch) -> list:
    """Every file Pillow is asked to open, by the loader or anyone else."""
    calls = []
    real_open = Image.open

    def counting_open(stream, *args, **kwargs):
        calls.append(getattr(stream, "name", stream))
        return real_open(stream, *args, **kwargs)

    monkeypatch.setattr(Image, "open", counting_open)
    return calls


def rows_of(dataset, split: str, label: int) -> set[bytes]:
    X, y = dataset.split(split)
    return {row.tobytes() for row in X[y == label]}


def mean_colour(dataset, split="train", label=None) -> np.ndarray:
    X, y = dataset.split(split)
    rows = X if label is None else X[y == label]
    return rows.reshape(len(rows), -1, dataset.image_shape[2]).mean(axis=(0, 1))


# ----------------------------------------------------------------------------------------------------------------
# Decoding


def test_a_folder_of_class_folders_in_five_formats_becomes_uint8_squares(shapes):
    dataset = load_image_folder(shapes, image_size=16)
    assert dataset.class_names == ("circle", "square", "triangle")
    assert dataset.image_shape == (16, 16, 3) and dataset.max_value == 255 and dataset.name == "images"
    assert dataset.notice == ""
    total = 0
    for split in ("train", "val", "test"):
        X, y = dataset.split(split)
        assert X.dtype == np.uint8 and X.shape[1] == 16 * 16 * 3 and X.flags.c_contiguous
        assert y.dtype == np.int32 and set(y.tolist()) == {0, 1, 2}
        total += len(y)
    assert total == 60  # every image of every format decoded (PNG, JPEG, BMP, GIF, WebP)
    # Each class's own colour dominates its images (red circles, green squares, blue triangles).
    for label, colour in enumerate(SHAPES.values()):
        assert int(np.argmin(mean_colour(dataset, label=label))) != int(np.argmax(colour))
        assert int(np.argmax(mean_colour(dataset, label=label) - mean_colour(dataset))) == int(np.argmax(colour))


def test_grey_gives_one_channel(shapes):
    dataset = load_image_folder(shapes, image_size=8, grey=True)
    assert dataset.image_shape == (8, 8, 1) and dataset.X_train.shape[1] == 64


def test_the_centre_square_is_cut_out_not_squashed(tmp_path):
    """A 40×20 image, red and blue in its outer quarters, white in the middle: the centre square is all white."""
    folder = tmp_path / "wide"
    for name in ("a", "b"):
        (folder / name).mkdir(parents=True)
        for i in range(3):
            pixels = np.full((20, 40, 3), 255, np.uint8)
            pixels[:, :10] = (255, 0, 0)
            pixels[:, 30:] = (0, 0, 255)
            Image.fromarray(pixels).save(folder / name / f"{i}.png")
    dataset = load_image_folder(folder, image_size=10)
    assert dataset.X_train.min() >= 200  # squashed, the outer columns would be red (0, 0 in G, B) and blue


@pytest.mark.parametrize("mode, make, expected", [
    ("16-bit grey", lambda: Image.fromarray(np.full((12, 12), 32896, np.uint16)), (128, 128, 128)),
    ("1-bit", lambda: Image.new("1", (12, 12), 1), (255, 255, 255)),
    ("transparent RGBA", lambda: Image.new("RGBA", (12, 12), (255, 0, 0, 0)), (255, 255, 255)),
    ("half-transparent grey", lambda: Image.new("LA", (12, 12), (0, 128)), (127, 127, 127)),
    ("palette with a transparent colour", lambda: _palette_with_transparency(), (255, 255, 255)),
    ("CMYK JPEG", lambda: Image.new("CMYK", (12, 12), (0, 255, 255, 0)), (255, 0, 0)),
])
def test_other_image_modes_become_sane_rgb(tmp_path, mode, make, expected):
    """16-bit keeps its top 8 bits, transparency is laid over white, CMYK becomes RGB (issue 13: modes sanely)."""
    folder = tmp_path / "modes"
    for name in ("a", "b"):
        (folder / name).mkdir(parents=True)
        for i in range(3):
            image = make()
            image.save(folder / name / f"{i}.{'jpg' if image.mode == 'CMYK' else 'png'}")
    dataset = load_image_folder(folder, image_size=4)
    assert dataset.notice == ""
    np.testing.assert_allclose(mean_colour(dataset), expected, atol=4)


def _palette_with_transparency() -> Image.Image:
    image = Image.new("P", (12, 12), 0)
    image.putpalette([0, 0, 0, 255, 0, 0])
    image.info["transparency"] = 0
    return image


def test_a_gif_gives_its_first_frame(tmp_path):
    folder = tmp_path / "gifs"
    for name in ("a", "b"):
        (folder / name).mkdir(parents=True)
        for i in range(3):
            frames = [Image.new("RGB", (12, 12), colour) for colour in ((255, 0, 0), (0, 0, 255))]
            frames[0].save(folder / name / f"{i}.gif", save_all=True, append_images=frames[1:], duration=100)
    red, green, blue = mean_colour(load_image_folder(folder, image_size=4))
    assert red > 240 and blue < 15


def test_a_photo_is_turned_upright_by_its_exif_orientation(tmp_path):
    """Orientation 3 (upside down): the half stored at the bottom is shown at the top."""
    folder = tmp_path / "photos"
    exif = Image.Exif()
    exif[0x0112] = 3
    for name in ("a", "b"):
        (folder / name).mkdir(parents=True)
        for i in range(3):
            pixels = np.zeros((16, 16, 3), np.uint8)
            pixels[:8] = (255, 0, 0)  # stored: red on top, blue below
            pixels[8:] = (0, 0, 255)
            Image.fromarray(pixels).save(folder / name / f"{i}.jpg", exif=exif, quality=95)
    dataset = load_image_folder(folder, image_size=16)
    images = dataset.X_train.reshape(-1, 16, 16, 3).astype(int)
    assert images[:, :6, :, 2].mean() > 200 and images[:, -6:, :, 0].mean() > 200  # blue on top, red below


def test_jpegs_are_decoded_at_a_reduced_size(tmp_path, monkeypatch):
    """Image.draft asks the JPEG decoder for at least the size needed: a 1600×1200 photo decodes at 1/8 scale."""
    folder = tmp_path / "photos"
    for name in ("a", "b"):
        (folder / name).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (1600, 1200), (200, 30, 30)).save(folder / name / f"{i}.jpg")
    decoded_sizes = []
    real_load = JpegImagePlugin.JpegImageFile.load

    def load(image):
        decoded_sizes.append(image.size)
        return real_load(image)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "load", load)
    load_image_folder(folder, image_size=32)
    assert decoded_sizes and all(size == (200, 150) for size in decoded_sizes)


# ----------------------------------------------------------------------------------------------------------------
# Splits


def test_splits_are_stratified_with_the_stated_shares(shapes):
    dataset = load_image_folder(shapes, image_size=8)
    assert np.bincount(dataset.y_train).tolist() == [12, 12, 12]  # 60 %
    assert np.bincount(dataset.y_val).tolist() == [4, 4, 4]  # 20 %
    assert np.bincount(dataset.y_test).tolist() == [4, 4, 4]  # 20 %


def test_small_classes_get_one_image_in_each_split_when_they_can(tmp_path):
    make_image_folder(tmp_path / "few", per_class=3, shapes={"three": (200, 0, 0)})
    make_image_folder(tmp_path / "few", per_class=2, shapes={"two": (0, 200, 0)}, seed=1)
    make_image_folder(tmp_path / "few", per_class=1, shapes={"one": (0, 0, 200)}, seed=2)
    dataset = load_image_folder(tmp_path / "few", image_size=8)
    assert dataset.class_names == ("one", "three", "two")
    assert np.bincount(dataset.y_train, minlength=3).tolist() == [1, 1, 1]
    assert np.bincount(dataset.y_val, minlength=3).tolist() == [0, 1, 1]
    assert np.bincount(dataset.y_test, minlength=3).tolist() == [0, 1, 0]


def test_splits_are_fixed_and_an_added_photo_moves_no_other_class(shapes, tmp_path):
    first = load_image_folder(shapes, image_size=8)
    again = load_image_folder(shapes, image_size=8)
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(first.split(split)[0], again.split(split)[0])
    make_image_folder(tmp_path / "more", per_class=1, shapes={"circle": (0, 0, 0)}, seed=9)
    (tmp_path / "more" / "circle" / "circle-00.png").rename(shapes / "circle" / "extra.png")
    grown = load_image_folder(shapes, image_size=8)
    assert len(grown.y_train) + len(grown.y_val) + len(grown.y_test) == 61
    for label in (1, 2):  # the squares and triangles keep their test and validation images
        assert rows_of(grown, "test", label) == rows_of(first, "test", label)
        assert rows_of(grown, "val", label) == rows_of(first, "val", label)


# ----------------------------------------------------------------------------------------------------------------
# The cache


def test_a_second_open_decodes_nothing(shapes, tmp_path, opens):
    cache = tmp_path / "cache"
    first = load_image_folder(shapes, image_size=8, cache=cache)
    assert len(opens) == 60
    opens.clear()
    second = load_image_folder(shapes, image_size=8, cache=cache)
    assert opens == []
    for name in ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test"):
        np.testing.assert_array_equal(getattr(first, name), getattr(second, name))
    assert second.class_names == first.class_names and second.image_shape == first.image_shape
    saved = list(cache.iterdir())
    assert len(saved) == 1 and saved[0].suffix == ".npz"  # no temporary file left behind


@pytest.mark.parametrize("change", ["changed", "added", "removed"])
def test_a_changed_added_or_removed_file_gives_a_new_key(shapes, tmp_path, opens, change):
    cache = tmp_path / "cache"
    load_image_folder(shapes, image_size=8, cache=cache)
    (old_entry,) = cache.iterdir()
    target = shapes / "square" / "square-00.png"
    if change == "changed":
        Image.new("RGB", (48, 40), (0, 0, 0)).save(target)
        os.utime(target, ns=(1, 1))
    elif change == "added":
        Image.new("RGB", (48, 40), (0, 0, 0)).save(shapes / "square" / "new.png")
    else:
        target.unlink()
    opens.clear()
    dataset = load_image_folder(shapes, image_size=8, cache=cache)
    assert len(opens) > 0  # decoded again
    (new_entry,) = cache.iterdir()  # the new entry replaced the folder's old one
    assert new_entry.name != old_entry.name
    count = len(dataset.y_train) + len(dataset.y_val) + len(dataset.y_test)
    assert count == {"changed": 60, "added": 61, "removed": 59}[change]


def test_other_options_are_cached_apart(shapes, tmp_path, opens):
    cache = tmp_path / "cache"
    load_image_folder(shapes, image_size=8, cache=cache)
    grey = load_image_folder(shapes, image_size=8, grey=True, cache=cache)
    larger = load_image_folder(shapes, image_size=12, cache=cache)
    assert grey.image_shape == (8, 8, 1) and larger.image_shape == (12, 12, 3)
    assert len(list(cache.iterdir())) == 3
    opens.clear()
    assert load_image_folder(shapes, image_size=8, grey=True, cache=cache).image_shape == (8, 8, 1)
    assert opens == []


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "wrong arrays", "a pickle"])
def test_a_damaged_cache_file_is_ignored_and_rebuilt(shapes, tmp_path, opens, damage):
    cache = tmp_path / "cache"
    good = load_image_folder(shapes, image_size=8, cache=cache)
    (entry,) = cache.iterdir()
    if damage == "garbage":
        entry.write_bytes(b"not a zip file at all" * 10)
    elif damage == "truncated":
        entry.write_bytes(entry.read_bytes()[:1000])
    elif damage == "empty":
        entry.write_bytes(b"")
    elif damage == "wrong arrays":
        np.savez(entry, X_train=np.zeros((3, 5), np.float64))
    else:
        np.savez(entry, X_train=np.array([{"a": 1}], dtype=object))
    opens.clear()
    dataset = load_image_folder(shapes, image_size=8, cache=cache)
    assert len(opens) == 60  # decoded again, no traceback
    np.testing.assert_array_equal(dataset.X_test, good.X_test)
    opens.clear()
    load_image_folder(shapes, image_size=8, cache=cache)
    assert opens == []  # and the rebuilt entry is good


def test_the_registry_caches_in_the_cache_folder(shapes, opens):
    dataset = registry.load_dataset("images", shapes, image_size=8, grey=True)
    assert dataset.image_shape == (8, 8, 1)
    assert len(list((registry.cache_dir() / "images").glob("*.npz"))) == 1
    opens.clear()
    registry.load_dataset("images", str(shapes), image_size=8, grey=True)
    assert opens == []


# ----------------------------------------------------------------------------------------------------------------
# Bad input


def test_files_that_are_not_images_are_skipped_and_named_in_one_line(shapes):
    (shapes / "circle" / "notes.txt").write_text("my shapes")
    (shapes / "square" / "broken.png").write_bytes((shapes / "square" / "square-00.png").read_bytes()[:60])
    (shapes / "triangle" / "fake.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg")
    dataset = load_image_folder(shapes, image_size=8)
    assert len(dataset.y_train) + len(dataset.y_val) + len(dataset.y_test) == 60
    notice = dataset.notice
    assert "\n" not in notice
    assert notice.startswith("skipped 3 files in shapes (60 images kept): ")
    for name in ("circle/notes.txt (not a PNG", "square/broken.png (cannot be decoded", "triangle/fake.jpg ("):
        assert name in notice


def test_many_skipped_files_are_counted_and_the_first_three_named(shapes):
    for i in range(5):
        (shapes / "circle" / f"note{i}.txt").write_text("x")
    notice = load_image_folder(shapes, image_size=8).notice
    assert notice.startswith("skipped 5 files")
    assert "note0.txt" in notice and "note2.txt" in notice and "note3.txt" not in notice
    assert notice.endswith("; and 2 more")


def test_hidden_files_and_folders_are_ignored(shapes):
    (shapes / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (shapes / "circle" / ".thumbnail.png").write_text("x")
    (shapes / ".trash").mkdir()
    Image.new("RGB", (8, 8)).save(shapes / ".trash" / "old.png")
    dataset = load_image_folder(shapes, image_size=8)
    assert dataset.notice == "" and dataset.class_names == ("circle", "square", "triangle")


def test_a_file_beside_the_class_folders_is_named(shapes):
    Image.new("RGB", (8, 8)).save(shapes / "cover.png")
    notice = load_image_folder(shapes, image_size=8).notice
    assert "cover.png (not in a class folder)" in notice


def test_a_class_folder_without_images_is_left_out_and_said(shapes):
    (shapes / "hexagon").mkdir()
    (shapes / "hexagon" / "readme.txt").write_text("to do")
    dataset = load_image_folder(shapes, image_size=8)
    assert dataset.class_names == ("circle", "square", "triangle")
    assert "left out class folder without images: hexagon" in dataset.notice


@pytest.mark.parametrize("layout, words", [
    ("missing", "no such folder"),
    ("file", "is a file, not a folder"),
    ("empty", "no class folders in it"),
    ("one class", "found images of 1 class (circle); need at least two class folders with images"),
    ("no images", "found images of 0 classes; need at least two"),
    ("too few", "too few images to hold out validation and test images"),
])
def test_folders_that_cannot_be_a_data_set_give_one_plain_line(tmp_path, layout, words):
    folder = tmp_path / "mine"
    if layout == "file":
        folder.write_text("not a folder")
    elif layout == "empty":
        folder.mkdir()
    elif layout == "one class":
        make_image_folder(folder, per_class=5, shapes={"circle": (200, 0, 0)})
        (folder / "square").mkdir()
    elif layout == "no images":
        for name in ("a", "b"):
            (folder / name).mkdir(parents=True)
            (folder / name / "x.txt").write_text("x")
    elif layout == "too few":
        make_image_folder(folder, per_class=1, shapes={"circle": (200, 0, 0), "square": (0, 200, 0)})
    with pytest.raises(DataError) as caught:
        load_image_folder(folder, image_size=8)
    message = str(caught.value)
    assert words in message and "\n" not in message
    assert str(folder.name) in message


def test_a_folder_of_too_many_files_is_refused_before_decoding(shapes, monkeypatch, opens):
    """A home folder or a disk chosen by mistake is refused after listing, not decoded for an hour."""
    monkeypatch.setattr(imagefolder, "IMAGE_MAX_FILES", 50)
    with pytest.raises(DataError, match=r"more than 50 files in it; choose the folder that holds one sub-folder"):
        load_image_folder(shapes, image_size=8)
    assert opens == []


def test_a_decompression_bomb_is_refused_from_its_header_and_named(shapes, monkeypatch):
    """A 100 KB PNG claiming 30,000 × 30,000 pixels: skipped without decoding, even with Pillow's guard off."""
    write_png_bomb(shapes / "square" / "bomb.png")
    for name in ("a", "b", "c"):
        (shapes / "circle" / f"{name}.txt").write_text("x")  # the bomb is named even among others
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    loads = []
    real_load = Image.Image.load
    monkeypatch.setattr(Image.Image, "load", lambda image: loads.append(image.size) or real_load(image))
    dataset = load_image_folder(shapes, image_size=8)
    assert (30_000, 30_000) not in loads  # never decoded
    assert "square/bomb.png (too large to decode safely: 30,000 × 30,000 pixels" in dataset.notice
    assert len(dataset.y_train) + len(dataset.y_val) + len(dataset.y_test) == 60


@pytest.mark.parametrize("side, reason", [
    (8_000, f"too large to decode safely: 8,000 × 8,000 pixels, over {IMAGE_MAX_PIXELS:,}"),  # ours
    (10_000, "too large to decode safely: 100,000,000 pixels"),  # Pillow's warning, made a refusal
    (30_000, "too large to decode safely: 900,000,000 pixels"),  # Pillow's own error
])
def test_each_limit_refuses_a_large_image_as_one_named_skipped_file(shapes, side, reason):
    """8,000² = 64 M pixels: Pillow (89 M) would decode it, GD Studio's own limit (50 M) refuses it. 10,000²:
    Pillow warns at Image.open, before our check; the warning becomes the refusal, never a second line. 30,000²:
    Pillow raises at Image.open."""
    assert 64_000_000 > IMAGE_MAX_PIXELS
    write_png_bomb(shapes / "circle" / "large.png", side, side)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        notice = load_image_folder(shapes, image_size=8).notice
    assert f"circle/large.png ({reason})" in notice
    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]


BOMB_UNDER_A_CAP = """
import resource, sys
cap = 1 << 30  # 1 GiB of address space: the bomb decoded would need 0.9 GiB for its bits, 2.7 GiB as RGB
resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
from PIL import Image
Image.MAX_IMAGE_PIXELS = None  # Pillow's own guard off: GD Studio's must hold by itself
from gdstudio.data import imagefolder
if sys.argv[2] == "lifted":
    imagefolder.IMAGE_MAX_PIXELS = 10 ** 12
print(imagefolder.load_image_folder(sys.argv[1], 32).notice)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS caps the address space on Linux")
def test_a_bomb_never_blows_the_memory(shapes):
    """Under a 1 GiB address-space cap the folder loads; with the pixel limit lifted the same bomb cannot be decoded
    under that cap (so the cap is tight enough to catch a decoder that was called)."""
    write_png_bomb(shapes / "square" / "bomb.png")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", PYTHONPATH=os.pathsep.join([str(ROOT), *sys.path]))
    notices = {}
    for limit in ("ours", "lifted"):
        done = subprocess.run([sys.executable, "-c", BOMB_UNDER_A_CAP, str(shapes), limit], env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        notices[limit] = done.stdout
    assert "square/bomb.png (too large to decode safely: 30,000 × 30,000 pixels" in notices["ours"]
    assert "square/bomb.png (too large to decode)" in notices["lifted"]  # MemoryError: the cap bit


def test_links_that_lead_out_of_the_folder_are_not_followed(shapes, tmp_path):
    outside = make_image_folder(tmp_path / "elsewhere", per_class=3, shapes={"secret": (0, 0, 0)})
    (shapes / "circle" / "escape.png").symlink_to(outside / "secret" / "secret-00.png")
    (shapes / "secret").symlink_to(outside / "secret", target_is_directory=True)
    (shapes / "triangle" / "more").symlink_to(outside / "secret", target_is_directory=True)
    (shapes / "square" / "copy.png").symlink_to(shapes / "circle" / "circle-00.png")  # inside: followed
    (shapes / "square" / "loop").symlink_to(shapes / "square", target_is_directory=True)  # inside, but a loop
    dataset = load_image_folder(shapes, image_size=8)
    assert dataset.class_names == ("circle", "square", "triangle")
    assert len(dataset.y_train) + len(dataset.y_val) + len(dataset.y_test) == 61
    for name in ("circle/escape.png", "secret", "triangle/more"):
        assert f"{name} (a link that leads out of the folder)" in dataset.notice
    assert dataset.notice.startswith("skipped 3 files")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_named_pipe_is_skipped_not_read(shapes):
    os.mkfifo(shapes / "circle" / "pipe.png")  # opening it for reading would wait for a writer forever
    assert "circle/pipe.png (not a regular file)" in load_image_folder(shapes, image_size=8).notice


# ----------------------------------------------------------------------------------------------------------------
# The registry and the config


def test_the_registry_needs_a_folder_and_says_how(tmp_path):
    with pytest.raises(DataError, match=r"--data DIR, where DIR holds one sub-folder of images per class"):
        registry.load_dataset("images")
    with pytest.raises(DataError, match="nothing to download"):
        registry.download_dataset("images")
    with pytest.raises(DataError, match="apply to --dataset images only"):
        registry.load_dataset("digits", image_size=8)


def test_datasets_lists_images_as_your_folder():
    (row,) = [row for row in registry.dataset_status() if row["name"] == "images"]
    assert row["present"] and "your own folder" in row["where"] and "--data DIR" in row["where"]


@pytest.mark.parametrize("fields, words", [
    ({"dataset": "images", "image_size": 3}, "image_size must be between 4 and 256, got 3"),
    ({"dataset": "images", "image_size": 257}, "image_size must be between 4 and 256, got 257"),
    ({"dataset": "images", "image_size": 8.5}, "image_size must be a whole number"),
    ({"dataset": "images", "grey": "yes"}, "grey must be true or false"),
    ({"dataset": "digits", "image_size": 16}, "--image-size applies to --dataset images only"),
    ({"dataset": "digits", "grey": True}, "--grey applies to --dataset images only"),
])
def test_image_options_are_validated_with_plain_messages(fields, words):
    with pytest.raises(ConfigError, match=words):
        TrainConfig(**fields)


def test_image_options_survive_a_config_dict_and_old_configs_still_load():
    config = TrainConfig(dataset="images", image_size=24, grey=True)
    assert TrainConfig.from_dict(config.to_dict()) == config
    old = config.to_dict()
    del old["image_size"], old["grey"]
    restored = TrainConfig.from_dict(old)
    assert restored.image_size is None and restored.grey is False
