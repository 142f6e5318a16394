"""Benchmark: `uptake serve` under load on loopback, and its audit log afterwards.

Starts the real command (``uptake serve MODEL --db sqlite:///...``) as a child
process and drives it with Debian's ``wrk`` (a POST body per request, rotating over
200 real customers from the bank table):

* one client, one keep-alive connection, one request at a time: single-customer
  latency (p50, p90, p99, max), timed by a minimal raw-socket client in this script
  (Debian's wrk 4 reports latency histograms here whose mean times count exceeds the
  run's duration, i.e. are not trustworthy for one connection; its request counts are);
* 32 concurrent connections: requests per second and errors;
* the file endpoint: a 100,000-row CSV upload (synthetic loan rows with the bank
  table's columns), scored and returned ranked, in rows per second;
* then a graceful stop (SIGTERM) and a count of audit rows against the number of
  predictions the server reported serving: nothing may be lost.

The straightforward way, in the same run: the same server with ``--no-fast-path``
(every request through ``Model.score``: pandas validation, the ColumnTransformer,
the jitted Keras call), for the JSON load tests; and, for the file, the in-process
``read_table`` + ``Model.score`` + ``scored_frame`` + ``to_csv`` without HTTP. Ratios
are reported. Run::

    .venv/bin/python bench/serve_load.py                 # 60 s per load test
    .venv/bin/python bench/serve_load.py --duration 15   # while iterating

Writes bench/results/serve_load.json. The load generator runs on the same 2-core
machine as the server (and as whatever else is running): timings are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
UPTAKE = str(Path(sys.executable).with_name("uptake"))
WRK = "/usr/bin/wrk"
TARGETS = {"p50_ms": 3.0, "p99_ms": 10.0, "rps_32": 1000.0, "file_rows_per_s": 50_000.0}

LUA = r"""
bodies = {BODIES}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("POST", "{PATH}", {["Content-Type"] = "application/json"}, bodies[(counter % #bodies) + 1])
end
done = function(summary, latency, requests)
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), latency.max, latency.mean))
end
"""


def data_dir() -> Path:
    return Path(os.environ.get("UPTAKE_DATA_DIR", ROOT.parent / "shared" / "data")).resolve()


def train_model(out: Path) -> Path:
    """The tests' quick model: the `seed` preset, 8 epochs, on the real table."""
    import uptake  # noqa: F401
    from uptake.train import TrainConfig, save, train_file

    trained = train_file(data_dir() / "Bank_Personal_Loan_Modelling.csv", TrainConfig(preset="seed", epochs=8, seed=0))
    return save(trained, out)


def read_csv_numbers(path: Path) -> Any:
    """The table with numbers as numbers (uptake's own reader keeps cells as written, text included)."""
    import pandas as pd

    return pd.read_csv(path)


def real_bodies(model_dir: Path) -> list[bytes]:
    """200 real customers from the bank table, as JSON bodies."""
    import uptake  # noqa: F401
    from uptake.pipeline import Model

    features = Model.load(model_dir).schema.feature_names
    df = read_csv_numbers(data_dir() / "Bank_Personal_Loan_Modelling.csv")  # JSON numbers, as a client sends
    rows = json.loads(df[features].sample(200, random_state=0).to_json(orient="records"))
    return [json.dumps(r).encode() for r in rows]


def one_client(port: int, bodies: list[bytes], duration: float) -> dict[str, Any]:
    """Sequential POSTs on one keep-alive connection; each timed from send to the last byte read."""
    import numpy as np

    requests = [
        b"POST /api/v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(b) + b
        for b in bodies
    ]
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    latencies, errors, buf = [], 0, b""
    start = time.perf_counter()
    end = start + duration
    i = 0
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        sock.sendall(requests[i % len(requests)])
        i += 1
        while True:
            head_end = buf.find(b"\r\n\r\n")
            if head_end >= 0:
                head = buf[:head_end].lower()
                length = int(head.split(b"content-length:")[1].split(b"\r\n")[0])
                if len(buf) >= head_end + 4 + length:
                    errors += not head.startswith(b"http/1.1 200")
                    buf = buf[head_end + 4 + length :]
                    break
            chunk = sock.recv(65536)
            if not chunk:
                raise SystemExit("server closed the connection")
            buf += chunk
        latencies.append(time.perf_counter() - t0)
    seconds = time.perf_counter() - start
    sock.close()
    a = np.asarray(latencies) * 1000
    return {
        "connections": 1,
        "client": "raw socket (this script)",
        "seconds": round(seconds, 2),
        "requests": len(a),
        "rps": round(len(a) / seconds, 1),
        "errors": int(errors),
        "non_2xx": int(errors),
        "p50_ms": round(float(np.percentile(a, 50)), 3),
        "p90_ms": round(float(np.percentile(a, 90)), 3),
        "p99_ms": round(float(np.percentile(a, 99)), 3),
        "p999_ms": round(float(np.percentile(a, 99.9)), 3),
        "max_ms": round(float(a.max()), 3),
        "mean_ms": round(float(a.mean()), 3),
        "sum_of_latencies_s": round(float(a.sum() / 1000), 2),  # <= seconds: the timings are consistent
    }


