"""The command-line front end: ``gdstudio [gui|train|explain|datasets|bench] ...``.

Exit status (DESIGN.md §6): 0 success; 2 bad input (one line on stderr naming the flag or file, no traceback);
3 a run that diverged; 1 anything else. Progress goes to stderr; ``--json`` results to stdout.
"""

from __future__ import annotations

import argparse
import decimal
import contextlib
import json
import math
import os
import re
import sys
import tempfile
import time
import traceback
from pathlib import Path

from gdstudio import __version__
from gdstudio import config as cfg
from gdstudio.config import ConfigError, GDStudioError

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_DIVERGED = 0, 1, 2, 3
CHECKPOINT_SECONDS = cfg.CHECKPOINT_SECONDS


class UsageError(Exception):
    """Bad command-line input: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A value such as -1e-3 is a negative number, not an unknown flag (argparse < 3.13 knows only -1 and -.5).
        self._negative_number_matcher = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")

    def error(self, message):  # one line, no usage block: the message names the flag
        # Our flag types say "--lr must be ..." themselves: drop argparse's "argument --lr: " in front of it.
        named = re.match(r"argument (\S+): (.*)", message, re.DOTALL)
        if named and named.group(2).startswith(named.group(1) + " "):
            message = named.group(2)
        raise UsageError(f"{self.prog}: {message}")


def _as_typed(text: str) -> str:
    """A flag's value as the user typed it, in quotes when it is not even a number (``got nan``, ``got 'abc'``)."""
    try:
        float(text)
    except ValueError:
        return repr(text)
    return text


def _number_flag(flag: str, allowed: str, parse, accept):
    """An argparse type: ``parse(text)`` where ``accept`` takes it, else one message naming ``flag`` once, what is
    allowed and what was given: "--lr must be a finite number > 0, got nan"."""

    def convert(text):
        try:
            value = parse(text)
        except (ValueError, ArithmeticError):
            value = None
        if value is None or not accept(value):
            raise argparse.ArgumentTypeError(f"{flag} must be {allowed}, got {_as_typed(text)}")
        return value

    convert.__name__ = flag
    return convert


def _finite_float(text: str) -> float | None:
    value = float(text)
    return value if math.isfinite(value) else None


def _whole(text: str) -> int | None:
    """``text`` as an exact whole number (``1e3`` is 1000; ``1.5``, ``nan`` and ``inf`` are none, and so is a number
    of more than 100 digits, whose exact value would take minutes to write out: ``1e999999999``)."""
    value = decimal.Decimal(text.strip())
    if not value.is_finite() or value.adjusted() > 100 or value != value.to_integral_value():
        return None
    return int(value)


def _positive_number(name):
    return _number_flag(name, "a finite number > 0", _finite_float, lambda v: v > 0)


def _number_between(name, low, high):
    return _number_flag(name, f"a finite number from {low:g} to {high:g}", _finite_float, lambda v: low <= v <= high)


def _whole_number(name, minimum, maximum=None, maximum_text=None):
    allowed = (f"a whole number >= {minimum}" if maximum is None else
               f"a whole number from {minimum} to {maximum_text or f'{maximum:,}'}")
    return _number_flag(name, allowed, _whole, lambda v: v >= minimum and (maximum is None or v <= maximum))


def _seed(name):
    return _whole_number(name, 0, cfg.MAX_SEED, "2**63 - 1")


_FLAG_TYPES = {cfg.check_lr: _positive_number, cfg.check_reg: lambda flag: _number_between(flag, *cfg.REG_RANGE),
               cfg.check_batch_size: lambda flag: _whole_number(flag, 1, cfg.MAX_BATCH_SIZE)}


def _flag_type(check, flag):
    """The argparse type of a hyperparameter that ``check`` validates in :class:`TrainConfig`, naming ``flag``."""
    flag_type = _FLAG_TYPES[check](flag)

    def convert(text):
        return check(flag_type(text))

    convert.__name__ = flag
    return convert


_image_size = _whole_number("--image-size", *cfg.IMAGE_SIZE_RANGE)


def _add_image_flags(parser) -> None:
    """``--image-size`` and ``--grey``, the options of ``--dataset images``."""
    parser.add_argument("--image-size", type=_image_size, metavar="N",
                        help=f"--dataset {cfg.IMAGE_FOLDER_DATASET}: resize the images to N×N "
                        f"(default: {cfg.IMAGE_SIZE_DEFAULT})")
    parser.add_argument("--grey", action="store_true", help=f"--dataset {cfg.IMAGE_FOLDER_DATASET}: decode the "
                        "images as grey instead of colour")


def _image_options(args) -> dict:
    return {"image_size": args.image_size, "grey": args.grey}


_score = _number_flag("--scores", "a finite number", _finite_float, lambda v: True)


