"""The command line's rough edges, as a new user meets them (issue 13, "Also fix"): each one tried as typed."""

import json
import math
import os
import re
import stat
from pathlib import Path

import numpy as np
import pytest

from gdstudio.cli import main

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def run_cli(capsys, *argv):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def one_line(err: str) -> str:
    """The single line a refusal prints (the test fails if there are more, or a traceback)."""
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err.rstrip("\n")


def snapshot(folder: Path) -> dict:
    """Every file under ``folder`` (hidden ones too) with its bytes and mode, and every sub-folder."""
    found = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        found[key] = (path.read_bytes() if path.is_file() else None, path.stat().st_mode, path.stat().st_mtime_ns)
    return found


# ------------------------------------------------------------------------------------------------------------------
# 1. Resuming to a total the run has already reached


@pytest.fixture(scope="module")
def five_epoch_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("resume") / "run"
    assert main(["train", "--epochs", "5", "--quiet", "--out", str(folder)]) == 0
    document = json.loads((folder / "config.json").read_text())
    assert document["state"]["step"] == 100
    return folder


@pytest.mark.parametrize("flags, named, current", [
    (["--epochs", "3"], "--epochs", "5 epochs"),
    (["--epochs", "5"], "--epochs", "5 epochs"),
    (["--epochs", "4.99"], "--epochs", "5 epochs"),
    (["--steps", "100"], "--steps", "step 100"),
    (["--steps", "7"], "--steps", "step 100"),
    ([], "--epochs", "5 epochs"),
], ids=["epochs-below", "epochs-equal", "epochs-fraction-below", "steps-equal", "steps-below", "no-new-total"])
def test_resume_to_a_total_already_reached_says_so_and_leaves_the_run_untouched(capsys, five_epoch_run, flags,
                                                                                   named, current):
    before = snapshot(five_epoch_run)
    status, out, err = run_cli(capsys, "train", "--resume", five_epoch_run, *flags, "--quiet", "--json")
    line = one_line(err)
    assert status == 2 and out == ""
    assert len(re.findall(re.escape(named) + r"(?![\w-])", line)) == 1, line
    assert current in line and "new total" in line, line
    assert snapshot(five_epoch_run) == before


def test_resume_to_a_larger_total_still_trains(capsys, tmp_path, five_epoch_run):
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(five_epoch_run, folder)
    status, out, err = run_cli(capsys, "train", "--resume", folder, "--steps", "101", "--quiet", "--json")
    assert status == 0 and json.loads(out)["steps"] == 101


# ------------------------------------------------------------------------------------------------------------------
# 2. A batch larger than the training split


def test_batch_larger_than_the_training_split_is_reported_as_the_batch_in_force(capsys, tmp_path):
    status, out, err = run_cli(capsys, "train", "--batch-size", "100000", "--steps", "3", "--quiet", "--json",
                               "--out", tmp_path / "big")
    assert status == 0
    assert json.loads(out)["batch_size"] == 1257
    assert "batch 1,257 (all the training images; 100,000 asked)" in err
    assert err.count("100,000") == 1 and "batch 100000" not in err
    saved = json.loads((tmp_path / "big" / "config.json").read_text())
    assert saved["config"]["batch_size"] == 1257 and saved["state"]["batch_size"] == 1257
    # the batch in force is what the engine really used: the same run as one asked for 1,257 outright
    status, out_whole, err_whole = run_cli(capsys, "train", "--batch-size", "1257", "--steps", "3", "--quiet",
                                           "--json", "--out", tmp_path / "whole")
    assert status == 0 and "asked" not in err_whole and "batch 1,257," in err_whole
    assert json.loads(out_whole)["loss"] == json.loads(out)["loss"]
    with np.load(tmp_path / "big" / "weights.npz") as big, np.load(tmp_path / "whole" / "weights.npz") as whole:
        assert np.array_equal(big["W"], whole["W"]) and np.array_equal(big["b"], whole["b"])


def test_an_ordinary_batch_is_reported_as_it_was_asked(capsys):
    status, out, err = run_cli(capsys, "train", "--batch-size", "32", "--steps", "2", "--quiet", "--json")
    assert status == 0 and json.loads(out)["batch_size"] == 32
    assert "batch 32," in err and "asked" not in err


