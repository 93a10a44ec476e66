"""Issue 16 on the command line: ``gdstudio gradnoise`` and ``gdstudio gradcheck --method/--h-sweep``."""

import json

import pytest

from gdstudio.cli import main


def run_cli(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_gradnoise_json_has_the_issues_shape_and_the_lectures_numbers(capsys):
    status, out, _ = run_cli(capsys, "gradnoise", "--dataset", "digits", "--steps", "50", "--batch-sizes", "1", "16",
                             "256", "--draws", "300", "--json")
    document = json.loads(out)
    assert status == 0
    assert set(document) == {"full_gradient_norm", "batches"} and document["full_gradient_norm"] > 0
    rows = document["batches"]
    assert [set(row) for row in rows] == [{"batch_size", "mean_cosine", "bias", "spread"}] * 3
    assert [row["batch_size"] for row in rows] == [1, 16, 256]
    assert 12 <= rows[0]["spread"] / rows[2]["spread"] <= 20
    assert rows[0]["mean_cosine"] < rows[1]["mean_cosine"] < rows[2]["mean_cosine"]


def test_gradnoise_prints_a_table_by_default(capsys):
    status, out, err = run_cli(capsys, "gradnoise", "--draws", "20")
    assert status == 0
    lines = out.splitlines()
    assert "‖g‖ =" in lines[0] and "after 50 steps" in lines[0]
    header = lines[1].split()
    assert header[:2] == ["batch", "spread"]
    assert [int(line.split()[0]) for line in lines[2:7]] == [1, 4, 16, 64, 256]  # the default batch sizes


@pytest.mark.parametrize("argv, flag", [(["--batch-sizes", "0"], "--batch-sizes"),
                                        (["--batch-sizes", "4", "100000"], "--batch-sizes"),
                                        (["--draws", "0"], "--draws"), (["--steps", "-1"], "--steps"),
                                        (["--dataset", "nope"], "nope")])
def test_gradnoise_bad_input_exits_2_with_one_line(capsys, argv, flag):
    status, out, err = run_cli(capsys, "gradnoise", *argv)
    assert status == 2 and flag in err and len(err.strip().splitlines()) == 1 and out == ""


def test_gradcheck_forward_with_h_sweep_json(capsys):
    status, out, _ = run_cli(capsys, "gradcheck", "--method", "forward", "--h-sweep", "--json", "--batch", "50")
    document = json.loads(out)
    assert document["method"] == "forward" and status in (0, 1)
    timing = document["timing"]
    assert timing["method"] == "forward" and timing["entries"] == 650 and timing["evaluations"] == 651
    assert timing["cifar10"]["entries"] == 30_730 and timing["cifar10"]["numerical_seconds"] > 0
    sweep = document["h_sweep"]
    assert sweep["h"][0] == pytest.approx(1e-1) and sweep["h"][-1] == pytest.approx(1e-10)
    for method in ("forward", "centred"):
        assert len(sweep[method]["median_relative_error"]) == len(sweep["h"])
        assert 1e-10 < sweep[method]["best_h"] < 1e-1  # the bottom of the V is inside the range


def test_gradcheck_text_reports_the_time_and_the_sweep(capsys):
    status, out, _ = run_cli(capsys, "gradcheck", "--h-sweep", "--batch", "30")
    assert status == 0
    assert "centred difference [L(W+h) − L(W−h)] / 2h" in out
    assert "numerical gradient (centred) of all 650 entries = 1,300 loss evaluations" in out
    assert "for CIFAR-10's W (10 × 3,072 + 10 = 30,730 entries" in out
    assert "forward: smallest error" in out and "centred: smallest error" in out


def test_gradcheck_default_stays_centred_without_a_sweep(capsys):
    status, out, _ = run_cli(capsys, "gradcheck", "--json", "--batch", "20", "--entries", "10")
    document = json.loads(out)
    assert status == 0 and document["method"] == "centred" and "h_sweep" not in document


def test_gradcheck_refuses_an_unknown_method(capsys):
    status, out, err = run_cli(capsys, "gradcheck", "--method", "backward")
    assert status == 2 and "--method" in err and len(err.strip().splitlines()) == 1 and out == ""
