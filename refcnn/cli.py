"""The ``refcnn`` command (also ``python -m refcnn``).

    refcnn train [--epochs 30] [--data-dir DIR] [--out DIR] [--resume] ...
    refcnn summary
    refcnn evaluate CHECKPOINT [--data-dir DIR]
    refcnn download [--data-dir DIR]

``train`` trains the article's CNN. Without ``--data-dir`` (and without
``$REFCNN_DATA_DIR``) it uses the MNIST subset shipped with refcnn; with it,
the full MNIST files in that folder, downloaded there first if missing. After
every epoch it rewrites, atomically, ``log.csv``, ``curves.png`` (or
``curves.svg`` without matplotlib) and ``checkpoint.npz`` in ``--out``.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import _parallel, checkpoint, curves, data, i18n, optim
from . import model as model_module
from .i18n import tr

# The learning-rate parameter of each optimizer (AdaDelta has none).
LEARNING_RATE = {
    "SGD": "eta",
    "momentum": "eta",
    "AdaGrad": "eta",
    "RMSprop": "eta",
    "Adam": "alpha",
}
LOG_COLUMNS = ("epoch", "train_acc", "train_loss", "test_acc", "test_loss", "seconds")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="refcnn", description=tr("Train and inspect the article's CNN with refcnn.")
    )
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help=tr("train the article's CNN on MNIST"))
    train.add_argument("--epochs", type=int, default=30, help=tr("total epochs (default 30)"))
    # Defaults of None: on --resume, an option given explicitly that differs
    # from the run's is a conflict, one left out is the run's.
    train.add_argument("--batch-size", type=int, default=None, help=tr("default 100"))
    train.add_argument(
        "--optimizer", choices=sorted(optim.OPTIMIZERS), default=None, help=tr("default SGD")
    )
    train.add_argument(
        "--lr",
        type=float,
        default=None,
        help=tr("learning rate (eta, or alpha for Adam); default: the optimizer's own (SGD: 0.1)"),
    )
    train.add_argument(
        "--seed", type=int, default=None, help=tr("seed of every random draw (default 10)")
    )
    train.add_argument(
        "--dtype",
        choices=("float64", "float32"),
        default=None,
        help=tr("float64 as in the article (the default), float32 for speed"),
    )
    train.add_argument(
        "--data-dir",
        default=None,
        help=tr(
            "folder of the MNIST IDX files (or ${variable}); without it, the subset "
            "shipped with refcnn",
            variable=data.ENV_VAR,
        ),
    )
    train.add_argument("--out", default="refcnn-run", help=tr("folder for log, plot, checkpoint"))
    train.add_argument(
        "--resume",
        action="store_true",
        help=tr("continue from OUT/checkpoint.npz up to --epochs in total"),
    )
    train.add_argument(
        "--overwrite", action="store_true", help=tr("start afresh even if OUT already holds a run")
    )
    train.add_argument("--no-progress", action="store_true", help=tr("no progress bar"))
    train.add_argument(
        "--lang",
        choices=i18n.LANGUAGES,
        default=None,
        help=tr("the language of the progress and the messages (default: the locale)"),
    )
    train.add_argument(
        "--threads",
        type=int,
        default=None,
        help=tr(
            "threads for the layers' heavy passes (default: ${variable}, else the cores; "
            "on --resume, the run's own); 1: single-threaded. A run is bit-identical for a "
            "given seed and thread count",
            variable=_parallel.ENV_VAR,
        ),
    )

    commands.add_parser("summary", help=tr("print the article's model table"))

    evaluate = commands.add_parser("evaluate", help=tr("test accuracy and loss of a checkpoint"))
    evaluate.add_argument("checkpoint")
    evaluate.add_argument(
        "--data-dir", default=None, help=tr("data to evaluate on (default: the checkpoint's)")
    )

    download = commands.add_parser("download", help=tr("download MNIST with checksums"))
    download.add_argument("--data-dir", default=None)

    commands.add_parser(
        "conformance",
        add_help=False,
        help=tr("run the conformance suite (python -m refcnn.conformance --help)"),
    )
    commands.add_parser(
        "grade",
        add_help=False,
        help=tr("judge a class's submissions, each in a sandbox (refcnn grade --help)"),
    )
    for each in (parser, *commands.choices.values()):
        i18n.localize(each)
    return parser


TRAIN_DEFAULTS = {"batch_size": 100, "optimizer": "SGD", "seed": 10, "dtype": "float64"}


def _data_source(data_dir: str | None) -> str:
    chosen = data_dir or os.environ.get(data.ENV_VAR)
    if not chosen:
        return "embedded"
    path = Path(chosen).expanduser().resolve()
    if path.exists() and not path.is_dir():
        raise ValueError(
            tr("--data-dir {path}: is a file; give the folder of the MNIST files", path=chosen)
        )
    return str(path)


def _check_out(out: Path) -> None:
    """The output folder can be made and written, before any training."""
    if out.exists() and not out.is_dir():
        raise ValueError(
            tr("--out {path}: is a file; give a folder for log, plot and checkpoint", path=out)
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out, prefix=".refcnn-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ValueError(
            tr("--out {path}: cannot write there ({error})", path=out, error=exc.strerror)
        ) from None


def _resume_conflicts(args: argparse.Namespace, saved: dict) -> list[str]:
    """Options given on the command line that differ from the run's own."""
    conflicts = []
    for key in ("batch_size", "optimizer", "lr", "seed", "dtype"):
        given = getattr(args, key)
        if given is not None and given != saved.get(key, TRAIN_DEFAULTS.get(key)):
            option = "--" + key.replace("_", "-")
            conflicts.append(tr("{option} {given} (the run's: {saved})", option=option,
                                given=given, saved=saved.get(key)))  # fmt: skip
    return conflicts