# ------------------------------------------------------------------------------------------------------------------
# 3. --out through a file, onto a file, into a folder that cannot be written


@pytest.mark.parametrize("below", [["B"], ["B", "C"], []], ids=["A-B", "A-B-C", "A"])
def test_out_through_or_onto_a_file_says_it_is_a_file(capsys, tmp_path, below):
    a_file = tmp_path / "A"
    a_file.write_text("not a folder")
    status, out, err = run_cli(capsys, "train", "--steps", "1", "--quiet", "--out", a_file.joinpath(*below))
    line = one_line(err)
    assert status == 2
    assert f"{a_file} is a file" in line and "does not exist" not in line, line
    assert line.count("--out") == 1
    assert a_file.read_text() == "not a folder"


def test_out_in_a_missing_folder_names_the_missing_folder(capsys, tmp_path):
    status, _, err = run_cli(capsys, "train", "--steps", "1", "--quiet", "--out", tmp_path / "no" / "such" / "run")
    line = one_line(err)
    assert status == 2 and f"{tmp_path / 'no' / 'such'} does not exist" in line and line.count("--out") == 1
    assert not (tmp_path / "no").exists()


@pytest.fixture
def unwritable_folder(tmp_path):
    """A folder this process cannot create files in: a read-only one, or (as root, who may write anywhere his
    permissions do not stop him) a kernel file system that refuses new files."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    candidates = [folder, Path("/sys")]
    try:
        for candidate in candidates:
            try:
                (candidate / "gdstudio-probe").mkdir()
            except OSError:
                yield candidate
                return
            (candidate / "gdstudio-probe").rmdir()
        pytest.skip("no folder here refuses this process a new file (root, and /sys is writable)")
    finally:
        folder.chmod(0o755)


@pytest.mark.parametrize("inside", [True, False], ids=["new-run-inside", "the-folder-itself"])
def test_out_where_nothing_can_be_written_says_so_before_training(capsys, unwritable_folder, inside):
    target = unwritable_folder / "run" if inside else unwritable_folder
    status, out, err = run_cli(capsys, "train", "--steps", "1", "--quiet", "--out", target)
    line = one_line(err)
    assert status == 2 and "cannot write" in line and str(unwritable_folder) in line and line.count("--out") == 1
    assert "training" not in err


# ------------------------------------------------------------------------------------------------------------------
# 4. Every numeric flag's message: one line, the flag named once, what is allowed, what was given

POSITIVE = "a finite number > 0"
WHOLE_1 = "a whole number >= 1"
FLAGS = {  # (command, flag): (what is allowed, bad values)
    ("train", "--lr"): (POSITIVE, ["nan", "inf", "-1", "0", "abc", "-1e-3"]),
    ("train", "--reg"): ("a finite number from 0 to 1e+08", ["nan", "inf", "-1", "abc", "1e9"]),
    ("train", "--batch-size"): ("a whole number from 1 to 1,000,000", ["nan", "inf", "-1", "0", "1.5", "abc",
                                                                       "1e30"]),
    ("train", "--epochs"): (POSITIVE, ["nan", "inf", "-1", "0", "abc"]),
    ("train", "--steps"): (WHOLE_1, ["nan", "inf", "-1", "0", "1.5", "abc", "1e999999999"]),
    ("train", "--budget"): (WHOLE_1, ["nan", "inf", "-1", "0", "1.5", "abc"]),
    ("train", "--seed"): ("a whole number from 0 to 2**63 - 1", ["nan", "inf", "-1", "1.5", "abc", "1e30"]),
    ("train", "--init-scale"): (POSITIVE, ["nan", "inf", "-1", "0", "abc"]),
    ("train", "--threads"): (WHOLE_1, ["nan", "inf", "-1", "0", "1.5", "abc"]),
    ("train", "--image-size"): ("a whole number from 4 to 256", ["nan", "inf", "-1", "3", "1.5", "abc", "257"]),
    ("gradcheck", "--image-size"): ("a whole number from 4 to 256", ["nan", "0", "abc"]),
    ("compare", "--image-size"): ("a whole number from 4 to 256", ["nan", "0", "abc"]),
    ("sweep", "--image-size"): ("a whole number from 4 to 256", ["nan", "0", "abc"]),
    ("gradnoise", "--image-size"): ("a whole number from 4 to 256", ["nan", "0", "abc"]),
    ("explain", "--scores"): ("a finite number", ["nan", "inf", "abc"]),
    ("explain", "--label"): ("a whole number >= 0", ["nan", "inf", "-1", "1.5", "abc"]),
    ("gradcheck", "--reg"): ("a finite number from 0 to 1e+08", ["nan", "inf", "-1", "abc"]),
    ("gradcheck", "--steps"): ("a whole number >= 0", ["nan", "inf", "-1", "1.5", "abc"]),
    ("gradcheck", "--entries"): (WHOLE_1, ["nan", "inf", "-1", "0", "1.5", "abc"]),
    ("gradcheck", "--batch"): (WHOLE_1, ["nan", "inf", "-1", "0", "1.5", "abc"]),
    ("gradcheck", "--seed"): ("a whole number from 0 to 2**63 - 1", ["nan", "-1", "1.5", "abc", "1e30"]),
    ("gradnoise", "--steps"): ("a whole number >= 0", ["nan", "inf", "-1", "1.5", "abc"]),
    ("gradnoise", "--batch-sizes"): (WHOLE_1, ["nan", "inf", "-1", "0", "1.5", "abc"]),
    ("gradnoise", "--draws"): (WHOLE_1, ["nan", "inf", "-1", "0", "1.5", "abc"]),
    ("gradnoise", "--seed"): ("a whole number from 0 to 2**63 - 1", ["nan", "-1", "1.5", "abc", "1e30"]),
    ("compare", "--budget"): ("a whole number >= 2", ["nan", "inf", "-1", "0", "1", "1.5", "abc"]),
    ("compare", "--lr"): (POSITIVE, ["nan", "inf", "-1", "0", "abc"]),
    ("compare", "--reg"): ("a finite number from 0 to 1e+08", ["nan", "inf", "-1", "abc"]),
    ("compare", "--batch-size"): ("a whole number from 1 to 1,000,000", ["nan", "0", "1.5", "abc"]),
    ("compare", "--seed"): ("a whole number from 0 to 2**63 - 1", ["nan", "-1", "1.5", "abc", "1e30"]),
    ("sweep", "--trials"): (WHOLE_1, ["nan", "inf", "-1", "0", "1.5", "abc"]),
    ("sweep", "--lr-range"): (POSITIVE, ["nan", "inf", "-1", "0", "abc"]),
    ("sweep", "--reg-range"): (POSITIVE, ["nan", "inf", "-1", "0", "abc"]),
    ("sweep", "--epochs"): (POSITIVE, ["nan", "inf", "-1", "0", "abc"]),
    ("sweep", "--batch-size"): ("a whole number from 1 to 1,000,000", ["nan", "0", "1.5", "abc"]),
    ("sweep", "--workers"): ("a whole number from 1 to 1,024", ["nan", "inf", "-1", "0", "1.5", "abc", "1e30"]),
    ("sweep", "--rounds"): (WHOLE_1, ["nan", "inf", "-1", "0", "1.5", "abc"]),
    ("sweep", "--seed"): ("a whole number from 0 to 2**63 - 1", ["nan", "-1", "1.5", "abc", "1e30"]),
    ("bench", "--repeats"): (WHOLE_1, ["nan", "inf", "-1", "0", "1.5", "abc"]),
    ("bench", "--epochs"): (WHOLE_1, ["nan", "inf", "-1", "0", "1.5", "abc"]),
}
CASES = [(command, flag, allowed, value) for (command, flag), (allowed, values) in FLAGS.items() for value in values]


def typed(command, flag, value):
    """The command line a person types to give ``flag`` the value ``value`` (and nothing else wrong)."""
    if flag == "--scores":
        return [command, flag, value, "1", "--label", "0"]
    if command == "explain":
        return [command, "--scores", "1", "2", flag, value]
    if flag.endswith("-range"):
        return [command, flag, value, "1"]
    return [command, flag, value]


@pytest.mark.parametrize("command, flag, allowed, value", CASES, ids=[f"{c} {f} {v}" for c, f, _, v in CASES])
def test_every_numeric_flag_refuses_a_bad_value_in_one_clean_line(capsys, command, flag, allowed, value):
    status, out, err = run_cli(capsys, *typed(command, flag, value))
    line = one_line(err)
    assert status == 2 and out == ""
    assert line.startswith(f"gdstudio {command}: "), line
    assert len(re.findall(re.escape(flag) + r"(?![\w-])", line)) == 1, line
    shown = value if re.fullmatch(r"[-+.\w]+", value) and value != "abc" else repr(value)
    assert line.endswith(f"{flag} must be {allowed}, got {shown}"), line


def test_the_table_covers_every_numeric_flag_of_every_command():
    from gdstudio.cli import build_parser

    numeric = set()
    parser = build_parser()
    commands = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction").choices
    for name, sub in commands.items():
        for action in sub._actions:
            if action.type is not None and action.option_strings:
                numeric.add((name, action.option_strings[0]))
    assert numeric == set(FLAGS)


def test_negative_numbers_in_scientific_notation_are_values_not_flags(capsys):
    status, out, err = run_cli(capsys, "explain", "--scores", "0.5", "-1e-3", "-2E+1", "--label", "0", "--json")
    assert status == 0, err
    assert json.loads(out)["scores"] == [0.5, -0.001, -20.0]


# ------------------------------------------------------------------------------------------------------------------
# 5. The README documents metrics.csv exactly as it is written


def documented_metric_columns() -> list[str]:
    section = README.split("`metrics.csv` columns", 1)[1]
    rows = []
    for line in section.splitlines()[1:]:
        if rows and not line.startswith("|"):
            break
        match = re.match(r"\| `(\w+)` \|", line)
        if match:
            rows.append(match.group(1))
    return rows


def test_the_readme_documents_every_metrics_csv_column_in_order(capsys, tmp_path):
    assert main(["train", "--steps", "3", "--quiet", "--out", str(tmp_path / "run")]) == 0
    header = (tmp_path / "run" / "metrics.csv").read_text().splitlines()[0].split(",")
    assert documented_metric_columns() == header


# ------------------------------------------------------------------------------------------------------------------
# 6. Files get the mode the user's umask gives any new file


@pytest.fixture(params=[0o022, 0o077], ids=["umask-022", "umask-077"])
def umask(request):
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def test_a_run_folder_has_the_modes_of_the_users_umask(capsys, tmp_path, umask):
    folder = tmp_path / "run"
    assert main(["train", "--steps", "3", "--quiet", "--out", str(folder)]) == 0
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"config.json", "metrics.csv", "weights.npz"}
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask, path
    for path in [folder, *(p for p in folder.rglob("*") if p.is_dir())]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o777 & ~umask, path
    # saving over it again (a checkpoint, a resume) gives the same modes
    assert main(["train", "--resume", str(folder), "--steps", "5", "--quiet"]) == 0
    for path in folder.rglob("*"):
        if path.is_file():
            assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask, path


def test_the_windows_exports_have_the_modes_of_the_users_umask(qtbot, tmp_path, umask):
    from PySide6.QtWidgets import QLabel

    from gdstudio.gui.export import save_widget_png, write_curves_csv
    from gdstudio.gui.series import RunCurves

    csv_path = write_curves_csv(tmp_path / "curves.csv", RunCurves())
    label = QLabel("curves")
    qtbot.addWidget(label)
    png_path = save_widget_png(tmp_path / "plots.png", label)
    for path in (csv_path, png_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask, path
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves.csv", "plots.png"]  # no temporary file left


# ------------------------------------------------------------------------------------------------------------------
# 7. explain: negative numbers after an operator, and a probability that underflows


def test_explain_puts_negative_numbers_in_parentheses(capsys):
    status, out, _ = run_cli(capsys, "explain", "--scores", "1000", "-1000", "5", "--label", "1")
    assert status == 0
    assert "max(0, 1000 − (−1000) + 1) = max(0, 2001) = 2001" in out
    assert "max(0, 5 − (−1000) + 1) = max(0, 1006) = 1006" in out
    assert not re.search(r"[−+] −", out), out


def test_explain_shows_the_log_sum_exp_form_when_the_probability_underflows(capsys):
    status, out, _ = run_cli(capsys, "explain", "--scores", "1000", "-1000", "5", "--label", "1")
    assert status == 0
    assert "log(0)" not in out and "inf" not in out
    assert "L_i = −s_y + log Σ_j e^(s_j)" in out
    assert "= −(−1000) + 1000 + log(1) = 2000" in out
    status, out, _ = run_cli(capsys, "explain", "--scores", "1000", "-1000", "5", "--label", "1", "--json")
    result = json.loads(out)
    assert result["softmax"]["loss"] == pytest.approx(2000.0) and math.isfinite(result["softmax"]["loss"])


def test_explain_keeps_the_plain_form_when_nothing_underflows(capsys):
    status, out, _ = run_cli(capsys, "explain", "--scores", "0.8", "0.3", "-0.4", "--label", "0")
    assert status == 0
    assert "L_i = −log(p_0) = −log(0.5242) = 0.6459" in out and "log Σ_j" not in out
    assert "max(0, −0.4 − 0.8 + 1) = max(0, −0.2) = 0" in out


def test_explain_refuses_scores_whose_differences_overflow(capsys):
    status, out, err = run_cli(capsys, "explain", "--scores", "1e308", "-1e308", "--label", "1", "--json")
    line = one_line(err)
    assert status == 2 and out == "" and line.count("--scores") == 1 and "1e+308" in line


def test_the_inspectors_typed_scores_show_the_same_steps(qtbot):
    """The window's "one image's maths" view shares the text: a person types the same scores and reads it."""
    from gdstudio.config import TrainConfig
    from gdstudio.engine.session import Session
    from gdstudio.gui.views.inspection import InspectorView
    from gdstudio.gui.worker import session_info
    from tests.gui.person import click, type_into

    session = Session(TrainConfig(steps=1))
    view = InspectorView()
    qtbot.addWidget(view)
    view.resize(900, 640)
    view.on_loaded(session_info(session, "new"))
    view.show()
    qtbot.waitExposed(view)
    qtbot.waitUntil(lambda: not view.stale, timeout=10_000)  # the views' own scheduler has drawn it
    click(qtbot, view.typed_check)
    type_into(qtbot, view.scores_edit, "1000, -1000, 5")
    type_into(qtbot, view.label_spin, "1")
    bar = view.tabs.tabBar()
    click(qtbot, bar, pos=bar.tabRect(next(i for i in range(bar.count()) if bar.tabText(i) == "Step by step")).center())
    qtbot.waitUntil(lambda: "s_1 = −1000 ←" in view.steps_text.toPlainText(), timeout=10_000)
    text = view.steps_text.toPlainText()
    assert "max(0, 1000 − (−1000) + 1) = max(0, 2001) = 2001" in text
    assert "log(0)" not in text and "= −(−1000) + 1000 + log(1) = 2000" in text


