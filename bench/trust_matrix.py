"""The adversarial matrix (tests/trust_cases.py) against one or two checkouts, as a before/after table.

Each checkout trains its own three models (its own code writes its own model format),
then every case runs through that checkout's ``uptake`` (PYTHONPATH points at its
``src``). A case passes when the exit code, the first line, the absence of a
traceback and of leftovers, and the case's own checks all hold::

    .venv/bin/python bench/trust_matrix.py --before ../old --after .

Writes bench/results/trust_matrix.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import trust_cases as tc  # noqa: E402
import trust_cases_provenance as tp  # noqa: E402

#: both adversarial passes: the first (input shapes, signals, models) and the provenance one
CASES = tc.CASES + tp.CASES

TRAIN = """
import sys
from uptake.train import TrainConfig, save, train_file
csv, out = sys.argv[1], sys.argv[2]
for name, cfg in (("lightgbm", TrainConfig(model="lightgbm", seed=0)),
                  ("network", TrainConfig(model="network", preset="seed", epochs=3, seed=0)),
                  ("calibrated", TrainConfig(model="logreg", calibrate="sigmoid", seed=0))):
    save(train_file(csv, cfg), f"{out}/{name}")
"""


def world_for(tree: Path, bank_csv: Path, tmp: Path) -> tc.World:
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    models = tmp / "models"
    models.mkdir()
    subprocess.run([sys.executable, "-c", TRAIN, str(bank_csv), str(models)], check=True, env=env, capture_output=True)
    return tc.World(
        bank_csv,
        models / "lightgbm",
        models / "network",
        models / "calibrated",
        models,
        env={"PYTHONPATH": str(tree / "src")},
    )


def judge(case: tc.Case, world: tc.World, folder: Path) -> dict[str, object]:
    try:
        argv = case.build(world, folder)
        o = tc.run(world, argv, case.signal_after, folder=folder)
    except Exception as exc:
        return {"passed": False, "rc": None, "first": f"(not run: {type(exc).__name__}: {exc})"}
    finally:
        pass
    first = tc.first_line(o)
    problems = []
    if "Traceback" in o.stdout + o.stderr:
        problems.append("traceback")
    if o.rc != case.rc:
        problems.append(f"exit {o.rc}")
    if case.fragment not in first:
        problems.append("wrong words")
    if tc.leftovers(folder):
        problems.append("leftovers")
    if not problems and case.check is not None:
        try:
            case.check(world, folder, o)
        except AssertionError as exc:
            problems.append(f"check: {str(exc)[:60]}")
        except Exception as exc:
            problems.append(f"check: {type(exc).__name__}")
    tc.cleanup()
    shown = first if "Traceback" not in o.stderr else "Traceback: " + (o.stderr.strip().splitlines() or [""])[-1]
    return {"passed": not problems, "rc": o.rc, "first": shown[:160], "problems": problems}


def run_tree(tree: Path, bank_csv: Path) -> dict[str, dict[str, object]]:
    results = {}
    with tempfile.TemporaryDirectory(prefix="uptake-trust-") as tmp:
        world = world_for(tree, bank_csv, Path(tmp))
        for i, case in enumerate(CASES):
            if case.needs_root and os.geteuid() != 0:
                results[case.name] = {"passed": False, "rc": None, "first": "(skipped: needs root)"}
                continue
            folder = Path(tmp) / f"case-{i}"
            folder.mkdir()
            results[case.name] = judge(case, world, folder)
            print(f"  {tree.name}: {case.name}: {'pass' if results[case.name]['passed'] else 'FAIL'}", flush=True)
    return results


def cell(r: dict[str, object]) -> str:
    mark = "pass" if r["passed"] else "FAIL"
    return f"{mark}: exit {r['rc']}, {str(r['first']).replace('|', '/')[:90]}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", type=Path, help="A checkout of the code before (e.g. release 0.1.0).")
    ap.add_argument("--after", type=Path, default=ROOT)
    ap.add_argument(
        "--data", type=Path, default=Path(os.environ.get("UPTAKE_DATA_DIR", ROOT.parent / "shared" / "data"))
    )
    args = ap.parse_args()
    bank_csv = args.data / "Bank_Personal_Loan_Modelling.csv"
    trees = {"after": args.after.resolve()}
    if args.before:
        trees = {"before": args.before.resolve(), **trees}
    results = {name: run_tree(tree, bank_csv) for name, tree in trees.items()}
    print("\n| case | class | " + " | ".join(trees) + " |")
    print("|---|---|" + "---|" * len(trees))
    for case in CASES:
        print(f"| {case.name} | {case.klass} | " + " | ".join(cell(results[t][case.name]) for t in trees) + " |")
    for t in trees:
        passed = sum(r["passed"] for r in results[t].values())
        print(f"{t}: {passed} of {len(CASES)} cases pass")
    out = ROOT / "bench" / "results" / "trust_matrix.json"
    out.write_text(json.dumps({"trees": {k: str(v) for k, v in trees.items()}, "results": results}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
