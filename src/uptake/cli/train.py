"""``uptake train`` and ``uptake train-stream``: a customer table in, a saved model out."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from uptake.cli.common import (
    DEFAULT_MODEL_DIR,
    EMBEDDED_ROWS,
    AcceptValue,
    Calibrate,
    ContactCost,
    Epochs,
    LearningRate,
    MinPrecision,
    MinRecall,
    ModelOut,
    Positive,
    PositiveName,
    RichProgress,
    Seed,
    Sheet,
    Target,
    Threshold,
    app,
    console,
    err_console,
    metrics_table,
    parse_kinds,
    print_search,
)
from uptake.models import FAMILIES

if TYPE_CHECKING:
    from uptake.train import TrainConfig


@app.command()
def train(
    data: Annotated[
        Path | None,
        typer.Argument(help="CSV, Excel (.xlsx) or Parquet table. Omit to train on the embedded synthetic loan table."),
    ] = None,
    out: ModelOut = DEFAULT_MODEL_DIR,
    target: Target = None,
    positive: Positive = None,
    positive_name: PositiveName = None,
    sheet: Sheet = None,
    drop: Annotated[
        list[str] | None,
        typer.Option(
            help="Extra column to leave out (repeatable). Identifiers, names, ZIP codes and such are dropped anyway."
        ),
    ] = None,
    keep: Annotated[
        list[str] | None,
        typer.Option(help="Keep a column a rule would drop (an identifier, a name, near-constant) (repeatable)."),
    ] = None,
    kind: Annotated[
        list[str] | None,
        typer.Option(help="Override a column's kind: COLUMN=numeric|binary|categorical|date (repeatable)."),
    ] = None,
    model: Annotated[
        str,
        typer.Option(
            help=(
                f"Model family: {', '.join(FAMILIES)} (network is the Keras MLP; auto searches the others within "
                f"--time-limit)."
            )
        ),
    ] = "network",
    preset: Annotated[
        str,
        typer.Option(
            help=(
                "Network preset: seed (Keras example), tutorial (TF imbalanced-data tutorial), default (ours: "
                "cross-fitted members), single-split (the previous default) or tabm."
            )
        ),
    ] = "default",
    epochs: Epochs = None,
    batch_size: Annotated[int | None, typer.Option(min=1, help="Override the preset's batch size.")] = None,
    learning_rate: LearningRate = None,
    time_limit: Annotated[
        float | None,
        typer.Option(
            min=0.001,
            help=(
                "--model auto: seconds the search over families may take (default 60: about a minute on the "
                "5,000-row bank table, 2 cores)."
            ),
        ),
    ] = None,
    refit_full: Annotated[
        bool | None,
        typer.Option(
            "--refit-full/--bagged",
            help=(
                "--model auto: serve one model per chosen candidate refit on all rows (default; fast scoring), or "
                "the bagged fold models the combination was fitted on."
            ),
        ),
    ] = None,
    final_refit: Annotated[
        bool | None,
        typer.Option(
            "--final-refit/--measured-only",
            help=(
                "Tree families on a small table (< 50,000 training rows): serve the measured model refit on every "
                "labelled row (default), or exactly the model the test figures measured."
            ),
        ),
    ] = None,
    hidden: Annotated[str | None, typer.Option(help="Hidden layer widths, e.g. 256,256,256.")] = None,
    dropout: Annotated[float | None, typer.Option(min=0.0, max=0.99, help="Dropout after each hidden layer.")] = None,
    imbalance: Annotated[
        str | None, typer.Option(help="none | class-weight | oversample | balanced-batches | smote.")
    ] = None,
    class_weight_formula: Annotated[
        str | None,
        typer.Option(help="inverse (1/count, the Keras example) or balanced (total/(2*count), the TF tutorial)."),
    ] = None,
    initial_bias: Annotated[
        bool | None, typer.Option("--initial-bias/--no-initial-bias", help="Start the output bias at log(pos/neg).")
    ] = None,
    threshold: Threshold = None,
    min_recall: MinRecall = None,
    min_precision: MinPrecision = None,
    contact_cost: ContactCost = None,
    accept_value: AcceptValue = None,
    calibrate: Calibrate = None,
    seed: Seed = 0,
    checkpoint_every_epoch: Annotated[
        bool, typer.Option(help="Save a .keras checkpoint after every epoch into OUT-checkpoints/.")
    ] = False,
) -> None:
    """Train a model on a customer table, evaluate it on a held-out split, and save it."""
    from uptake.artifact import (
        check_model_out,  # imported when the command runs: `uptake --help` stays instant
    )
    from uptake.decide.metrics import describe
    from uptake.io.tables import read_descriptions, read_table
    from uptake.schema.target import positive_name as name_positives
    from uptake.synth import make_loan
    from uptake.train import TrainConfig, prepare, save
    from uptake.train import train as train_model

    check_model_out(out)  # before minutes of training, not after
    config = TrainConfig(
        target=target,
        positive=positive,
        positive_name=positive_name,
        drop=tuple(drop or ()),
        keep=tuple(keep or ()),
        kinds=parse_kinds(kind),
        model=model,
        preset=preset,
        hidden=hidden,
        dropout=dropout,
        learning_rate=learning_rate,
        batch_size=batch_size,
        epochs=epochs,
        time_limit=time_limit,
        final_refit=final_refit,
        refit_full=refit_full,
        imbalance=imbalance,
        class_weight_formula=class_weight_formula,
        initial_bias=initial_bias,
        threshold=threshold,
        min_recall=min_recall,
        min_precision=min_precision,
        contact_cost=contact_cost,
        accept_value=accept_value,
        calibrate=calibrate,
        seed=seed,
        checkpoint_dir=str(out.parent / f"{out.name}-checkpoints") if checkpoint_every_epoch else None,
    )
    config.check()
    if data is None:
        df = make_loan(EMBEDDED_ROWS, seed=seed)
        df.attrs["row_offset"] = 2
        console.print(
            f"No data file given: training on the embedded default, a synthetic {EMBEDDED_ROWS:,}-row loan table "
            f"(the same as `uptake synth --kind loan --rows {EMBEDDED_ROWS} --seed {seed}`)."
        )
        source, descriptions = None, None
    else:
        df = read_table(data, sheet=sheet)
        source, descriptions = data, read_descriptions(data)
    prepared = prepare(df, config, source, descriptions)  # data errors before Keras is imported
    progress = _progress_for(config)
    # auto's search runs for its time limit: on a terminal, say so while it runs (its leaderboard follows)
    searching = (
        console.status(f"auto: searching candidates for up to {config.time_limit or 'its default'} s")
        if config.model == "auto" and console.is_terminal
        else contextlib.nullcontext()
    )
    try:
        with searching:
            trained = train_model(
                df,
                config,
                source=source,
                callbacks=[progress] if progress else (),
                descriptions=descriptions,
                prepared=prepared,
            )
    finally:
        if progress is not None:
            progress.close()
    _print_summary(trained)
    path = save(trained, out)
    names = name_positives(trained.prepared.schema.target, config.positive_name)
    m = trained.test
    console.print(
        metrics_table(f"Test split ({m['n']} rows, touched once) at threshold {m['threshold']:.3f}", describe(m, names))
    )
    _print_threshold_and_calibration(trained, names)
    print_search(trained.fitted.estimator.hyperparameters())
    console.print(f"Model saved to {path}/")
    console.print(f"Summary (metadata, metrics, data fingerprint): {path / 'metadata.json'}")


def _print_threshold_and_calibration(trained: Any, names: str) -> None:
    from uptake.decide.thresholds import (
        describe as describe_rule,  # imported when the command runs: `uptake --help` stays instant
    )

    console.print(describe_rule(trained.fitted.threshold_rule, trained.fitted.threshold, names))
    if trained.final_refit:
        f = trained.final_refit
        size = ", ".join(f"{k} {v}" for k, v in f["size"].items())
        console.print(
            f"Served model: the measured one refit on all {f['rows']:,} labelled rows at its size"
            + (f" ({size})" if size else "")
            + "; the test figures above are the measured model's, which never saw the test rows",
            soft_wrap=True,
        )
    cal = trained.fitted.calibration
    if cal:
        b = cal.get("brier_test") or cal["brier_validation"]
        console.print(
            f"Calibration ({cal['method']}, fitted on validation): Brier score on the test split "
            f"{b['before']:.4f} before -> {b['after']:.4f} after"
        )
        if cal.get("note"):
            err_console.print(f"note: {cal['note']}", markup=False, highlight=False, soft_wrap=True)


def _progress_for(config: TrainConfig) -> Any:
    if config.model not in ("network", "ensemble"):
        return None
    from uptake.models.network import (
        NetworkClassifier,  # imports Keras: only when a network will train
    )

    cfg = NetworkClassifier.from_options(config.options()).resolved_config()
    return RichProgress(cfg.epochs, cfg.n_models)


def _print_summary(trained: Any) -> None:
    s = trained.prepared.summary
    lines = [f"Rows: {s.rows:,}   positives: {s.positives:,} ({s.positive_share:.1%})"]
    for d in s.dropped:
        lines.append(f"Dropped column '{d['column']}': {d['reason']}")
    if s.blank_rows:
        lines.append(f"Left out {s.blank_rows:,} blank rows (every cell empty: not customers)")
    if s.duplicate_rows:
        grouped = trained.prepared.groups is not None
        lines.append(
            f"{s.duplicate_rows:,} rows repeat another row's features exactly"
            + (
                " (a join gone wrong?): identical rows kept on one side of every split, so no test row is also "
                "a training row"
                if grouped
                else f" ({s.duplicate_rows / s.rows:.1%}: customers who answered alike): kept where the split puts them"
            )
        )
    for name, n in s.missing.items():
        lines.append(f"Missing values in '{name}': {n} (imputed: median for numbers, most frequent otherwise)")
    for text in s.suspicious:
        lines.append(f"Suspicious: {text}")
    for col in trained.prepared.schema.columns:
        if col.open:
            lines.append(
                f"Note: '{col.name}' has more distinct values than uptake remembers; values never seen in "
                "training will be scored as a rare category, not refused"
            )
    kinds = ", ".join(f"{c.name} ({c.kind})" for c in trained.prepared.schema.columns)
    lines.append(f"Features: {kinds}")
    lines.append(f"Split (seed {trained.config.seed}): " + ", ".join(f"{k} {v}" for k, v in trained.split_rows.items()))
    for line in lines:
        console.print(line)
    for text in s.warnings:
        err_console.print(f"WARNING: {text}", markup=False, highlight=False, soft_wrap=True)


@app.command("train-stream")
def train_stream(
    data: Annotated[
        Path, typer.Argument(help="Parquet file or directory of Parquet files (may be larger than memory).")
    ],
    out: ModelOut = DEFAULT_MODEL_DIR,
    target: Target = None,
    positive: Positive = None,
    positive_name: PositiveName = None,
    preset: Annotated[
        str, typer.Option(help="Network preset: seed, tutorial, default, single-split or tabm.")
    ] = "tutorial",
    epochs: Epochs = None,
    batch_size: Annotated[int | None, typer.Option(min=2, help="Override the preset's batch size.")] = None,
    learning_rate: LearningRate = None,
    threshold: Threshold = None,
    min_recall: MinRecall = None,
    min_precision: MinPrecision = None,
    contact_cost: ContactCost = None,
    accept_value: AcceptValue = None,
    calibrate: Calibrate = None,
    sample_rows: Annotated[
        int, typer.Option(min=1000, help="Rows sampled to infer the schema and fit the preprocessing.")
    ] = 200_000,
    chunk_rows: Annotated[int, typer.Option(min=1000, help="Rows read from Parquet at a time.")] = 250_000,
    seed: Annotated[int, typer.Option(help="Fixes the splits, the sample and the weights.")] = 0,
) -> None:
    """Train on a Parquet table too big for memory.

    Balanced batches are streamed from disk, with early stopping on validation.
    """
    from uptake.artifact import (
        check_model_out,  # imported when the command runs: `uptake --help` stays instant
    )
    from uptake.decide.metrics import describe
    from uptake.schema.target import positive_name as name_positives
    from uptake.train import TrainConfig, save
    from uptake.train.stream import StreamOptions  # imports Keras: only here
    from uptake.train.stream import train_stream as stream_model

    check_model_out(out)
    config = TrainConfig(
        target=target,
        positive=positive,
        positive_name=positive_name,
        model="network",
        preset=preset,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        threshold=threshold,
        min_recall=min_recall,
        min_precision=min_precision,
        contact_cost=contact_cost,
        accept_value=accept_value,
        calibrate=calibrate,
        seed=seed,
    )
    config.check()
    trained = stream_model(data, config, StreamOptions(sample_rows=sample_rows, chunk_rows=chunk_rows))
    path = save(trained.trained, out)
    names = name_positives(trained.trained.prepared.schema.target, config.positive_name)
    m = trained.test
    console.print(
        f"Rows: {trained.rows:,}   positives: {trained.positives:,}   split: "
        + ", ".join(f"{k} {v:,}" for k, v in trained.split_rows.items())
    )
    console.print(metrics_table(f"Test split ({m['n']:,} rows) at threshold {m['threshold']:.3f}", describe(m, names)))
    _print_threshold_and_calibration(trained.trained, names)
    console.print(f"Model saved to {path}/")


__all__ = ["train", "train_stream"]