def _add_training_flags(parser, defaults_note=" (default: the data set's)"):
    parser.add_argument("--dataset", default="digits", help="data set name (see `gdstudio datasets`; "
                        "default: digits)")
    parser.add_argument("--data", metavar="PATH", help="archive or folder holding the data set "
                        "(default: the cache folder)")
    parser.add_argument("--loss", choices=cfg.LOSSES, default="softmax", help="loss function (default: softmax)")
    parser.add_argument("--reg", type=_flag_type(cfg.check_reg, "--reg"), help="L2 strength λ" + defaults_note)
    parser.add_argument("--lr", type=_flag_type(cfg.check_lr, "--lr"), help="step size α" + defaults_note)
    parser.add_argument("--batch-size", type=_flag_type(cfg.check_batch_size, "--batch-size"),
                        help="mini-batch size, 1 = strict SGD" + defaults_note)
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=_positive_number("--epochs"), help="passes over the training split"
                        + defaults_note)
    length.add_argument("--steps", type=_whole_number("--steps", 1), help="number of mini-batch steps")
    parser.add_argument("--budget", type=_whole_number("--budget", 1),
                        help="for the search strategies: mini-batch loss evaluations to spend")
    parser.add_argument("--seed", type=_seed("--seed"), default=0, help="random seed (default: 0)")
    parser.add_argument("--backend", choices=cfg.BACKENDS, default="auto", help="compute backend (default: auto)")
    parser.add_argument("--strategy", choices=cfg.STRATEGIES, default="sgd", help="optimiser (default: sgd)")
    parser.add_argument("--init-scale", type=_positive_number("--init-scale"),
                        help="W starts as init_scale·randn" + defaults_note)
    parser.add_argument("--preprocess", choices=cfg.PREPROCESSINGS,
                        help="unit: (pixels − mean)/max; raw: pixels − mean, as the lecture" + defaults_note)
    parser.add_argument("--threads", type=_whole_number("--threads", 1), help="CPU threads (default: all)")
    _add_image_flags(parser)


