"""Build time and peak memory of the claims graph, and sparse projection against networkx.

Claims-shaped input is generated in-script with numpy (patients ~ lines/4, households
~ patients/2.5, providers ~ lines/500, dossiers ~ lines/2.5, phones per household,
proximity points of ~1,500 households, a few recruiters), then each step runs in a
fresh child process whose peak resident memory is reset before the step, so the
figure is what the step itself adds. With ``--against REV`` each step also runs the
``ingest``/``graph`` code of that git revision on the same claims, in turn (never at once,
so both see the same machine), and prints the ratios of time and peak memory.

Usage: ``.venv/bin/python bench/graph.py [--lines 1000000 10000000] [--compare-lines 200000]
[--steps build_graph] [--against REV]``
"""

from __future__ import annotations

import argparse
import io
import multiprocessing as mp
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

# bench/graph.py would shadow the ``graph`` package when run as a script
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402


def claims_like(n_lines: int, seed: int = 0) -> pd.DataFrame:
    """Contract-shaped claims with realistic cardinalities, built column-wise."""
    from ingest.schema import CLAIM_DTYPES, ENUMS

    rng = np.random.default_rng(seed)
    n_patients = max(n_lines // 4, 100)
    n_households = max(int(n_patients / 2.5), 50)
    n_providers = max(n_lines // 500, 100)
    n_dossiers = max(int(n_lines / 2.5), 10)
    dossier = np.sort(rng.integers(0, n_dossiers, n_lines))
    patient_of_dossier = rng.integers(0, n_patients, n_dossiers)
    patient = patient_of_dossier[dossier]
    household = (patient * 2) // 5
    # patients mostly go to a few providers near them: skewed, not uniform
    provider = (patient * 7 + rng.zipf(1.6, n_lines)) % n_providers
    day = rng.integers(0, 84, n_dossiers)[dossier]
    point = household // 1500
    recruited = rng.random(n_households) < 0.002
    phone = np.where(recruited[household], n_households + household % (n_households // 4000 + 1), household)
    family = rng.integers(0, len(ENUMS["act_family"]), n_lines)

    def ids(prefix: str, values: np.ndarray, missing: np.ndarray | None = None) -> pd.Series:
        arr = pc.binary_join_element_wise(prefix, pc.cast(pa.array(values), pa.string()), "")
        if missing is not None:
            arr = pc.if_else(pa.array(missing), pa.scalar(None, pa.string()), arr)
        return pd.Series(arr.to_pandas(types_mapper=pd.ArrowDtype)).astype("string")

    frame = pd.DataFrame({
        "claim_id": ids("C", dossier),
        "line_no": np.ones(n_lines, dtype=np.int64),
        "beneficiary_id": ids("B", patient),
        "household_id": ids("B", household * 5 // 2),
        "regime": pd.Series(np.array(ENUMS["regime"])[patient % 5]).astype("string"),
        "provider_id": ids("P", provider),
        "provider_type": pd.Series(np.array(ENUMS["provider_type"])[provider % 7]).astype("string"),
        "provider_region": pd.Series(np.array([f"{r:02d}" for r in range(1, 13)])[provider % 12]).astype("string"),
        "doctor_id": ids("D", provider // 2, missing=rng.random(n_lines) < 0.3),
        "act_code": pd.Series(["C"] * 1).repeat(n_lines).reset_index(drop=True).astype("string"),
        "act_family": pd.Series(np.array(ENUMS["act_family"])[family]).astype("string"),
        "quantity": np.ones(n_lines, dtype=np.int64),
        "service_date": (np.datetime64("2025-01-06") + day.astype("timedelta64[D]")).astype("datetime64[ns]"),
        "amount_claimed": np.round(rng.gamma(2.0, 150.0, n_lines), 2),
        "prior_auth_id": ids("PA", dossier, missing=family != 1),
        "channel": pd.Series(np.array(ENUMS["channel"])[household % 4]).astype("string"),
        "submission_point_id": ids("SP", point),
        "contact_phone": ids("T", phone, missing=household % 14 == 0),
        "payee_account": ids("R", household, missing=household % 3 != 0),
    })
    frame["submission_date"] = frame["service_date"]
    for column, dtype in CLAIM_DTYPES.items():
        if column not in frame:
            frame[column] = pd.Series(pd.NA if dtype in ("string", "Int64", "boolean") else np.nan,
                                      index=frame.index, dtype=dtype)
    return frame[list(CLAIM_DTYPES)]


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    return 0


_HERE = Path(__file__).resolve().parent


def checkout(revision: str, into: Path) -> Path:
    """The ``ingest``, ``graph`` and ``shabaka`` packages of a git revision, extracted under ``into``."""
    archive = subprocess.run(["git", "archive", "--format=tar", revision, "ingest", "graph", "shabaka"],
                             cwd=_HERE.parent, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def _step(name: str, n_lines: int, queue, code: Path | None = None) -> None:
    if code is not None:
        # ahead of the editable install, so every package imported below is the revision's
        sys.path.insert(0, str(code))
    claims = claims_like(n_lines)
    before = _rss_kib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
    began = time.perf_counter()
    if name == "build_graph":
        from graph.build import build_graph

        result = build_graph(claims)
        size = f"{len(result.nodes):,} nodes, {len(result.edges):,} edges"
    elif name == "infer_intermediaries":
        from graph.intermediaries import infer_intermediaries

        result = infer_intermediaries(claims)
        size = f"{len(result.table):,} intermediaries"
    else:
        from graph.projections import provider_projection

        result = provider_projection(claims)
        size = f"{len(result):,} provider pairs"
    elapsed = time.perf_counter() - began
    queue.put((elapsed, (_rss_kib("VmHWM") - before) / 1024, size))


def _measure(name: str, n_lines: int, code: Path | None = None) -> tuple[float, float, str]:
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_step, args=(name, n_lines, queue, code))
    child.start()
    out = queue.get()
    child.join()
    return out


def compare_projection(n_lines: int) -> None:
    """provider_projection against networkx's weighted_projected_graph on the same claims."""
    import networkx as nx
    from networkx.algorithms import bipartite

    from graph.projections import provider_projection

    claims = claims_like(n_lines, seed=1)
    began = time.perf_counter()
    ours = provider_projection(claims)
    sparse_s = time.perf_counter() - began
    began = time.perf_counter()
    pairs = claims[["beneficiary_id", "provider_id"]].drop_duplicates()
    B = nx.Graph()
    providers = ["P:" + p for p in pairs["provider_id"].unique()]
    B.add_nodes_from(providers, bipartite=1)
    B.add_edges_from(zip("B:" + pairs["beneficiary_id"], "P:" + pairs["provider_id"]))
    built_s = time.perf_counter() - began
    began = time.perf_counter()
    reference = bipartite.weighted_projected_graph(B, providers)
    project_s = time.perf_counter() - began
    assert reference.number_of_edges() == len(ours)
    print(f"projection at {n_lines:,} lines ({len(ours):,} provider pairs): scipy.sparse {sparse_s:.2f} s; "
          f"networkx {project_s:.2f} s projection + {built_s:.2f} s building the bipartite graph; "
          f"ratio networkx/sparse {project_s / sparse_s:.0f}x (projection), "
          f"{(project_s + built_s) / sparse_s:.0f}x (with building)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--compare-lines", type=int, default=200_000)
    parser.add_argument("--steps", nargs="+", default=["build_graph", "provider_projection", "infer_intermediaries"])
    parser.add_argument("--against", metavar="REV", help="also run each step with the code of this git revision")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        old = checkout(args.against, Path(tmp) / "against") if args.against else None
        for n_lines in args.lines:
            for step in args.steps:
                elapsed, peak_mib, size = _measure(step, n_lines)
                print(f"{step:22} {n_lines:>12,} lines: {elapsed:7.1f} s, peak +{peak_mib:,.0f} MiB ({size})",
                      flush=True)
                if old is not None:
                    o_elapsed, o_peak, o_size = _measure(step, n_lines, old)
                    print(f"{'  at ' + args.against:22} {n_lines:>12,} lines: {o_elapsed:7.1f} s, "
                          f"peak +{o_peak:,.0f} MiB ({o_size}); now/then: time {elapsed / o_elapsed:.2f}x, "
                          f"peak {peak_mib / max(o_peak, 1e-9):.2f}x", flush=True)
    if args.compare_lines:
        compare_projection(args.compare_lines)


if __name__ == "__main__":
    main()