# ------------------------------------------------------------------------------------------------------------------
# Other rough edges found on the way


@pytest.mark.parametrize("name, content", [("config.json", '{"name": "my project"}\n'), ("metrics.csv", "a,b\n1,2\n")])
def test_out_never_overwrites_files_that_are_not_a_runs(capsys, tmp_path, name, content):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / name).write_text(content)
    status, out, err = run_cli(capsys, "train", "--steps", "1", "--quiet", "--out", folder)
    line = one_line(err)
    assert status == 2 and line.count("--out") == 1 and name in line and str(folder) in line, line
    assert [p.name for p in folder.iterdir()] == [name] and (folder / name).read_text() == content


def test_out_may_overwrite_an_earlier_run(capsys, tmp_path):
    assert main(["train", "--steps", "2", "--quiet", "--out", str(tmp_path / "run")]) == 0
    status, out, err = run_cli(capsys, "train", "--steps", "3", "--quiet", "--json", "--out", tmp_path / "run")
    assert status == 0 and json.loads((tmp_path / "run" / "config.json").read_text())["state"]["step"] == 3


@pytest.mark.parametrize("steps, said", [("1", "after 1 step in"), ("2", "after 2 steps in")])
def test_the_summary_counts_steps_in_words(capsys, steps, said):
    status, _, err = run_cli(capsys, "train", "--steps", steps, "--quiet")
    assert status == 0 and said in err