def _add_data_flags(parser) -> None:
    """``--dataset``, ``--data`` and ``--loss``, as the commands that train something take them."""
    parser.add_argument("--dataset", default="digits", help="data set name (default: digits)")
    parser.add_argument("--data", metavar="PATH", help="archive or folder holding the data set")
    parser.add_argument("--loss", choices=cfg.LOSSES, default="softmax", help="loss function (default: softmax)")
    _add_image_flags(parser)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gdstudio", description="GD Studio: watch a linear image classifier learn.")
    parser.add_argument("--version", action="version", version=f"gdstudio {__version__}")
    commands = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")

    gui = commands.add_parser("gui", help="open the window (the default)")
    gui.add_argument("--dataset", default=None, help="data set to open with (default: the last one, or digits)")

    train = commands.add_parser("train", help="train headless and print the result")
    _add_training_flags(train)
    train.add_argument("--out", metavar="DIR", help="save the run (config.json, metrics.csv, weights.npz) in DIR, "
                       f"with a checkpoint every {CHECKPOINT_SECONDS:g} s")
    train.add_argument("--resume", metavar="DIR", help="continue the run saved in DIR (writing back into DIR) up to "
                       "--epochs or --steps in total; its own settings otherwise")
    train.add_argument("--json", action="store_true", help="print one JSON object with the result on stdout")
    train.add_argument("--quiet", action="store_true", help="no progress bar on stderr")

    explain = commands.add_parser("explain", help="one image's SVM and softmax loss, step by step")
    explain.add_argument("--scores", type=_score, nargs="+", required=True, metavar="S",
                         help="the image's class scores, e.g. 0.8 0.3 -0.4")
    explain.add_argument("--label", type=_whole_number("--label", 0), required=True,
                         help="index of the correct class")
    explain.add_argument("--json", action="store_true", help="print JSON instead of text")

    gradcheck = commands.add_parser("gradcheck", help="analytic gradient against finite differences")
    _add_data_flags(gradcheck)
    gradcheck.add_argument("--reg", type=_flag_type(cfg.check_reg, "--reg"), help="L2 strength λ (default: the "
                           "data set's)")
    gradcheck.add_argument("--steps", type=_whole_number("--steps", 0), default=50,
                           help="SGD steps to train before checking, so W is not just its random start (default: 50)")
    gradcheck.add_argument("--entries", type=_whole_number("--entries", 1),
                           help="entries of W and b to sample (default: all when at most 1,000, else 100)")
    gradcheck.add_argument("--batch", type=_whole_number("--batch", 1), default=100,
                           help="training images the loss is measured on (default: 100)")
    gradcheck.add_argument("--seed", type=_seed("--seed"), default=0, help="random seed (default: 0)")
    gradcheck.add_argument("--method", choices=("forward", "centred"), default="centred",
                           help="finite difference: [L(W+h) − L(W)] / h or [L(W+h) − L(W−h)] / 2h (default: centred)")
    gradcheck.add_argument("--h-sweep", action="store_true", help="also the relative error of both differences "
                           "(float64) against h from 1e-1 to 1e-10, for the 5 largest entries")
    gradcheck.add_argument("--json", action="store_true", help="print JSON instead of a table")

    gradnoise = commands.add_parser("gradnoise", help="the mini-batch gradient's noise against the full gradient")
    _add_data_flags(gradnoise)
    gradnoise.add_argument("--steps", type=_whole_number("--steps", 0), default=50,
                           help="SGD steps to train first (default: 50)")
    gradnoise.add_argument("--batch-sizes", type=_whole_number("--batch-sizes", 1), nargs="+", metavar="B",
                           default=[1, 4, 16, 64, 256], help="batch sizes to draw (default: 1 4 16 64 256)")
    gradnoise.add_argument("--draws", type=_whole_number("--draws", 1), default=200,
                           help="mini-batches drawn per batch size, with replacement (default: 200)")
    gradnoise.add_argument("--seed", type=_seed("--seed"), default=0, help="random seed (default: 0)")
    gradnoise.add_argument("--json", action="store_true", help="print JSON instead of a table")

    compare = commands.add_parser("compare", help="race random search, random local search and SGD")
    _add_data_flags(compare)
    compare.add_argument("--budget", type=_whole_number("--budget", 2), default=1000,
                         help="mini-batch loss evaluations for each strategy (default: 1000)")
    compare.add_argument("--lr", type=_flag_type(cfg.check_lr, "--lr"), help="SGD step size (default: the data "
                         "set's)")
    compare.add_argument("--reg", type=_flag_type(cfg.check_reg, "--reg"), help="L2 strength λ")
    compare.add_argument("--batch-size", type=_flag_type(cfg.check_batch_size, "--batch-size"),
                         help="mini-batch size (default: the data set's)")
    compare.add_argument("--seed", type=_seed("--seed"), default=0, help="random seed (default: 0)")
    compare.add_argument("--json", action="store_true", help="print JSON instead of a table")

    sweep = commands.add_parser("sweep", help="random search over log α × log λ on the validation split")
    _add_data_flags(sweep)
    sweep.add_argument("--trials", type=_whole_number("--trials", 1), default=12, help="points to try in each round "
                       "(default: 12)")
    sweep.add_argument("--lr-range", type=_positive_number("--lr-range"), nargs=2, metavar=("LOW", "HIGH"),
                       default=(1e-3, 3.0), help="α range, sampled in log space (default: 1e-3 3)")
    sweep.add_argument("--reg-range", type=_positive_number("--reg-range"), nargs=2, metavar=("LOW", "HIGH"),
                       default=(1e-6, 1e-1), help="λ range, sampled in log space (default: 1e-6 0.1)")
    sweep.add_argument("--epochs", type=_positive_number("--epochs"), help="epochs per trial (default: the data "
                       "set's)")
    sweep.add_argument("--batch-size", type=_flag_type(cfg.check_batch_size, "--batch-size"),
                       help="mini-batch size (default: the data set's)")
    sweep.add_argument("--workers", type=_whole_number("--workers", 1, cfg.MAX_SWEEP_WORKERS),
                       help="processes, here or in --scheduler local (default: all cores)")
    sweep.add_argument("--seed", type=_seed("--seed"), default=0, help="random seed (default: 0)")
    sweep.add_argument("--rounds", type=_whole_number("--rounds", 1), default=1, help="coarse to fine: each round "
                       "after the first draws --trials points in ranges narrowed around the best so far (default: 1)")
    sweep.add_argument("--scheduler", metavar="ADDRESS|local", help="run the trials on the Dask cluster at ADDRESS "
                       "(tcp://host:8786), or on a LocalCluster of --workers processes started here (needs "
                       'pip install "gdstudio[dask]")')
    sweep.add_argument("--json", action="store_true", help="print JSON instead of a table")

    datasets = commands.add_parser("datasets", help="list the data sets, or download one")
    datasets.add_argument("--json", action="store_true", help="print JSON instead of a table")
    datasets_commands = datasets.add_subparsers(dest="datasets_command", parser_class=_Parser, metavar="ACTION")
    download = datasets_commands.add_parser("download", help="download a data set into the cache folder")
    download.add_argument("name", help="cifar10, mnist or fashion-mnist")
    download.add_argument("--mirror", metavar="URL", help="fetch the files from this folder URL instead of the "
                          "official source (the checksums are still verified)")
    download.add_argument("--quiet", action="store_true", help="no progress bar")

    bench = commands.add_parser("bench", help="time the backends against a NumPy loop and the FLOP bound")
    bench.add_argument("--workload", choices=("cifar10", "digits", "fashion-mnist"), action="append",
                       dest="workloads", help="cifar10, digits: synthetic data of that shape (repeatable; default: "
                       "both); fashion-mnist: the real data set, with the NumPy loop, PyTorch and scikit-learn")
    bench.add_argument("--backend", choices=("cpu", "cuda", "numpy"), action="append", dest="backends",
                       help="engine backend to time (repeatable; default: every one that runs here)")
    bench.add_argument("--loss", choices=cfg.LOSSES, default="softmax", help="loss function (default: softmax)")
    bench.add_argument("--repeats", type=_whole_number("--repeats", 1), help="timings per implementation, in "
                       "interleaved rounds, best kept (default: 3, --quick: 1)")
    bench.add_argument("--no-torch", action="store_true", help="skip PyTorch even when it is installed")
    bench.add_argument("--quick", action="store_true", help="tiny sizes, one repeat (seconds; ratios mean little); "
                       "fashion-mnist: two epochs")
    bench.add_argument("--epochs", type=_whole_number("--epochs", 1), help="fashion-mnist: epochs to train "
                       "(default: the data set's, 20)")
    bench.add_argument("--json", action="store_true", help="print one JSON object on stdout instead of a table")
    return parser


# ------------------------------------------------------------------------------------------------------------------
# Commands


def _json_number(value):
    return value if not (isinstance(value, float) and not math.isfinite(value)) else None


def _print_json(document) -> None:
    print(json.dumps(document, indent=2, default=_json_number))


