"""Core commands: train, evaluate, predict, synth, version."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer

import uptake
from uptake.cli import DEFAULT_MODEL_DIR, EMBEDDED_ROWS, RichProgress, app, console, err_console, metrics_table, parse_kinds, write_frame_atomic
from uptake.errors import UptakeInputError


# ---- commands -------------------------------------------------------------------------------
@app.command()
def train(
    data: Annotated[Path | None, typer.Argument(help="CSV, Excel (.xlsx) or Parquet table. Omit to train on the embedded synthetic loan table.")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Model directory to write (replaced atomically).")] = DEFAULT_MODEL_DIR,
    target: Annotated[str | None, typer.Option(help="Target column (default: 'Personal Loan' when present).")] = None,
    positive: Annotated[str | None, typer.Option(help="Target label that counts as a positive outcome.")] = None,
    sheet: Annotated[str | None, typer.Option(help="Excel sheet (default: 'Data' if present, else the first).")] = None,
    drop: Annotated[list[str] | None, typer.Option(help="Extra column to leave out (repeatable). ID-like and ZIP columns are dropped anyway.")] = None,
    kind: Annotated[list[str] | None, typer.Option(help="Override a column's kind: COLUMN=numeric|binary|categorical (repeatable).")] = None,
    model: Annotated[str, typer.Option(help="Model family: network (the Keras MLP), or others registered (see docs).")] = "network",
    preset: Annotated[str, typer.Option(help="Network preset: seed (Keras example), tutorial (TF imbalanced-data tutorial) or default (ours).")] = "default",
    epochs: Annotated[int | None, typer.Option(min=1, help="Override the preset's (maximum) epochs.")] = None,
    batch_size: Annotated[int | None, typer.Option(min=1, help="Override the preset's batch size.")] = None,
    learning_rate: Annotated[float | None, typer.Option(min=0.0, help="Override the preset's Adam learning rate.")] = None,
    hidden: Annotated[str | None, typer.Option(help="Hidden layer widths, e.g. 256,256,256.")] = None,
    dropout: Annotated[float | None, typer.Option(min=0.0, max=0.99, help="Dropout after each hidden layer.")] = None,
    imbalance: Annotated[str | None, typer.Option(help="none | class-weight | oversample | balanced-batches | smote.")] = None,
    class_weight_formula: Annotated[str | None, typer.Option(help="inverse (1/count, the Keras example) or balanced (total/(2*count), the TF tutorial).")] = None,
    initial_bias: Annotated[bool | None, typer.Option("--initial-bias/--no-initial-bias", help="Start the output bias at log(pos/neg).")] = None,
    threshold: Annotated[float | None, typer.Option(help="Fix the decision threshold instead of choosing max-F1 on validation.")] = None,
    min_recall: Annotated[float | None, typer.Option(help="Choose the highest threshold that finds at least this share of acceptors on validation, e.g. 0.9.")] = None,
    min_precision: Annotated[float | None, typer.Option(help="Choose the lowest threshold whose calls are at least this share acceptors on validation.")] = None,
    contact_cost: Annotated[float | None, typer.Option(help="Money per call; with --accept-value, choose the threshold of maximum expected profit.")] = None,
    accept_value: Annotated[float | None, typer.Option(help="Money per accepted offer (used with --contact-cost).")] = None,
    calibrate: Annotated[str | None, typer.Option(help="isotonic | sigmoid: recalibrate probabilities on validation (class weights and oversampling inflate them).")] = None,
    seed: Annotated[int, typer.Option(help="Fixes the splits, the weights and so the metrics.")] = 0,
    checkpoint_every_epoch: Annotated[bool, typer.Option(help="Save a .keras checkpoint after every epoch into OUT-checkpoints/.")] = False,
) -> None:
    """Train a model on a customer table, evaluate it on a held-out split, and save it."""
    from uptake import train as T
    from uptake.artifact import check_model_out
    from uptake.evaluate import describe

    check_model_out(out)  # before minutes of training, not after

    config = T.TrainConfig(
        target=target, positive=positive, drop=tuple(drop or ()), kinds=parse_kinds(kind), model=model,
        preset=preset, hidden=hidden, dropout=dropout, learning_rate=learning_rate, batch_size=batch_size,
        epochs=epochs, imbalance=imbalance, class_weight_formula=class_weight_formula, initial_bias=initial_bias,
        threshold=threshold, min_recall=min_recall, min_precision=min_precision, contact_cost=contact_cost,
        accept_value=accept_value, calibrate=calibrate, seed=seed,
        checkpoint_dir=str(out.parent / f"{out.name}-checkpoints") if checkpoint_every_epoch else None,
    )
    if data is None:
        from uptake.synth import make_loan

        df = make_loan(EMBEDDED_ROWS, seed=seed)
        df.attrs["row_offset"] = 2
        console.print(
            f"No data file given: training on the embedded default, a synthetic {EMBEDDED_ROWS:,}-row loan table "
            f"(the same as `uptake synth --kind loan --rows {EMBEDDED_ROWS} --seed {seed}`)."
        )
        source, descriptions = None, None
    else:
        from uptake.data import read_descriptions, read_table

        df = read_table(data, sheet=sheet)
        source, descriptions = data, read_descriptions(data)
    prepared = T.prepare(df, config, source, descriptions)  # data errors before Keras is imported
    progress = _progress_for(config)
    try:
        trained = T.train(df, config, source=source, callbacks=[progress] if progress else (), descriptions=descriptions,
                          prepared=prepared)
    finally:
        if progress is not None:
            progress.close()
    _print_summary(trained)
    path = T.save(trained, out)
    m = trained.test
    console.print(metrics_table(f"Test split ({m['n']} rows, touched once) at threshold {m['threshold']:.3f}", describe(m)))
    _print_threshold_and_calibration(trained)
    console.print(f"Model saved to {path}/")
    console.print(f"Summary (metadata, metrics, data fingerprint): {path / 'metadata.json'}")


def _print_threshold_and_calibration(trained: Any) -> None:
    from uptake.thresholds import describe_threshold_rule

    console.print(describe_threshold_rule(trained.fitted.threshold_rule, trained.fitted.threshold))
    cal = trained.fitted.calibration
    if cal:
        b = cal.get("brier_test") or cal["brier_validation"]
        console.print(f"Calibration ({cal['method']}, fitted on validation): Brier score on the test split "
                      f"{b['before']:.4f} before -> {b['after']:.4f} after")


def _progress_for(config: Any) -> Any:
    if config.model not in ("network", "ensemble"):
        return None
    from uptake.models.network import NetworkClassifier

    cfg = NetworkClassifier(**config.network_params()).resolved_config()
    return RichProgress(cfg.epochs, getattr(cfg, "n_models", 1))


def _print_summary(trained: Any) -> None:
    s = trained.prepared.summary
    lines = [f"Rows: {s.rows:,}   positives: {s.positives:,} ({s.positive_share:.1%})"]
    for d in s.dropped:
        lines.append(f"Dropped column '{d['column']}': {d['reason']}")
    for name, n in s.missing.items():
        lines.append(f"Missing values in '{name}': {n} (imputed: median for numbers, most frequent otherwise)")
    for text in s.suspicious:
        lines.append(f"Suspicious: {text}")
    kinds = ", ".join(f"{c.name} ({c.kind})" for c in trained.prepared.schema.columns)
    lines.append(f"Features: {kinds}")
    lines.append(f"Split (seed {trained.config.seed}): " + ", ".join(f"{k} {v}" for k, v in trained.split_rows.items()))
    for line in lines:
        console.print(line)


@app.command()
def evaluate(
    model: Annotated[Path, typer.Argument(help="Model directory written by `uptake train`.")],
    data: Annotated[Path, typer.Argument(help="Labelled table to evaluate on.")],
    sheet: Annotated[str | None, typer.Option(help="Excel sheet.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")] = False,
) -> None:
    """Score a labelled table with a saved model and print imbalance-aware metrics at its threshold."""
    from uptake.data import encode_target, read_table
    from uptake.evaluate import METRIC_KEYS, describe, metrics
    from uptake.predict import Model

    m = Model.load(model)
    df = read_table(data, sheet=sheet)
    target = m.schema.target
    if target not in df.columns:
        raise UptakeInputError(f"file '{data}', column '{target}': target column is missing; evaluation needs labels")
    y, _, _ = encode_target(df[target], m.schema.positive_label, data, int(df.attrs.get("row_offset", 1)))
    scored = m.score(df, source=data)
    result = metrics(y, scored.probability, m.threshold)
    if as_json:
        print(json.dumps({k: _finite(result[k]) for k in METRIC_KEYS}))
    else:
        console.print(metrics_table(f"{data} ({result['n']} rows) at threshold {m.threshold:.3f}", describe(result)))


def _finite(v: Any) -> Any:
    return None if isinstance(v, float) and math.isnan(v) else v


@app.command()
def predict(
    model: Annotated[Path, typer.Argument(help="Model directory written by `uptake train`.")],
    data: Annotated[Path, typer.Argument(help="Table of customers to score (raw columns, as in training).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output .csv or .parquet: input rows + probability, decision, rank.")],
    sheet: Annotated[str | None, typer.Option(help="Excel sheet.")] = None,
    skip_invalid: Annotated[bool, typer.Option(help="Skip invalid rows (and count them) instead of failing.")] = False,
    explain: Annotated[bool, typer.Option("--explain", help="Add reason_1..reason_3: the top reasons behind each score.")] = False,
    engine: Annotated[str, typer.Option(help="local (stream the file in chunks) or dask (a Parquet dataset on a dask.distributed cluster).")] = "local",
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address tcp://HOST:PORT (default: start a local 2-worker cluster).")] = None,
    rank: Annotated[bool, typer.Option("--rank/--no-rank", help="Add the exact global rank (a second pass over the input); --no-rank writes in one pass.")] = True,
    chunk_rows: Annotated[int | None, typer.Option(min=1, help="Rows scored at a time when streaming (memory grows with this, not the file).")] = None,
) -> None:
    """Score new customers: probability, decision at the model's threshold, and rank (1 = most likely).

    CSV and Parquet inputs (a Parquet file or a directory of them) are streamed in
    chunks with bounded memory; Excel files, and --explain, read the table whole.
    """
    from uptake.cli.scale import run_predict, streams
    from uptake.data import read_table
    from uptake.predict import Model, scored_frame

    if not explain and streams(data):
        run_predict(model, data, out, skip_invalid=skip_invalid, engine=engine, scheduler=scheduler, rank=rank,
                    chunk_rows=chunk_rows)
        return
    if engine != "local" or not rank:
        raise UptakeInputError("--engine dask and --no-rank apply to CSV and Parquet inputs without --explain")
    m = Model.load(model)
    if out.suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise UptakeInputError(f"file '{out}': output must end in .csv or .parquet")
    df = read_table(data, sheet=sheet)
    scored = m.score(df, source=data, skip_invalid=skip_invalid)
    for e in scored.errors[:20]:
        err_console.print(f"skipped invalid row: {e.message(data)}")
    frame = scored_frame(df, scored)
    if explain:
        from uptake.explain import add_reason_columns

        frame = add_reason_columns(m, df, frame)
    write_frame_atomic(frame, out)
    n_pos = int(frame["decision"].sum())
    console.print(
        f"Scored {len(frame):,} rows ({n_pos:,} above threshold {m.threshold:.3f})"
        + (f"; skipped {len(scored.invalid_rows):,} invalid rows" if scored.invalid_rows else "")
        + f" -> {out}"
    )


@app.command()
def synth(
    kind: Annotated[str, typer.Option(help="loan (the bank table's columns) or fraud (card transactions, 0.17% positives).")] = "loan",
    rows: Annotated[int, typer.Option(min=1, help="Number of rows.")] = 5000,
    seed: Annotated[int, typer.Option(help="Same seed, same table.")] = 0,
    out: Annotated[Path, typer.Option("--out", "-o", help=".csv, .parquet or .xlsx")] = Path("synthetic.csv"),
) -> None:
    """Generate a synthetic table with the real schema, for demos and scale tests."""
    from uptake.synth import iter_table_chunks, make_table, write_table

    if rows > 1_000_000 and out.suffix.lower() in (".csv", ".parquet"):
        write_table(iter_table_chunks(kind, rows, seed), out)
    else:
        write_table(make_table(kind, rows, seed), out)
    console.print(f"Wrote {rows:,} synthetic {kind} rows to {out}")


@app.command()
def version() -> None:
    """Print uptake's version and its backend."""
    import keras

    console.print(f"uptake {uptake.__version__} (Keras {keras.__version__}, backend {keras.backend.backend()})")