def _load_data(source: str):
    if source == "embedded":
        return data.load_embedded_mnist()
    return data.load_mnist(source, download=True)


def _build(settings: dict) -> model_module.Model:
    return model_module.article_model(seed=settings["seed"], dtype=settings["dtype"])


def _optimizer(name: str, lr: float | None) -> dict:
    if lr is None:
        return optim.create_optimizer(name)
    if name not in LEARNING_RATE:
        raise SystemExit(tr("refcnn train: --lr does not apply to {optimizer}", optimizer=name))
    return optim.create_optimizer(name, **{LEARNING_RATE[name]: lr})


def _write_log(path: Path, info: dict) -> None:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(LOG_COLUMNS)
    for row in zip(*(info[c] for c in LOG_COLUMNS), strict=True):
        writer.writerow([row[0], *(f"{v:.10g}" for v in row[1:])])
    checkpoint.atomic_write(path, lambda f: f.write(text.getvalue()), mode="w")


class _Progress:
    """One line per epoch on stderr, redrawn about 40 times."""

    def __init__(self, total_epochs: int, enabled: bool) -> None:
        self.total, self.enabled, self.started = total_epochs, enabled, time.perf_counter()
        # Redrawing needs a terminal; into a file or pipe, one line per epoch.
        self.redraw = sys.stderr.isatty()

    def __call__(self, epoch: int, batch: int, batches: int) -> None:
        if not self.enabled:
            return
        if batch == 1:
            self.started = time.perf_counter()
        if batch != batches and (not self.redraw or batch % max(1, batches // 40)):
            return
        filled = 30 * batch // batches
        elapsed = time.perf_counter() - self.started
        eta = elapsed / batch * (batches - batch)
        bar = f"[{'#' * filled}{'.' * (30 - filled)}]"
        sys.stderr.write("\r" + tr("epoch {epoch}/{total} {bar} {batch}/{batches} {elapsed}s "
                                   "(ETA {eta}s)", epoch=epoch, total=self.total, bar=bar,
                                   batch=batch, batches=batches, elapsed=f"{elapsed:5.1f}",
                                   eta=f"{eta:4.0f}"))  # fmt: skip
        if batch == batches:
            sys.stderr.write("\n")
        sys.stderr.flush()


class _Interrupt:
    """Ctrl-C during training. The first SIGINT raises KeyboardInterrupt where
    the main thread is, except while an epoch's files are being written
    (then when they are written, so that they stay whole); and if a library
    swallows it (matplotlib's font code did, between two epochs: the run went
    on to the end), it is raised again at the next batch."""

    def __init__(self) -> None:
        self.requested = self.deferred = False
        self.previous: Any = None

    def __enter__(self) -> _Interrupt:
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)

    def _handler(self, signum: int, frame: Any) -> None:
        self.requested = True
        if not self.deferred:
            raise KeyboardInterrupt

    def check(self) -> None:
        if self.requested:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def deferred_while(self) -> Iterator[None]:
        self.deferred = True
        try:
            yield
        finally:
            self.deferred = False
        self.check()


def train(args: argparse.Namespace) -> int:
    out = Path(args.out)
    ckpt = out / "checkpoint.npz"
    chosen = {
        k: v if getattr(args, k) is None else getattr(args, k) for k, v in TRAIN_DEFAULTS.items()
    }
    settings = {
        "epochs": args.epochs,
        **chosen,
        "lr": args.lr,
        "data": _data_source(args.data_dir),
    }
    if args.epochs < 0 or settings["batch_size"] < 1:
        raise SystemExit(tr("refcnn train: --epochs must be >= 0 and --batch-size >= 1"))
    _check_out(out)
    if args.threads is not None and args.threads < 1:
        raise SystemExit(tr("refcnn train: --threads must be >= 1"))
    try:
        settings["threads"] = args.threads or _parallel.default_threads()
    except ValueError as exc:
        raise SystemExit(tr("refcnn train: {error}", error=exc)) from None
    if args.resume:
        if not ckpt.exists():
            raise SystemExit(tr("refcnn train: --resume, but there is no {path}", path=ckpt))
        # Only --epochs (the new total) and --data-dir apply; the rest of the
        # run's settings are the checkpoint's, so the run stays one run.
        model, optimizer, info, saved = checkpoint.load_checkpoint(ckpt, _build)
        conflicts = _resume_conflicts(args, saved)
        if conflicts:
            raise ValueError(
                tr("--resume continues the run in {path} with its own settings; these options "
                   "differ from them: {options}. Leave them out to resume, or start a new run "
                   "with --overwrite or another --out", path=out, options="; ".join(conflicts))
            )  # fmt: skip
        # The sums of the shards' gradients depend on the thread count: resume
        # with the run's own (checkpoints older than threads were 1-threaded).
        threads = args.threads or saved.get("threads", 1)
        if args.threads and args.threads != saved.get("threads", 1):
            print(
                tr(
                    "warning: the run used {before} thread(s), this resume uses {now}: it will "
                    "not be bit-identical to an uninterrupted run",
                    before=saved.get("threads", 1),
                    now=args.threads,
                ),
                file=sys.stderr,
            )
        settings = {**saved, "epochs": args.epochs, "threads": threads}
        if args.data_dir is not None and _data_source(args.data_dir) != saved["data"]:
            settings["data"] = _data_source(args.data_dir)
            print(tr("resuming with the data in {now} (the run used {before})",
                     now=settings["data"], before=saved["data"]), file=sys.stderr)  # fmt: skip
        kept = ", ".join(
            f"{k}={settings[k]!r}"
            for k in ("batch_size", "optimizer", "lr", "seed", "dtype", "threads")
        )
        print(tr("resuming {path} after epoch {done}, up to epoch {epochs} ({settings})",
                 path=ckpt, done=info["epoch"][-1], epochs=args.epochs, settings=kept),
              file=sys.stderr)  # fmt: skip
    else:
        if ckpt.exists() and not args.overwrite:
            raise SystemExit(
                tr("refcnn train: {path} already holds a run; use --resume to continue it or "
                   "--overwrite to start again", path=out)
            )  # fmt: skip
        model = _build(settings)
        optimizer = _optimizer(settings["optimizer"], args.lr)
        info = None
    _parallel.set_num_threads(settings["threads"])
    (x_train, t_train), (x_test, t_test) = _load_data(settings["data"])
    source = (
        tr("the MNIST subset shipped with refcnn")
        if settings["data"] == "embedded"
        else (settings["data"])
    )
    print(tr("data: {source}: {train} training, {test} test images", source=source,
             train=len(x_train), test=len(x_test)), file=sys.stderr)  # fmt: skip
    title = (  # the plot's: English (a plotting font may lack other scripts)
        f"refcnn, article CNN, {settings['optimizer']}, batch {settings['batch_size']}, "
        f"seed {settings['seed']}, {settings['dtype']}, {settings['threads']} thread(s)"
    )

    interrupt = _Interrupt()

    def save(model_: model_module.Model, optimizer_: dict, info_: dict) -> None:
        # The checkpoint first: the log and the plot are derived from it, so
        # after a crash they may lag it by an epoch but never run ahead.
        with interrupt.deferred_while():
            checkpoint.save_checkpoint(ckpt, model_, optimizer_, info_, settings)
            _write_log(out / "log.csv", info_)
            curves.write_curves(info_, out / "curves.png", title)

    progress = _Progress(args.epochs, not args.no_progress)

    def on_batch_end(epoch: int, batch: int, batches: int) -> None:
        interrupt.check()
        progress(epoch, batch, batches)

    curves.prepare()
    if info is not None:  # resuming: the log may lag the checkpoint after a crash
        _write_log(out / "log.csv", info)
    try:
        with interrupt:
            model, optimizer, info = model_module.learn(
                model,
                x_train,
                t_train,
                x_test,
                t_test,
                batch_size=settings["batch_size"],
                epoch=args.epochs,
                optimizer=optimizer,
                learn_info=info,
                on_batch_end=on_batch_end,
                on_epoch_end=save,
            )
            if len(info["epoch"]) == 1:  # nothing to train: keep epoch 0 on disk too
                save(model, optimizer, info)
    except KeyboardInterrupt:
        if ckpt.exists():  # the interrupt may fall between the checkpoint and the log
            info = checkpoint.load_checkpoint(ckpt, _build)[2]
            _write_log(out / "log.csv", info)
            try:
                curves.write_curves(info, out / "curves.png", title)
            except Exception as exc:  # the plot is a convenience: report, carry on
                print(tr("could not redraw the plot: {error}", error=exc), file=sys.stderr)
        command = f"refcnn train --out {out} --resume --epochs {args.epochs}"
        print("\n" + tr("interrupted: {path} holds the run up to its last finished epoch; "
                        "continue with `{command}`", path=out, command=command),
              file=sys.stderr)  # fmt: skip
        return 130
    plot = "curves.png" if curves.have_matplotlib() else "curves.svg"
    print(tr("wrote {files}", files=f"{out / 'log.csv'}, {out / plot}, {ckpt}"), file=sys.stderr)
    return 0


def evaluate(args: argparse.Namespace) -> int:
    model, _, info, settings = checkpoint.load_checkpoint(Path(args.checkpoint), _build)
    source = _data_source(args.data_dir) if args.data_dir else settings["data"]
    _, (x_test, t_test) = _load_data(source)
    accuracy, loss = model_module.evaluate(model, x_test, t_test)
    origin = tr("the embedded subset") if source == "embedded" else source
    print(
        tr(
            "{path}: epoch {epoch}, test accuracy {accuracy}, test loss {loss} ({n} images "
            "from {origin})",
            path=args.checkpoint,
            epoch=info["epoch"][-1],
            accuracy=f"{accuracy:.4f}",
            loss=f"{loss:.6f}",
            n=len(x_test),
            origin=origin,
        )
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["conformance"]:
        from .conformance.running import runner  # the suite, installed as refcnn.conformance

        return runner.main(argv[1:])
    if argv[:1] == ["grade"]:
        from .conformance.grading import command

        return command.main(argv[1:])
    if argv[:1] == ["regenerate-fixtures"]:
        from .conformance.expected import golden

        return golden.main(argv[1:])
    with i18n.speaking(i18n.lang_in(argv)):  # --help in the language asked for
        args = _parser().parse_args(argv)
    with i18n.speaking(getattr(args, "lang", None)):
        return _command(args)


def _command(args: argparse.Namespace) -> int:
    try:
        if args.command == "train":
            return train(args)
        if args.command == "summary":
            model_module.print_model(model_module.article_model())
            return 0
        if args.command == "evaluate":
            return evaluate(args)
        if args.command == "download":
            print(tr("MNIST is in {path}", path=data.download_mnist(args.data_dir)))
            return 0
    except (data.DataError, ValueError) as exc:
        print(tr("refcnn {command}: {error}", command=args.command, error=exc), file=sys.stderr)
        return 2
    return 1


if __name__ == "__main__":
    sys.exit(main())