def cmd_train(args) -> int:
    from tqdm import tqdm

    from gdstudio.engine.progress import DIVERGED
    from gdstudio.engine.runs import save_run
    from gdstudio.engine.session import Session

    from gdstudio.engine.resume import restore_session

    started = time.perf_counter()  # a run's "seconds" count from here: README, "What a run's seconds measure"
    if args.resume:
        run = _resumed_run(args)  # refused here, before anything is loaded or written, when there is nothing to do
        args.out = args.out or args.resume
    if args.out:
        _check_out_folder(args.out)  # before the data loads: a wrong --out costs no wait
    if args.resume:
        session = restore_session(run, data_path=args.data)
    else:
        config = cfg.TrainConfig(dataset=args.dataset, loss=args.loss, reg=args.reg, lr=args.lr,
                                 batch_size=args.batch_size, epochs=args.epochs, steps=args.steps, seed=args.seed,
                                 strategy=args.strategy, backend=args.backend, init_scale=args.init_scale,
                                 preprocess=args.preprocess, budget=args.budget, threads=args.threads,
                                 **_image_options(args))
        session = Session(config, data_path=args.data)
    images, asked = len(session.dataset.y_train), session.batch_size
    if asked > images and not session.step:
        session.configure(batch_size=images)  # what each step takes: the summary and config.json say so
    session.warm_up()  # the kernels loaded now, so that the time before the first step can be told apart
    startup = time.perf_counter() - started
    c = session.config
    if session.dataset.notice:  # files of an image folder that were skipped: one line, before the progress bar
        print(f"gdstudio: {session.dataset.notice}", file=sys.stderr)
    batch = f"batch {min(asked, images):,}" + (f" (all the training images; {asked:,} asked)" if asked > images else "")
    # The settings in force: a resumed run's live changes (a loss switched, α lowered) are the session's, not its
    # config's, which holds the ones it started from.
    print(f"gdstudio: training {session.loss} on {c.dataset} ({images:,} train images, "
          f"D = {session.dataset.num_features}, C = {session.dataset.num_classes}) with {c.strategy} on "
          f"{session.backend.name}: α = {session.lr:g}, λ = {session.reg:g}, {batch}, preprocessing "
          f"{c.preprocess}", file=sys.stderr)
    if c.steps is not None:
        total, unit, measure = c.steps, "step", (lambda p: p.step)
    elif c.budget is not None:
        total, unit, measure = c.budget, "eval", (lambda p: p.evaluations)
    else:
        total, unit, measure = c.epochs, "epoch", (lambda p: round(p.epoch, 4))
    bar = tqdm(total=total, unit=unit, file=sys.stderr, disable=args.quiet or None, dynamic_ncols=True,
               bar_format="{l_bar}{bar}| {n:.4g}/{total_fmt} [{elapsed}<{remaining}{postfix}]")
    last = None
    saved_at = time.perf_counter()
    try:
        for last in session.run():
            bar.update(measure(last) - bar.n)
            if args.out and last.status == "running" and time.perf_counter() - saved_at >= CHECKPOINT_SECONDS:
                save_run(args.out, session)  # a checkpoint: a crash loses seconds, not hours
                saved_at = time.perf_counter()
            postfix = {"loss": f"{last.loss:.4g}"}
            if last.val_accuracy is not None:
                postfix["val"] = f"{last.val_accuracy:.3f}"
            bar.set_postfix(postfix, refresh=False)
    except KeyboardInterrupt:
        bar.close()
        print("gdstudio: interrupted", file=sys.stderr)
        return 130
    bar.close()
    seconds = time.perf_counter() - started
    final = dict(last.final)
    if args.out:
        save_run(args.out, session, final)  # with where the data is: the next resume finds it there
        print(f"gdstudio: run saved in {args.out}", file=sys.stderr)
    summary = {"status": last.status, "loss": final.get("train_loss", math.nan) + session.reg * float(
        (session.W.astype("float64") ** 2).sum()), "train_accuracy": final.get("train_accuracy"),
        "val_accuracy": final.get("val_accuracy"), "test_accuracy": final.get("test_accuracy"),
        "steps": session.step, "epochs": session.epoch, "evaluations": session.evaluations,
        "seconds": seconds, "startup_seconds": startup, "backend": session.backend.name, "dataset": c.dataset,
        "loss_function": session.loss, "strategy": c.strategy, "lr": session.lr, "reg": session.reg,
        "batch_size": session.batch_size, "message": last.message}
    summary["class_names"] = list(session.dataset.class_names)
    if c.image_size is not None:
        summary.update(image_size=c.image_size, grey=c.grey)
    if last.status == DIVERGED:
        print(f"gdstudio: diverged: {last.message}", file=sys.stderr)
    else:
        print(f"gdstudio: {last.status}: loss {summary['loss']:.4g}, accuracy train "
              f"{summary['train_accuracy']:.3f} / val {summary['val_accuracy']:.3f} / test "
              f"{summary['test_accuracy']:.3f} after {session.step:,} step{'s' if session.step != 1 else ''} in "
              f"{seconds:.2f} s", file=sys.stderr)
    if args.json:
        _print_json({k: _json_number(v) for k, v in summary.items()})
    return EXIT_DIVERGED if last.status == DIVERGED else EXIT_OK


RESUME_KEEPS = {"dataset": "digits", "data": None, "loss": "softmax", "reg": None, "lr": None, "batch_size": None,
                "budget": None, "seed": 0, "backend": "auto", "strategy": "sgd", "init_scale": None, "preprocess": None,
                "image_size": None, "grey": False}