def lua_script(tmp: Path, model_dir: Path) -> Path:
    import uptake  # noqa: F401
    from uptake.pipeline import Model

    features = Model.load(model_dir).schema.feature_names
    df = read_csv_numbers(data_dir() / "Bank_Personal_Loan_Modelling.csv")  # JSON numbers, as a client sends
    rows = json.loads(df[features].sample(200, random_state=0).to_json(orient="records"))
    bodies = "{" + ",".join(_lua_string(json.dumps(r)) for r in rows) + "}"
    path = tmp / "post.lua"
    path.write_text(LUA.replace("{BODIES}", bodies).replace("{PATH}", "/api/v1/predict"))
    return path


def _lua_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`uptake serve` in a child process."""

    def __init__(self, model_dir: Path, db: str, fast: bool, workers: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [
            UPTAKE,
            "serve",
            str(model_dir),
            "--port",
            str(self.port),
            "--db",
            db,
            "--workers",
            str(workers),
            "--fast-path" if fast else "--no-fast-path",
            "--max-upload-mb",
            "256",
            "--timeout",
            "300",
        ]
        env = {**os.environ, "UPTAKE_API_KEY": ""}
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        import httpx

        deadline = time.monotonic() + 180
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"uptake serve exited: {self.proc.stdout.read() if self.proc.stdout else ''}")
            try:
                self.health = httpx.get(f"{self.url}/health", timeout=2).json()
                return
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise SystemExit("uptake serve did not start") from None
                time.sleep(0.25)

    def get_health(self) -> dict[str, Any]:
        import httpx

        return httpx.get(f"{self.url}/health", timeout=30).json()

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=300)
        return out


def wrk(url: str, script: Path, connections: int, duration: float, threads: int = 1) -> dict[str, Any]:
    cmd = [
        WRK,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        f"{url}/api/v1/predict",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 120)
    match = re.search(r"WRKJSON (\{.*\})", done.stdout)
    if not match:
        raise SystemExit(f"wrk gave no result:\n{done.stdout}\n{done.stderr}")
    r = json.loads(match.group(1))
    seconds = r["duration_us"] / 1e6
    errors = r["connect"] + r["read"] + r["write"] + r["status"] + r["timeout"]
    return {
        "connections": connections,
        "seconds": round(seconds, 2),
        "requests": r["requests"],
        "rps": round(r["requests"] / seconds, 1),
        "errors": errors,
        "non_2xx": r["status"],
        "p50_ms": r["p50_us"] / 1000,
        "p90_ms": r["p90_us"] / 1000,
        "p99_ms": r["p99_us"] / 1000,
        "p999_ms": r["p999_us"] / 1000,
        "max_ms": r["max_us"] / 1000,
        "mean_ms": round(r["mean_us"] / 1000, 3),
    }


def load_tests(server: Server, script: Path, bodies: list[bytes], duration: float, connections: int) -> dict[str, Any]:
    wrk(server.url, script, 4, 3)  # warm-up: first requests, lazy imports, page cache
    return {
        "one_client": one_client(server.port, bodies, duration),
        "concurrent": wrk(server.url, script, connections, duration),
    }


def file_bench(server: Server, csv_bytes: bytes, rows: int, repeats: int) -> dict[str, Any]:
    import httpx

    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        r = httpx.post(f"{server.url}/api/v1/predict/file", files={"file": ("campaign.csv", csv_bytes)}, timeout=600)
        times.append(time.perf_counter() - start)
        if r.status_code != 200 or int(r.headers["x-uptake-rows"]) != rows:
            raise SystemExit(f"file endpoint failed: {r.status_code} {r.text[:300]}")
    best = min(times)
    return {
        "rows": rows,
        "mb": round(len(csv_bytes) / 2**20, 1),
        "seconds": [round(t, 3) for t in times],
        "best_s": round(best, 3),
        "rows_per_s": round(rows / best),
        "median_rows_per_s": round(rows / sorted(times)[len(times) // 2]),
    }


def file_reference(model_dir: Path, csv_path: Path, rows: int) -> dict[str, Any]:
    """The straightforward way without a server: read_table + Model.score + scored_frame + to_csv."""
    import io

    import uptake  # noqa: F401
    from uptake.io.tables import read_table
    from uptake.pipeline import Model

    model = Model.load(model_dir)
    model.score(read_table(csv_path).head(2000))  # compile the jitted call first, as the server has
    start = time.perf_counter()
    df = read_table(csv_path)
    frame = Model.frame(df, model.score(df)).sort_values("rank")
    frame.to_csv(io.StringIO(), index=False)
    seconds = time.perf_counter() - start
    return {"rows": rows, "seconds": round(seconds, 3), "rows_per_s": round(rows / seconds)}


def count_audit(db: str) -> int:
    import uptake  # noqa: F401
    from uptake.audit.read import count_rows

    return count_rows(db)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="Model directory (default: train the tests' quick model first).")
    parser.add_argument("--duration", type=float, default=60.0, help="Seconds per load test (default 60).")
    parser.add_argument(
        "--baseline-duration",
        type=float,
        default=None,
        help="Seconds per load test for --no-fast-path (default: --duration / 3).",
    )
    parser.add_argument("--connections", type=int, default=32, help="wrk connections for the throughput test.")
    parser.add_argument("--workers", type=int, default=1, help="`uptake serve --workers`.")
    parser.add_argument("--file-rows", type=int, default=100_000)
    parser.add_argument("--file-repeats", type=int, default=3)
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args()
    if not Path(WRK).exists():
        raise SystemExit(f"{WRK} is missing: apt install wrk")
    baseline_duration = args.baseline_duration or max(5.0, args.duration / 3)
    load_before = os.getloadavg()

    with tempfile.TemporaryDirectory(prefix="uptake-serve-bench-") as tmp_name:
        tmp = Path(tmp_name)
        model_dir = args.model or train_model(tmp / "model")
        script = lua_script(tmp, model_dir)
        bodies = real_bodies(model_dir)
        import uptake  # noqa: F401
        from uptake.synth import make_loan

        csv_path = tmp / "campaign.csv"
        make_loan(args.file_rows, seed=1).to_csv(csv_path, index=False)
        csv_bytes = csv_path.read_bytes()

        db = f"sqlite:///{tmp / 'audit.sqlite'}"
        print(f"uptake serve (fast path, {args.workers} worker(s)), {args.duration:g} s per load test ...", flush=True)
        server = Server(model_dir, db, fast=True, workers=args.workers)
        fast = load_tests(server, script, bodies, args.duration, args.connections)
        files = file_bench(server, csv_bytes, args.file_rows, args.file_repeats)
        served = server.get_health()["predictions_served"] if args.workers == 1 else None
        server.stop()
        rows = count_audit(db)
        # wrk counts the responses it saw; the server's own count is exact (it includes any still in flight at wrk's stop).
        audit = {
            "rows_in_log": rows,
            "predictions_served": served,
            "responses_seen_by_clients": fast["one_client"]["requests"]
            + fast["concurrent"]["requests"]
            + args.file_rows * args.file_repeats,
        }
        audit["lost"] = (served - rows) if served is not None else None

        baseline = None
        if not args.skip_baseline:
            print(
                f"uptake serve --no-fast-path (reference path per request), {baseline_duration:g} s per load test ...",
                flush=True,
            )
            db2 = f"sqlite:///{tmp / 'audit-ref.sqlite'}"
            ref_server = Server(model_dir, db2, fast=False, workers=args.workers)
            baseline = load_tests(ref_server, script, bodies, baseline_duration, args.connections)
            ref_server.stop()
        file_ref = file_reference(model_dir, csv_path, args.file_rows)

    load_after = os.getloadavg()
    result = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in load_after],
        },
        "settings": {
            "duration_s": args.duration,
            "baseline_duration_s": None if args.skip_baseline else baseline_duration,
            "connections": args.connections,
            "workers": args.workers,
            "file_rows": args.file_rows,
        },
        "fast": fast,
        "baseline_no_fast_path": baseline,
        "file": files,
        "file_reference_in_process": file_ref,
        "audit": audit,
        "targets": TARGETS,
    }
    checks = {
        "p50_ms": fast["one_client"]["p50_ms"] <= TARGETS["p50_ms"],
        "p99_ms": fast["one_client"]["p99_ms"] <= TARGETS["p99_ms"],
        "rps_32": fast["concurrent"]["rps"] >= TARGETS["rps_32"] and fast["concurrent"]["errors"] == 0,
        "file_rows_per_s": files["rows_per_s"] >= TARGETS["file_rows_per_s"],
        "no_lost_predictions": audit["lost"] == 0
        if audit["lost"] is not None
        else rows >= audit["responses_seen_by_clients"],
    }
    result["met"] = checks
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "serve_load.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print_table(result)
    print(f"\nwrote {out.relative_to(ROOT)}")


def print_table(r: dict[str, Any]) -> None:
    f, b = r["fast"], r["baseline_no_fast_path"]

    def ratio(x: float, y: float | None) -> str:
        return f"{x / y:.1f}x" if y else "-"

    lines = [
        f"{'measure':44} {'uptake serve':>14} {'--no-fast-path':>15} {'ratio':>7} {'target':>10} {'met':>4}",
        "-" * 98,
    ]

    def row(
        name: str, value: float, base: float | None, fmt: str, target: str, met: bool | None, better_low: bool
    ) -> None:
        rb = "-" if base is None else format(base, fmt)
        rt = "-" if base is None else (ratio(base, value) if better_low else ratio(value, base))
        lines.append(
            f"{name:44} {format(value, fmt):>14} {rb:>15} {rt:>7} {target:>10} {('yes' if met else 'NO') if met is not None else '':>4}"
        )

    one, conc = f["one_client"], f["concurrent"]
    bone = b["one_client"] if b else None
    bconc = b["concurrent"] if b else None
    met = r["met"]
    row("1 client: p50 latency (ms)", one["p50_ms"], bone and bone["p50_ms"], ".2f", "<= 3", met["p50_ms"], True)
    row("1 client: p90 latency (ms)", one["p90_ms"], bone and bone["p90_ms"], ".2f", "", None, True)
    row("1 client: p99 latency (ms)", one["p99_ms"], bone and bone["p99_ms"], ".2f", "<= 10", met["p99_ms"], True)
    row("1 client: max latency (ms)", one["max_ms"], bone and bone["max_ms"], ".1f", "", None, True)
    row("1 client: requests/s", one["rps"], bone and bone["rps"], ".0f", "", None, False)
    row(
        f"{conc['connections']} connections: requests/s",
        conc["rps"],
        bconc and bconc["rps"],
        ".0f",
        ">= 1000",
        met["rps_32"],
        False,
    )
    row(
        f"{conc['connections']} connections: p99 latency (ms)",
        conc["p99_ms"],
        bconc and bconc["p99_ms"],
        ".1f",
        "",
        None,
        True,
    )
    row(
        f"{conc['connections']} connections: errors",
        conc["errors"],
        bconc and bconc["errors"],
        ".0f",
        "0",
        conc["errors"] == 0,
        True,
    )
    fr, ref = r["file"], r["file_reference_in_process"]
    lines.append(
        f"{'file, ' + format(fr['rows'], ',') + ' rows: rows/s (best of ' + str(len(fr['seconds'])) + ')':44} {fr['rows_per_s']:>14,} "
        f"{'in-process ' + format(ref['rows_per_s'], ','):>15} {fr['rows_per_s'] / ref['rows_per_s']:>6.1f}x {'>= 50,000':>10} "
        f"{'yes' if met['file_rows_per_s'] else 'NO':>4}"
    )
    a = r["audit"]
    lines.append(
        f"{'audit rows after stop / predictions served':44} {str(a['rows_in_log']) + ' / ' + str(a['predictions_served']):>14} "
        f"{'':>15} {'':>7} {'0 lost':>10} {'yes' if met['no_lost_predictions'] else 'NO':>4}"
    )
    m = r["machine"]
    lines.append(
        f"\n{m['cpus']} CPUs; load average before {m['loadavg_before'][0]}, after {m['loadavg_after'][0]} "
        f"(other work on the machine shares the cores with server and load generator)"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
