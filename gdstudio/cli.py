"""The command-line front end: ``gdstudio [gui|train|explain|datasets|bench] ...``.

Exit status (DESIGN.md §6): 0 success; 2 bad input (one line on stderr naming the flag or file, no traceback);
3 a run that diverged; 1 anything else. Progress goes to stderr; ``--json`` results to stdout.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import traceback

from gdstudio import __version__
from gdstudio import config as cfg
from gdstudio.config import ConfigError, GDStudioError

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_DIVERGED = 0, 1, 2, 3
CHECKPOINT_SECONDS = cfg.CHECKPOINT_SECONDS


class UsageError(Exception):
    """Bad command-line input: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage block: the message names the flag
        raise UsageError(f"{self.prog}: {message}")


def _flag_type(check, flag):
    """An argparse type that validates with ``check`` and names ``flag`` in its message."""

    def convert(text):
        try:
            return check(text)
        except ConfigError as exc:
            message, name = str(exc), check.__name__.removeprefix("check_")
            raise argparse.ArgumentTypeError(message.removeprefix(name + " ")) from None

    convert.__name__ = flag
    return convert


def _positive_number(name):
    def check(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number, got {text!r}") from None
        if not (value > 0 and math.isfinite(value)):
            raise argparse.ArgumentTypeError(f"{name} must be > 0, got {text!r}")
        return value

    return check


def _whole_number(name, minimum):
    def check(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a whole number, got {text!r}") from None
        if not math.isfinite(value) or value != int(value) or value < minimum:
            raise argparse.ArgumentTypeError(f"{name} must be a whole number >= {minimum}, got {text!r}")
        return int(value)

    return check


def _score(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"score must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"score must be a finite number, got {text!r}")
    return value


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
    parser.add_argument("--seed", type=_whole_number("--seed", 0), default=0, help="random seed (default: 0)")
    parser.add_argument("--backend", choices=cfg.BACKENDS, default="auto", help="compute backend (default: auto)")
    parser.add_argument("--strategy", choices=cfg.STRATEGIES, default="sgd", help="optimiser (default: sgd)")
    parser.add_argument("--init-scale", type=_positive_number("--init-scale"),
                        help="W starts as init_scale·randn" + defaults_note)
    parser.add_argument("--preprocess", choices=cfg.PREPROCESSINGS,
                        help="unit: (pixels − mean)/max; raw: pixels − mean, as the lecture" + defaults_note)
    parser.add_argument("--threads", type=_whole_number("--threads", 1), help="CPU threads (default: all)")


def _add_data_flags(parser) -> None:
    """``--dataset``, ``--data`` and ``--loss``, as the commands that train something take them."""
    parser.add_argument("--dataset", default="digits", help="data set name (default: digits)")
    parser.add_argument("--data", metavar="PATH", help="archive or folder holding the data set")
    parser.add_argument("--loss", choices=cfg.LOSSES, default="softmax", help="loss function (default: softmax)")


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

    gradcheck = commands.add_parser("gradcheck", help="analytic gradient against central differences")
    _add_data_flags(gradcheck)
    gradcheck.add_argument("--reg", type=_flag_type(cfg.check_reg, "--reg"), help="L2 strength λ (default: the "
                           "data set's)")
    gradcheck.add_argument("--steps", type=_whole_number("--steps", 0), default=50,
                           help="SGD steps to train before checking, so W is not just its random start (default: 50)")
    gradcheck.add_argument("--entries", type=_whole_number("--entries", 1),
                           help="entries of W and b to sample (default: all when at most 1,000, else 100)")
    gradcheck.add_argument("--batch", type=_whole_number("--batch", 1), default=100,
                           help="training images the loss is measured on (default: 100)")
    gradcheck.add_argument("--seed", type=_whole_number("--seed", 0), default=0, help="random seed (default: 0)")
    gradcheck.add_argument("--json", action="store_true", help="print JSON instead of a table")

    compare = commands.add_parser("compare", help="race random search, random local search and SGD")
    _add_data_flags(compare)
    compare.add_argument("--budget", type=_whole_number("--budget", 2), default=1000,
                         help="mini-batch loss evaluations for each strategy (default: 1000)")
    compare.add_argument("--lr", type=_flag_type(cfg.check_lr, "--lr"), help="SGD step size (default: the data "
                         "set's)")
    compare.add_argument("--reg", type=_flag_type(cfg.check_reg, "--reg"), help="L2 strength λ")
    compare.add_argument("--batch-size", type=_flag_type(cfg.check_batch_size, "--batch-size"),
                         help="mini-batch size (default: the data set's)")
    compare.add_argument("--seed", type=_whole_number("--seed", 0), default=0, help="random seed (default: 0)")
    compare.add_argument("--json", action="store_true", help="print JSON instead of a table")

    sweep = commands.add_parser("sweep", help="random search over log α × log λ on the validation split")
    _add_data_flags(sweep)
    sweep.add_argument("--trials", type=_whole_number("--trials", 1), default=12, help="points to try (default: 12)")
    sweep.add_argument("--lr-range", type=_positive_number("--lr-range"), nargs=2, metavar=("LOW", "HIGH"),
                       default=(1e-3, 3.0), help="α range, sampled in log space (default: 1e-3 3)")
    sweep.add_argument("--reg-range", type=_positive_number("--reg-range"), nargs=2, metavar=("LOW", "HIGH"),
                       default=(1e-6, 1e-1), help="λ range, sampled in log space (default: 1e-6 0.1)")
    sweep.add_argument("--epochs", type=_positive_number("--epochs"), help="epochs per trial (default: the data "
                       "set's)")
    sweep.add_argument("--batch-size", type=_flag_type(cfg.check_batch_size, "--batch-size"),
                       help="mini-batch size (default: the data set's)")
    sweep.add_argument("--workers", type=_whole_number("--workers", 1), help="processes (default: all cores)")
    sweep.add_argument("--seed", type=_whole_number("--seed", 0), default=0, help="random seed (default: 0)")
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

    started = time.perf_counter()  # a run's "seconds" count from here: README, "What a run's seconds measure"
    if args.resume:
        session = _resumed_session(args)
        args.out = args.out or args.resume
    else:
        config = cfg.TrainConfig(dataset=args.dataset, loss=args.loss, reg=args.reg, lr=args.lr,
                                 batch_size=args.batch_size, epochs=args.epochs, steps=args.steps, seed=args.seed,
                                 strategy=args.strategy, backend=args.backend, init_scale=args.init_scale,
                                 preprocess=args.preprocess, budget=args.budget, threads=args.threads)
        session = Session(config, data_path=args.data)
    session.warm_up()  # the kernels loaded now, so that the time before the first step can be told apart
    startup = time.perf_counter() - started
    c = session.config
    if args.out:
        _check_out_folder(args.out)
    print(f"gdstudio: training {c.loss} on {c.dataset} ({len(session.dataset.y_train):,} train images, "
          f"D = {session.dataset.num_features}, C = {session.dataset.num_classes}) with {c.strategy} on "
          f"{session.backend.name}: α = {c.lr:g}, λ = {c.reg:g}, batch {c.batch_size}, preprocessing "
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
                save_run(args.out, session, data_path=args.data)  # a checkpoint: a crash loses seconds, not hours
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
        save_run(args.out, session, final, data_path=args.data)
        print(f"gdstudio: run saved in {args.out}", file=sys.stderr)
    summary = {"status": last.status, "loss": final.get("train_loss", math.nan) + session.reg * float(
        (session.W.astype("float64") ** 2).sum()), "train_accuracy": final.get("train_accuracy"),
        "val_accuracy": final.get("val_accuracy"), "test_accuracy": final.get("test_accuracy"),
        "steps": session.step, "epochs": session.epoch, "evaluations": session.evaluations,
        "seconds": seconds, "startup_seconds": startup, "backend": session.backend.name, "dataset": c.dataset,
        "loss_function": c.loss, "strategy": c.strategy, "lr": session.lr, "reg": session.reg,
        "batch_size": session.batch_size, "message": last.message}
    if last.status == DIVERGED:
        print(f"gdstudio: diverged: {last.message}", file=sys.stderr)
    else:
        print(f"gdstudio: {last.status}: loss {summary['loss']:.4g}, accuracy train "
              f"{summary['train_accuracy']:.3f} / val {summary['val_accuracy']:.3f} / test "
              f"{summary['test_accuracy']:.3f} after {session.step:,} steps in {seconds:.2f} s", file=sys.stderr)
    if args.json:
        _print_json({k: _json_number(v) for k, v in summary.items()})
    return EXIT_DIVERGED if last.status == DIVERGED else EXIT_OK


RESUME_KEEPS = {"dataset": "digits", "data": None, "loss": "softmax", "reg": None, "lr": None, "batch_size": None,
                "budget": None, "seed": 0, "backend": "auto", "strategy": "sgd", "init_scale": None, "preprocess": None}


def _resumed_session(args):
    """The session saved in ``args.resume``, with ``--epochs`` or ``--steps`` as the new total to reach."""
    from gdstudio.engine.resume import restore_session
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
    return restore_session(run, data_path=args.data)


def _check_out_folder(path) -> None:
    if os.path.exists(path) and not os.path.isdir(path):
        raise UsageError(f"gdstudio train: argument --out: {path} exists and is not a folder")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise UsageError(f"gdstudio train: argument --out: folder {parent} does not exist")


def cmd_explain(args) -> int:
    from gdstudio.engine.explain import explain_scores, explain_text

    if args.label >= len(args.scores):
        raise UsageError(f"gdstudio explain: argument --label: must be a class index in 0..{len(args.scores) - 1}, "
                         f"got {args.label}")
    if len(args.scores) < 2:
        raise UsageError("gdstudio explain: argument --scores: give at least two scores, one per class")
    result = explain_scores(args.scores, args.label)
    if args.json:
        _print_json(result)
    else:
        print(explain_text(result))
    return EXIT_OK


def cmd_gradcheck(args) -> int:
    from gdstudio.engine.gradcheck import check_session
    from gdstudio.engine.session import Session

    config = cfg.TrainConfig(dataset=args.dataset, loss=args.loss, reg=args.reg, seed=args.seed,
                             steps=max(args.steps, 1), backend="numpy")
    session = Session(config, data_path=args.data)
    if args.steps:
        for _ in session.run():
            pass
    result = check_session(session, count=args.entries, batch=args.batch, seed=args.seed)
    document = result.to_dict()
    document.update(dataset=session.config.dataset, steps=session.step)
    if args.json:
        _print_json(document)
    else:
        entries = sorted(result.entries, key=lambda e: -e.relative_error)
        print(f"gradient check of the {args.loss} loss on {session.config.dataset}, λ = {session.reg:g}, "
              f"after {session.step} steps: {len(entries)} entries, {result.batch} images, h = {result.h:g}, "
              "float64 gradient against extended-precision central differences")
        print(f"{'entry':<12} {'analytic':>14} {'numerical':>14} {'rel. error':>11}  verdict")
        for entry in entries[:10]:
            name = f"{entry.param}{list(entry.index)}"
            kink = "  (near a kink: unreliable)" if entry.near_kink else ""
            print(f"{name:<12} {entry.analytic:>14.6e} {entry.numeric:>14.6e} {entry.relative_error:>11.2e}  "
                  f"{entry.verdict}{kink}")
        print(f"max relative error away from kinks: {result.max_relative_error:.2e} ({document['verdict']}); "
              f"{document['near_kink']} entries near a kink")
    return EXIT_ERROR if document["verdict"] == "wrong" else EXIT_OK


def cmd_compare(args) -> int:
    from gdstudio.data.registry import load_dataset
    from gdstudio.engine.lecture import race

    config = cfg.TrainConfig(dataset=args.dataset, loss=args.loss, lr=args.lr, reg=args.reg,
                             batch_size=args.batch_size, seed=args.seed)
    dataset = load_dataset(args.dataset, args.data)
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
    from concurrent.futures import ProcessPoolExecutor
    import multiprocessing

    from gdstudio.engine.sweep import sweep

    for flag, (low, high) in (("--lr-range", args.lr_range), ("--reg-range", args.reg_range)):
        if low > high:
            raise UsageError(f"gdstudio sweep: argument {flag}: LOW must not exceed HIGH, got {low:g} {high:g}")
    config = cfg.TrainConfig(dataset=args.dataset, loss=args.loss, epochs=args.epochs, batch_size=args.batch_size,
                             seed=args.seed)
    from gdstudio.engine.session import dataset_defaults

    config = config.with_defaults(dataset_defaults(args.dataset))
    from gdstudio.data.registry import load_dataset

    load_dataset(args.dataset, args.data)  # a missing data set is refused here, not in every worker
    executor = ProcessPoolExecutor(max_workers=args.workers or os.cpu_count(),
                                   mp_context=multiprocessing.get_context("spawn"))
    print(f"gdstudio: sweeping {args.trials} points of α × λ on {args.dataset}", file=sys.stderr)
    with executor:
        result = sweep(config, args.trials, tuple(args.lr_range), tuple(args.reg_range), seed=args.seed,
                       data_path=args.data, executor=executor,
                       on_trial=lambda t: print(f"  α = {t.lr:.3g}, λ = {t.reg:.3g}: val {t.val_accuracy:.3f} "
                                                f"({t.status})", file=sys.stderr))
    best = result["best"]
    for warning in result["warnings"]:
        print(f"gdstudio: warning: {warning}", file=sys.stderr)
    document = {"best": {"lr": best.lr, "reg": best.reg, "val_accuracy": best.val_accuracy},
                "trials": [t.to_dict() for t in result["trials"]], "warnings": result["warnings"]}
    if args.json:
        _print_json(document)
    else:
        print(f"best: α = {best.lr:.4g}, λ = {best.reg:.4g}, validation accuracy {best.val_accuracy:.3f}")
    return EXIT_OK


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


COMMANDS = {"train": cmd_train, "explain": cmd_explain, "gradcheck": cmd_gradcheck, "compare": cmd_compare,
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