def _resumed_run(args):
    """The run saved in ``args.resume``, with ``--epochs`` or ``--steps`` as the new total to reach.

    Refused (``UsageError``) when that total, or the run's own without either flag, is already reached: resuming
    would do nothing, and the run folder is left as it is."""
    from gdstudio.engine.runs import load_run

    changed = [name for name, default in RESUME_KEEPS.items() if getattr(args, name) != default and name != "data"]
    if changed:
        flag = "--" + changed[0].replace("_", "-")
        raise UsageError(f"gdstudio train: argument {flag}: --resume continues with the run's own settings; "
                         "only --epochs or --steps (the new total), --data, --threads and --out may be given")
    run = load_run(args.resume)
    if run.state["status"] == "diverged":
        raise UsageError(f"gdstudio train: argument --resume: the run in {args.resume} diverged; start a new run "
                         "with a smaller --lr")
    if args.epochs is not None:
        run.config = run.config.replace(epochs=args.epochs, steps=None, budget=None)
    elif args.steps is not None:
        run.config = run.config.replace(steps=args.steps, budget=None)
    if args.threads is not None:
        run.config = run.config.replace(threads=args.threads)
    _check_resume_total(args, run)
    return run


def _check_resume_total(args, run) -> None:
    """Refuse a resume whose total the run has already reached (it would train nothing and report "ok")."""
    try:
        step, evaluations = int(run.state["step"]), int(run.state["evaluations"])
        epoch = (int(run.state["epochs_done"]) * len(run.order) + int(run.state["position"])) / len(run.order)
    except (TypeError, ValueError, ZeroDivisionError):
        return  # a damaged state: restoring the session names what is wrong with it
    where = f"the run in {args.resume}"
    if args.epochs is not None and epoch >= args.epochs - 1e-12:
        raise UsageError(f"gdstudio train: --epochs {args.epochs:g} is the new total to reach, and {where} is "
                         f"already at {epoch:.4g} epochs (step {step:,}): give more than {epoch:.4g}")
    if args.steps is not None and step >= args.steps:
        raise UsageError(f"gdstudio train: --steps {args.steps:,} is the new total to reach, and {where} is "
                         f"already at step {step:,} ({epoch:.4g} epochs): give more than {step:,}")
    c = run.config
    if c.steps is not None:
        reached, total = step >= c.steps, f"step {step:,} ({epoch:.4g} epochs)"
    elif c.budget is not None:
        reached, total = evaluations >= c.budget, f"{evaluations:,} loss evaluations (step {step:,})"
    else:
        reached, total = c.epochs is not None and epoch >= c.epochs - 1e-12, f"{epoch:.4g} epochs (step {step:,})"
    if reached:
        raise UsageError(f"gdstudio train: {where} has already reached its total, {total}: give --epochs or --steps, "
                         "the new total, above that")


def _check_out_folder(path) -> None:
    """Refuse an ``--out`` that cannot become a run folder, saying why: a file in the way, a missing folder, a
    folder that cannot be written into."""
    target = Path(path)
    for part in (*reversed(target.parents), target):  # from the top: the first file on the way is the reason
        if part.exists() and not part.is_dir():
            raise UsageError(f"gdstudio train: argument --out: {part} is a file, not a folder")
    if not target.parent.is_dir():
        raise UsageError(f"gdstudio train: argument --out: folder {target.parent} does not exist")
    from gdstudio.engine.runs import FILES, is_run_folder

    others = [name for name in FILES if (target / name).exists()] if target.is_dir() else []
    if others and not is_run_folder(target):  # someone's own config.json: a save would write over it
        raise UsageError(f"gdstudio train: argument --out: {target} holds a {others[0]} that is not a GD Studio "
                         "run's; give a new or empty folder")
    where = target if target.is_dir() else target.parent
    try:
        with tempfile.TemporaryFile(dir=where):
            pass
    except OSError as exc:
        raise UsageError(f"gdstudio train: argument --out: cannot write into {where} "
                         f"({exc.strerror or type(exc).__name__})") from None


def cmd_explain(args) -> int:
    from gdstudio.engine.explain import explain_scores, explain_text

    if args.label >= len(args.scores):
        raise UsageError(f"gdstudio explain: --label must be a class index from 0 to {len(args.scores) - 1}, "
                         f"got {args.label}")
    if len(args.scores) < 2:
        raise UsageError("gdstudio explain: argument --scores: give at least two scores, one per class")
    try:
        result = explain_scores(args.scores, args.label)
    except ConfigError as exc:  # its messages start with the argument's name
        raise UsageError(f"gdstudio explain: --{exc}") from None
    if args.json:
        _print_json(result)
    else:
        print(explain_text(result))
    return EXIT_OK


def _trained_numpy_session(args):
    """A float64 (``numpy`` backend) session of ``args``' data set and loss after ``args.steps`` SGD steps."""
    from gdstudio.engine.session import Session

    config = cfg.TrainConfig(dataset=args.dataset, loss=args.loss, reg=getattr(args, "reg", None), seed=args.seed,
                             steps=max(args.steps, 1), backend="numpy", **_image_options(args))
    session = Session(config, data_path=args.data)
    if args.steps:
        for _ in session.run():
            pass
    return session


