"""The README's CLI reference is checked against the parser: every subcommand and every flag is described."""

import argparse
import re
from pathlib import Path

from gdstudio.cli import build_parser

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def subcommands(parser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.items()


def test_every_subcommand_and_flag_is_in_the_readme():
    missing = []
    for name, sub in subcommands(build_parser()):
        if f"gdstudio {name}" not in README:
            missing.append(f"gdstudio {name}")
        for action in sub._actions:
            for flag in action.option_strings:
                if flag.startswith("--") and flag != "--help" and not re.search(re.escape(flag) + r"\b", README):
                    missing.append(f"gdstudio {name} {flag}")
        for inner_name, inner in subcommands(sub):
            if f"{name} {inner_name}" not in README:
                missing.append(f"gdstudio {name} {inner_name}")
            for action in inner._actions:
                for flag in action.option_strings:
                    if flag.startswith("--") and flag != "--help" and flag not in README:
                        missing.append(f"gdstudio {name} {inner_name} {flag}")
    assert not missing, "not described in README.md: " + ", ".join(missing)


def test_quick_start_is_two_commands():
    block = README.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    lines = [line for line in block.strip().splitlines() if line.strip()]
    assert len(lines) == 2
    assert ".venv/bin/gdstudio" in lines[0] and "pytest" in lines[1]


def test_the_defaults_table_says_what_the_data_sets_use():
    """Issue 13: the README's table of defaults holds the values the registry trains with (Fashion-MNIST's were
    measured); a changed default without a changed table fails here."""
    from gdstudio.data.registry import DATASETS

    table = README.split("## Default hyperparameters", 1)[1].split("\n\n", 2)[2]
    rows = {}
    for line in table.splitlines()[2:]:  # after the header and its rule
        if not line.startswith("| `"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        for name in cells[0].replace("`", "").replace(" (default)", "").split(", "):
            rows[name] = cells
    for name in ("digits", "toy2d", "cifar10", "mnist", "fashion-mnist"):
        defaults = DATASETS[name].defaults
        _, _, lr, reg, batch, epochs, init, preprocess, accuracy = rows[name]
        assert (float(lr), float(reg), int(batch), float(epochs), float(init)) == (
            defaults["lr"], defaults["reg"], defaults["batch_size"], defaults["epochs"], defaults["init_scale"]), name
        assert preprocess.split()[0] == defaults["preprocess"], name
    assert "not measured" not in rows["fashion-mnist"][-1]
