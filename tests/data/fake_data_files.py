"""Tiny data files in the real formats, and a local HTTP server, for the data-layer tests.

Imported by the tests of this folder (pytest puts it on ``sys.path``); the fixtures live in ``conftest.py``.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import pickle
import struct
import tarfile
import threading
import time
from pathlib import Path

import numpy as np

CIFAR_PER_BATCH = 20
CIFAR_BATCHES = ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch")
CIFAR_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


# ----------------------------------------------------------------------------------------------------------------
# CIFAR-10


def cifar_arrays(per_batch: int = CIFAR_PER_BATCH, seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Random batches as the files hold them: ``name -> (planes (n, 3072) uint8 in CHW order, labels (n,))``."""
    rng = np.random.default_rng(seed)
    return {name: (rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
                   rng.integers(0, 10, per_batch).astype(np.uint8)) for name in CIFAR_BATCHES}


class _Py2Pickler(pickle._Pickler):
    """Writes ``bytes`` as Python 2 ``str`` (BINSTRING), as the real CIFAR-10 python batches do."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_bytes(self, obj):
        size = len(obj)
        if size < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([size]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", size) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_bytes


def py2_pickle(obj) -> bytes:
    """``obj`` pickled like a Python 2 cPickle file (protocol 2, byte strings as str, numpy.core names)."""
    buffer = io.BytesIO()
    _Py2Pickler(buffer, protocol=2).dump(obj)
    # numpy 2 writes its new module name; files from 2009 name the old one. Both must load.
    return buffer.getvalue().replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")


def write_cifar_folder(parent: Path, fmt: str, arrays: dict, meta: bool = True) -> Path:
    """Write ``cifar-10-batches-bin/`` or ``cifar-10-batches-py/`` under ``parent``; return that folder."""
    folder = parent / ("cifar-10-batches-bin" if fmt == "binary" else "cifar-10-batches-py")
    folder.mkdir(parents=True)
    for name, (planes, labels) in arrays.items():
        if fmt == "binary":
            records = np.concatenate([labels[:, None], planes], axis=1)
            (folder / f"{name}.bin").write_bytes(records.tobytes())
        else:
            batch = {b"batch_label": b"training batch", b"labels": [int(v) for v in labels], b"data": planes,
                     b"filenames": [f"img_{k}.png".encode() for k in range(len(labels))]}
            (folder / name).write_bytes(py2_pickle(batch))
    if meta:
        if fmt == "binary":
            (folder / "batches.meta.txt").write_text("\n".join(CIFAR_NAMES) + "\n\n")
        else:
            meta_dict = {b"label_names": [n.encode() for n in CIFAR_NAMES], b"num_cases_per_batch": 10000,
                         b"num_vis": 3072}
            (folder / "batches.meta").write_bytes(py2_pickle(meta_dict))
    return folder


def tar_folder(folder: Path, archive: Path) -> Path:
    """Pack ``folder`` into the tar.gz ``archive`` under its own name, as the real archives are laid out."""
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname=folder.name)
    return archive


def expected_hwc(planes: np.ndarray) -> np.ndarray:
    """The rows the loader must return for file rows ``planes`` (n, 3072) in CHW order."""
    return planes.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).reshape(-1, 3072)


# ----------------------------------------------------------------------------------------------------------------
# IDX (MNIST, Fashion-MNIST)


def idx_images_bytes(images: np.ndarray, count: int | None = None, rows: int = 28, cols: int = 28,
                     magic: int = 2051) -> bytes:
    count = len(images) if count is None else count
    return struct.pack(">4I", magic, count, rows, cols) + images.tobytes()


def idx_labels_bytes(labels: np.ndarray, count: int | None = None, magic: int = 2049) -> bytes:
    count = len(labels) if count is None else count
    return struct.pack(">2I", magic, count) + labels.astype(np.uint8).tobytes()


def write_idx_folder(folder: Path, n_train: int = 24, n_test: int = 12, gz: bool = True, seed: int = 0):
    """Write the four IDX files; return ``(train_images, train_labels, test_images, test_labels)``."""
    rng = np.random.default_rng(seed)
    arrays = (rng.integers(0, 256, (n_train, 784), dtype=np.uint8), rng.integers(0, 10, n_train),
              rng.integers(0, 256, (n_test, 784), dtype=np.uint8), rng.integers(0, 10, n_test))
    contents = {"train-images-idx3-ubyte": idx_images_bytes(arrays[0]),
                "train-labels-idx1-ubyte": idx_labels_bytes(arrays[1]),
                "t10k-images-idx3-ubyte": idx_images_bytes(arrays[2]),
                "t10k-labels-idx1-ubyte": idx_labels_bytes(arrays[3])}
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in contents.items():
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
    return arrays


# ----------------------------------------------------------------------------------------------------------------
# A local HTTP server


class FileServer:
    """Serves ``routes`` (path -> bytes) on 127.0.0.1, plus a few misbehaving paths; counts requests."""

    def __init__(self):
        self.routes: dict[str, bytes] = {}
        self.hits: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                server.hits.append(self.path)
                if self.path.startswith("/short/"):
                    # Announces more than it sends, then hangs up mid-way.
                    body = server.routes[self.path.removeprefix("/short")]
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body) + 1000))
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if self.path.startswith("/nolength/"):
                    body = server.routes[self.path.removeprefix("/nolength")]
                    self.send_response(200)
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(body)
                    self.close_connection = True
                    return
                if self.path.startswith("/redirect/"):
                    self.send_response(302)
                    self.send_header("Location", self.path.removeprefix("/redirect"))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path == "/to-ftp":
                    self.send_response(302)
                    self.send_header("Location", "ftp://127.0.0.1/file")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path == "/slow":
                    self.send_response(200)
                    self.send_header("Content-Length", "10")
                    self.end_headers()
                    self.wfile.write(b"12345")
                    self.wfile.flush()
                    time.sleep(1.5)
                    return
                body = server.routes.get(self.path)
                if body is None:
                    self.send_error(404, "Not Found")
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def add(self, path: str, body: bytes) -> str:
        """Serve ``body`` at ``path``; return its MD5."""
        self.routes[path] = body
        return hashlib.md5(body).hexdigest()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)