def cmd_gradcheck(args) -> int:
    from gdstudio.engine.gradcheck import gradient_check, h_sweep, session_batch, time_gradients

    session = _trained_numpy_session(args)
    W, b, x, y = session_batch(session, args.batch)
    result = gradient_check(W, b, x, y, session.loss, session.reg, count=args.entries, seed=args.seed,
                            method=args.method)
    timing = time_gradients(W, b, x, y, session.loss, session.reg, method=args.method, h=result.h)
    sweep = h_sweep(W, b, x, y, session.loss, session.reg) if args.h_sweep else None
    document = result.to_dict()
    document.update(dataset=session.config.dataset, steps=session.step, timing=timing.to_dict())
    if sweep is not None:
        document["h_sweep"] = sweep.to_dict()
    if args.json:
        _print_json(document)
    else:
        entries = sorted(result.entries, key=lambda e: -e.relative_error)
        formula = "[L(W+h) − L(W)] / h" if args.method == "forward" else "[L(W+h) − L(W−h)] / 2h"
        print(f"gradient check of the {args.loss} loss on {session.config.dataset}, λ = {session.reg:g}, "
              f"after {session.step} steps: {len(entries)} entries, {result.batch} images, h = {result.h:g}, "
              f"float64 gradient against the extended-precision {args.method} difference {formula}")
        print(f"{'entry':<12} {'analytic':>14} {'numerical':>14} {'rel. error':>11}  verdict")
        for entry in entries[:10]:
            name = f"{entry.param}{list(entry.index)}"
            kink = "  (near a kink: unreliable)" if entry.near_kink else ""
            print(f"{name:<12} {entry.analytic:>14.6e} {entry.numeric:>14.6e} {entry.relative_error:>11.2e}  "
                  f"{entry.verdict}{kink}")
        print(f"max relative error away from kinks: {result.max_relative_error:.2e} ({document['verdict']}); "
              f"{document['near_kink']} entries near a kink")
        _print_timing(timing)
        if sweep is not None:
            _print_h_sweep(sweep)
    return EXIT_ERROR if document["verdict"] == "wrong" else EXIT_OK


def _print_timing(timing) -> None:
    from gdstudio.engine.gradcheck import format_seconds

    how = "measured" if timing.measured else f"extrapolated from {timing.timed_entries:,} entries"
    print(f"time, float64, {timing.batch} images: numerical gradient ({timing.method}) of all {timing.entries:,} "
          f"entries = {timing.evaluations:,} loss evaluations: {format_seconds(timing.numerical_seconds)} ({how}); "
          f"analytic gradient: {format_seconds(timing.analytic_seconds)}; {timing.ratio:,.0f}× slower")
    print(f"for CIFAR-10's W (10 × 3,072 + 10 = {timing.cifar10_entries:,} entries, extrapolated from one loss "
          f"evaluation timed at that size): numerical {format_seconds(timing.cifar10_numerical_seconds)}, analytic "
          f"{format_seconds(timing.cifar10_analytic_seconds)}; {timing.cifar10_ratio:,.0f}× slower")


def _print_h_sweep(sweep) -> None:
    names = ", ".join(f"{p}{list(i)}" for p, i in sweep.entries)
    print(f"relative error against h, float64, median over the {len(sweep.entries)} largest entries ({names}):")
    print(f"{'h':>8} {'forward':>10} {'centred':>10}")
    forward, centred = sweep.median("forward"), sweep.median("centred")
    for h, f, c in zip(sweep.steps, forward, centred):
        print(f"{h:>8.1e} {f:>10.2e} {c:>10.2e}")
    for method in ("forward", "centred"):
        h, error = sweep.best(method)
        print(f"{method}: smallest error {error:.2e} at h = {h:.1e}")


def cmd_gradnoise(args) -> int:
    from gdstudio.engine.gradnoise import session_gradient_noise

    session = _trained_numpy_session(args)
    n = len(session.dataset.y_train)
    too_large = [B for B in args.batch_sizes if B > n]
    if too_large:
        raise UsageError(f"gdstudio gradnoise: argument --batch-sizes: {too_large[0]} is larger than the training "
                         f"split ({n:,} images)")
    sizes = list(dict.fromkeys(args.batch_sizes))
    result = session_gradient_noise(session, batch_sizes=sizes, draws=args.draws, seed=args.seed)
    if args.json:
        _print_json(result.to_dict())
        return EXIT_OK
    print(f"gradient noise of the {session.loss} loss on {session.config.dataset}, λ = {session.reg:g}, after "
          f"{session.step} steps: full-split gradient ‖g‖ = {result.full_gradient_norm:.4g} ({n:,} training "
          f"images); {args.draws} mini-batches per batch size, drawn with replacement")
    print(f"{'batch':>6} {'spread':>9} {'spread·√B':>10} {'bias':>9} {'mean cos':>9}")
    for row in result.batches:
        print(f"{row.batch_size:>6} {row.spread:>9.4f} {row.spread * math.sqrt(row.batch_size):>10.4f} "
              f"{row.bias:>9.4f} {row.mean_cosine:>9.3f}")
    print("spread = RMS ‖g_B − g‖ / ‖g‖ (falls like 1/√B: spread·√B stays put); bias = ‖mean g_B − g‖ / ‖g‖ "
          f"(unbiased: ≈ spread / √{args.draws}); mean cos = mean cosine between g_B and g")
    return EXIT_OK


def cmd_compare(args) -> int:
    from gdstudio.data.registry import load_dataset
    from gdstudio.engine.lecture import race
    from gdstudio.engine.session import dataset_defaults

    config = cfg.TrainConfig(dataset=args.dataset, loss=args.loss, lr=args.lr, reg=args.reg,
                             batch_size=args.batch_size, seed=args.seed, **_image_options(args))
    config = config.with_defaults(dataset_defaults(args.dataset))
    dataset = load_dataset(args.dataset, args.data, image_size=config.image_size, grey=config.grey)
    print(f"gdstudio: racing the strategies on {args.dataset}, {args.budget:,} loss evaluations each",
          file=sys.stderr)
    results = race(config, dataset, args.budget)
    table = {name: result.row() for name, result in results.items()}
    if args.json:
        _print_json(table)
    else:
        print(f"{'strategy':<22} {'val acc':>8} {'train acc':>9} {'test acc':>8} {'loss':>8} {'evals':>7} {'s':>6}")
        for name, row in table.items():
            print(f"{name:<22} {row['val_accuracy']:>8.3f} {row['train_accuracy']:>9.3f} {row['test_accuracy']:>8.3f} "
                  f"{row['loss']:>8.4g} {row['evaluations']:>7,} {row['seconds']:>6.2f}")
    return EXIT_OK


def cmd_sweep(args) -> int:
    from gdstudio.data.registry import load_dataset
    from gdstudio.engine.session import dataset_defaults
    from gdstudio.engine.sweep import sweep

    for flag, (low, high) in (("--lr-range", args.lr_range), ("--reg-range", args.reg_range)):
        if low > high:
            raise UsageError(f"gdstudio sweep: argument {flag}: LOW must not exceed HIGH, got {low:g} {high:g}")
    if args.scheduler not in (None, "local") and args.workers is not None:
        raise UsageError("gdstudio sweep: argument --workers: a cluster's workers start on its machines (dask worker "
                         "ADDRESS); --workers counts the processes here or in --scheduler local")
    config = cfg.TrainConfig(dataset=args.dataset, loss=args.loss, epochs=args.epochs, batch_size=args.batch_size,
                             seed=args.seed, **_image_options(args))
    config = config.with_defaults(dataset_defaults(args.dataset))
    # a missing data set is refused here, not in every worker
    dataset = load_dataset(args.dataset, args.data, image_size=config.image_size, grey=config.grey)
    total = args.trials * args.rounds
    finished, ranges = [], {}

    def on_round(number, lr_range, reg_range):
        ranges[number] = (lr_range, reg_range)
        if args.rounds > 1:
            print(f"gdstudio: round {number} of {args.rounds}: α {lr_range[0]:.3g} to {lr_range[1]:.3g}, λ "
                  f"{reg_range[0]:.3g} to {reg_range[1]:.3g}", file=sys.stderr)

    def on_trial(trial):
        finished.append(trial)
        outcome = trial.message if trial.status == "error" else f"val {trial.val_accuracy:.3f} ({trial.status})"
        print(f"  α = {trial.lr:.3g}, λ = {trial.reg:.3g}: {outcome}", file=sys.stderr)

    result = None
    with _sweep_runner(args, dataset) as (executor, data, where):
        rounds = f" in {args.rounds} rounds of {args.trials}" if args.rounds > 1 else ""
        print(f"gdstudio: sweeping {total} points of α × λ on {args.dataset}{rounds}, on {where}", file=sys.stderr)
        try:
            result = sweep(config, args.trials, tuple(args.lr_range), tuple(args.reg_range), seed=args.seed,
                           data=data, executor=executor, on_trial=on_trial, rounds=args.rounds, on_round=on_round)
        except KeyboardInterrupt:  # the sweep cancelled the trials not started; the pool or cluster closes next
            print(f"gdstudio: interrupted: {len(finished)} of {total} trials finished; the other "
                  f"{total - len(finished)} were cancelled", file=sys.stderr)
    if result is None:
        _print_sweep(args, _sweep_so_far(finished, ranges), interrupted=True)
        return 130
    for warning in result["warnings"]:
        print(f"gdstudio: warning: {warning}", file=sys.stderr)
    _print_sweep(args, result, interrupted=False)
    return EXIT_OK


@contextlib.contextmanager
def _sweep_runner(args, dataset):
    """``(executor, data, where)``: what runs a sweep's trials, what each trial gets to find the data set, and
    both in words. A process pool here, or a Dask cluster (``--scheduler``), closed afterwards."""
    if args.scheduler is None:
        from concurrent.futures import ProcessPoolExecutor
        import multiprocessing

        from gdstudio.engine.sweep import ignore_interrupts

        workers = args.workers or os.cpu_count() or 1
        executor = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                       initializer=ignore_interrupts)
        try:
            yield executor, args.data, f"{workers} local processes"
        finally:
            executor.shutdown(cancel_futures=True)
        return
    from gdstudio.engine.cluster import Cluster

    cluster = Cluster(args.scheduler, workers=args.workers)
    try:
        cluster.open()
        data, how = cluster.place(args.dataset, args.data, dataset)
    except ConfigError as exc:
        cluster.close()
        raise UsageError(f"gdstudio sweep: argument --scheduler: {exc}") from None
    try:
        yield cluster.executor, data, f"{cluster.describe()}; {how}"
    finally:
        cluster.close()


def _sweep_so_far(trials, ranges) -> dict:
    """The result of an interrupted sweep: its finished trials, by round."""
    trials = sorted(trials, key=lambda t: (t.round, t.lr, t.reg))
    scored = [t for t in trials if t.status != "error"]
    rounds = [{"round": number, "lr_range": lr_range, "reg_range": reg_range,
               "trials": [t for t in trials if t.round == number]} for number, (lr_range, reg_range) in ranges.items()]
    return {"best": max(scored, key=lambda t: t.val_accuracy) if scored else None, "trials": trials,
            "warnings": [], "rounds": rounds}


def _print_sweep(args, result, interrupted: bool) -> None:
    best = result["best"]
    if args.json:
        _print_json({"best": None if best is None else {"lr": best.lr, "reg": best.reg,
                                                        "val_accuracy": best.val_accuracy},
                     "trials": [t.to_dict() for t in result["trials"]], "warnings": result["warnings"],
                     "rounds": [{"round": r["round"], "lr_range": list(r["lr_range"]),
                                 "reg_range": list(r["reg_range"]), "trials": [t.to_dict() for t in r["trials"]]}
                                for r in result["rounds"]],
                     "interrupted": interrupted})
    elif best is not None:
        print(f"best{' so far' if interrupted else ''}: α = {best.lr:.4g}, λ = {best.reg:.4g}, validation accuracy "
              f"{best.val_accuracy:.3f}")


def cmd_datasets(args) -> int:
    from gdstudio.data import registry

    if args.datasets_command == "download":
        return _download(args, registry)
    rows = registry.dataset_status()
    if args.json:
        _print_json({"cache_dir": str(registry.cache_dir()), "datasets": rows})
        return EXIT_OK
    print(f"{'name':<15} {'present':<8} {'size':>10}  where")
    for row in rows:
        size = f"{row['size'] / 1e6:.1f} MB" if row.get("size") else ""
        where = {"system": f"system copy: {row['where']}", "cache": f"cache: {row['where']}",
                 None: f"not here (its cache folder: {row['where']})"}.get(row["origin"], row["where"])
        print(f"{row['name']:<15} {'yes' if row['present'] else 'no':<8} {size:>10}  {where}")
    print(f"\ncache folder: {registry.cache_dir()} (set GDSTUDIO_DATA_DIR to move it)")
    for row in rows:
        if not row["present"]:
            print(f"to get {row['name']}: {row['get']}")
    return EXIT_OK


def _download(args, registry) -> int:
    from tqdm import tqdm

    if args.name not in registry.DATASETS:
        raise UsageError(f"gdstudio datasets download: unknown data set {args.name!r}; choose one of "
                         + ", ".join(n for n, s in registry.DATASETS.items() if not s.builtin))
    if registry.DATASETS[args.name].builtin:
        print(f"gdstudio: {args.name} is built in; nothing to download", file=sys.stderr)
        return EXIT_OK
    bars = {}

    def progress(done, total, name=""):
        bar = bars.get(name)
        if bar is None:
            bar = bars[name] = tqdm(total=total, unit="B", unit_scale=True, desc=name or args.name,
                                    file=sys.stderr, disable=args.quiet or None)
        bar.update(done - bar.n)

    try:
        path = registry.download_dataset(args.name, progress=progress, base_url=args.mirror)
    finally:
        for bar in bars.values():
            bar.close()
    print(f"gdstudio: {args.name} is in {path}", file=sys.stderr)
    return EXIT_OK


def cmd_bench(args) -> int:
    from gdstudio.engine.backends import cuda_status
    from gdstudio.engine.bench import format_table, run_bench

    if args.backends and "cuda" in args.backends and cuda_status() is not None:
        raise ConfigError(f"backend cuda: {cuda_status()}")
    workloads = tuple(dict.fromkeys(args.workloads or ("cifar10", "digits")))
    backends = list(dict.fromkeys(args.backends)) if args.backends else None
    if "fashion-mnist" in workloads:
        return _bench_real(args, workloads, backends)
    if args.epochs is not None:
        raise UsageError("gdstudio bench: argument --epochs: only the real workload (--workload fashion-mnist) "
                         "trains whole epochs")
    result = run_bench(workloads, backends, loss=args.loss, quick=args.quick, repeats=args.repeats,
                       torch="no" if args.no_torch else "auto",
                       report=lambda line: print(f"gdstudio: bench {line}", file=sys.stderr))
    if args.json:
        _print_json(result)
    else:
        print(format_table(result))
    return EXIT_OK


def _bench_real(args, workloads, backends) -> int:
    from gdstudio.engine.bench_real import format_real_table, run_real_bench

    if len(workloads) > 1:
        raise UsageError("gdstudio bench: argument --workload: fashion-mnist runs on its own (it trains the real "
                         "data set for minutes); give it alone")
    if backends is not None and "numpy" in backends:
        raise UsageError("gdstudio bench: argument --backend: fashion-mnist times GD Studio on cpu or cuda (the "
                         "NumPy loop is its baseline)")
    result = run_real_bench("fashion-mnist", backends, loss=args.loss, epochs=args.epochs, quick=args.quick,
                            torch="no" if args.no_torch else "auto",
                            report=lambda line: print(f"gdstudio: bench {line}", file=sys.stderr))
    if args.json:
        _print_json(result)
    else:
        print(format_real_table(result))
    return EXIT_OK


def cmd_gui(args) -> int:
    from gdstudio.gui.app import main as gui_main

    return gui_main(dataset=getattr(args, "dataset", None))


COMMANDS = {"train": cmd_train, "explain": cmd_explain, "gradcheck": cmd_gradcheck, "gradnoise": cmd_gradnoise,
            "compare": cmd_compare,
            "sweep": cmd_sweep, "datasets": cmd_datasets, "gui": cmd_gui,
            "bench": cmd_bench}


def main(argv=None) -> int:
    """Entry point of the ``gdstudio`` command; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command or "gui"](args)
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    except GDStudioError as exc:
        print(f"gdstudio: error: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, (ConfigError, cfg.DataError)) and not isinstance(
            exc, cfg.DownloadError) else EXIT_ERROR
    except KeyboardInterrupt:
        print("gdstudio: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `gdstudio datasets | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR
    except Exception as exc:  # the last line of defence: one readable line, details on request
        if os.environ.get("GDSTUDIO_DEBUG"):
            traceback.print_exc()
        print(f"gdstudio: internal error: {type(exc).__name__}: {exc} (set GDSTUDIO_DEBUG=1 for details)",
              file=sys.stderr)
        return EXIT_ERROR
