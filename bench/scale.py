"""National scale: each step of a run with its seconds and peak memory, beside pyarrow and DuckDB.

Generates once (or reuses) the synthetic national data under ``--data`` (outside the
repository): the national week (``--scale 2.1 --weeks 1``, ~430k lines), the national
12-week window (``--scale 28.8 --weeks 12``, the same country as the year, ~5.6M lines)
and, with ``--year``, the national year (``--scale 125 --weeks 52``, ~23M lines).

For each data set, one child process runs the steps in turn on one claims store
(providers file, ingest of the claims file, load, each detection step, findings files,
graph store), resetting the kernel's peak-RSS mark before each step, so a step's peak
is the most the process held during it. Beside them the same child times two references on the same data: pyarrow's raw
CSV read of the claims file (for ingest) and a pyarrow read of the window's Parquet,
and a DuckDB group-by of the window's Parquet to a provider x beneficiary edge list.
Ratios are step seconds over reference seconds (ingest: pyarrow's rate over ours, so
1.0 means as fast as pyarrow). Then the end-to-end command is timed as a user runs it:
``shabaka run`` on a fresh HOME whose inbox holds the claims (week, window), or
``shabaka detect`` over the stored year.

    .venv/bin/python bench/scale.py [--data /work/scale-data] [--sets week window12] [--year]
        [--label after] [--baseline /work/scale-data/results-before.json] [--no-e2e] [--store-only]
        [--reuse-store] [--detect-only]

``--reuse-store`` keeps the claims store a previous run of the steps ingested (HOME
``home-steps`` or ``home-store`` under the set's folder) instead of ingesting again: the
ingest step is then left out and the rest reads the same store. ``--detect-only`` leaves
out the graph store and the ring page's read (the detection side's measurement).

Peak RSS figures are per process (the child's, or the command's); nothing else of
the machine is counted. DuckDB is a bench-only reference (``pip install duckdb``);
without it that column is left empty.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path

# bench/ holds scripts named like the packages (bench/graph.py): import the packages, not them.
sys.path[0] = str(Path(__file__).resolve().parents[1])

#: name -> (scale, weeks, window weeks of the run)
SETS = {"week": (2.1, 1, 1), "window12": (28.8, 12, 12), "year": (125.0, 52, 52)}
SHABAKA = str(Path(sys.executable).with_name("shabaka"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("/work/scale-data"))
    ap.add_argument("--sets", nargs="+", default=["week", "window12"], choices=sorted(SETS))
    ap.add_argument("--year", action="store_true", help="also the national year (23M lines; minutes to generate)")
    ap.add_argument("--label", default="run", help="name of this measurement, saved as results-LABEL.json")
    ap.add_argument("--baseline", type=Path, help="an earlier results JSON to print before/after ratios against")
    ap.add_argument("--no-e2e", action="store_true", help="skip the end-to-end shabaka run/detect")
    ap.add_argument("--no-steps", action="store_true", help="skip the per-step child")
    ap.add_argument("--store-only", action="store_true",
                    help="only the store's steps (ingest, load, graph store without intermediaries), in HOME "
                         "home-store, beside the references: minutes instead of the detection's hour on a busy machine")
    ap.add_argument("--reuse-store", action="store_true",
                    help="keep the claims store an earlier run ingested (the ingest step is left out)")
    ap.add_argument("--detect-only", action="store_true",
                    help="leave out the graph store and the ring page's read (detection's steps only)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--ref", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(_steps(args.data, args.child, store_only=args.store_only, reuse=args.reuse_store,
                                detect_only=args.detect_only)))
        return 0
    if args.ref:
        print(json.dumps(_reference(**json.loads(args.ref))))
        return 0
    sets = list(dict.fromkeys(args.sets + (["year"] if args.year else [])))
    args.data.mkdir(parents=True, exist_ok=True)
    baseline = json.loads(args.baseline.read_text()) if args.baseline else {}
    results: dict[str, dict] = {}
    for name in sets:
        _generate(args.data, name)
        out: dict = {}
        if not args.no_steps:
            flags = [f for f, on in (("--store-only", args.store_only), ("--reuse-store", args.reuse_store),
                                      ("--detect-only", args.detect_only)) if on]
            child = subprocess.run([sys.executable, __file__, "--data", str(args.data), "--child", name, *flags],
                                   stdout=subprocess.PIPE, text=True)
            if child.returncode:
                raise SystemExit(f"{name}: the step child failed ({child.returncode})")
            out.update(json.loads(child.stdout.strip().splitlines()[-1]))
        if not args.no_e2e:
            out["e2e"] = _end_to_end(args.data, name)
        results[name] = out
        _print(name, out, baseline.get(name))
    saved = args.data / f"results-{args.label}.json"
    merged = json.loads(saved.read_text()) if saved.exists() else {}
    merged.update(results)
    saved.write_text(json.dumps(merged, indent=2))
    print(f"saved {saved}")
    return 0


def _generate(data: Path, name: str) -> None:
    folder = data / name
    if (folder / "claims.csv.gz").exists() and (folder / "providers.csv").exists():
        return
    scale, weeks, _ = SETS[name]
    print(f"generating {name} (--scale {scale} --weeks {weeks}) into {folder}", flush=True)
    subprocess.run([SHABAKA, "generate", "--out", str(folder), "--scale", str(scale), "--weeks", str(weeks),
                    "--seed", "0", "--quiet"], check=True)


class _Meter:
    """Seconds and peak RSS of named steps of this process (Linux: VmHWM reset through clear_refs)."""

    def __init__(self) -> None:
        self.steps: dict[str, dict] = {}

    @contextmanager
    def __call__(self, name: str):
        _reset_peak()
        t0, c0 = time.perf_counter(), time.process_time()
        yield
        self.steps[name] = {"seconds": round(time.perf_counter() - t0, 3), "cpu": round(time.process_time() - c0, 3),
                            "peak_mb": _status("VmHWM"), "rss_after_mb": _status("VmRSS")}
        print(f"  {name}: {self.steps[name]}", file=sys.stderr, flush=True)


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _status(key: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def _steps(data: Path, name: str, *, store_only: bool = False, reuse: bool = False,
           detect_only: bool = False) -> dict:
    """Run in a child: every step on one store, and the references."""
    from detectors.io import write_findings
    from detectors.pipeline import detect
    from graph.build import graph_parts
    from graph.sqlite_store import SqliteGraphStore
    from ingest.store import ClaimsStore
    from shabaka.weekly import week_window

    folder = data / name
    home = folder / ("home-store" if store_only else "home-steps")
    reuse = reuse and (home / "claims").is_dir()
    if not reuse:
        shutil.rmtree(home, ignore_errors=True)
    meter = _Meter()
    store = ClaimsStore(home)
    if reuse:
        read = int(store.loads()["read"].sum())
    else:
        # the providers file first, in a step of its own: "ingest" is the claims file, what pyarrow's read is of
        with meter("providers"):
            store.ingest([], providers=folder / "providers.csv")
        with meter("ingest"):
            read = int(store.ingest([folder / "claims.csv.gz"]).to_dict()["read"])
    batches = store.batches()
    last = date.fromisoformat(str(batches["max_service_date"].max())[:10]).isocalendar()
    start, end = week_window(last.year, last.week, SETS[name][2])
    files = [str(p) for p in store.files(start, end)]
    all_parts = store.files()
    # Each reference in a process of its own, so Arrow's memory pool of one never counts in another.
    kinds = ("pyarrow_read", "duckdb_groupby") if reuse else ("pyarrow_csv", "pyarrow_read", "duckdb_groupby")
    refs = {kind: _in_child(kind, csv=str(folder / "claims.csv.gz"), files=files, start=start.isoformat(),
                            end=end.isoformat())
            for kind in kinds}
    with meter("load"):
        claims = store.claims(start, end, encoded=True)
    result = None if store_only else detect(claims, step=meter)
    if result is not None:
        with meter("findings"):
            with tempfile.TemporaryDirectory(dir=folder) as tmp:
                write_findings(result, Path(tmp) / "findings")
    out = {"lines": read, "window": [start.isoformat(), end.isoformat()], "window_lines": len(claims),
           "refs": refs, "steps": meter.steps, "rings": None if result is None else len(result.rings),
           "reused_store": reuse}
    if detect_only:
        store.close()
        return out
    with meter("graph_store"):
        embedded = SqliteGraphStore(home)
        n_nodes, n_edges = embedded.write_parts(graph_parts(
            claims, intermediaries=None if result is None else result.intermediaries))
        embedded.close()
    ring = _ring_providers(result) if result is not None else _busiest_providers(claims)
    with meter("ring_lines"):
        lines = store.claims(start, end, any_of={"provider_id": ring})
    store.close()
    out.update({"graph": {"nodes": n_nodes, "edges": n_edges},
                "parts": {"all": len(all_parts), "window": len(files), "row_groups_window": _row_groups(files),
                          "ring_providers": len(ring), "ring_lines": len(lines),
                          "row_groups_ring": _row_groups(files, provider_ids=ring)}})
    return out


def _ring_providers(result) -> list[str]:
    """The providers of the top ring (what a ring page reads first)."""
    members = result.members
    if not len(members):
        return []
    top = members[members["ring_id"] == result.rings["ring_id"].iloc[0]]
    return sorted(top.loc[top["entity_type"] == "PROVIDER", "entity_id"].astype(str))


def _busiest_providers(claims) -> list[str]:
    """Without detection: the five providers with most lines stand in for a ring's."""
    return sorted(claims["provider_id"].value_counts().head(5).index.astype(str))


def _row_groups(files: list[str], provider_ids: list[str] | None = None) -> int:
    """Row groups in ``files``, or those whose provider_id statistics may hold one of ``provider_ids``."""
    import pyarrow.parquet as pq

    total = 0
    for path in files:
        meta = pq.ParquetFile(path).metadata
        column = meta.schema.to_arrow_schema().get_field_index("provider_id")
        for i in range(meta.num_row_groups):
            if provider_ids is None:
                total += 1
                continue
            stats = meta.row_group(i).column(column).statistics
            if stats is None or not stats.has_min_max or any(stats.min <= p <= stats.max for p in provider_ids):
                total += 1
    return total


def _in_child(kind: str, **kwargs) -> dict | None:
    child = subprocess.run([sys.executable, __file__, "--ref", json.dumps({"kind": kind, **kwargs})],
                           stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(child.stdout.strip().splitlines()[-1])


def _reference(kind: str, csv: str, files: list[str], start: str, end: str) -> dict | None:
    """Wall and CPU seconds (all threads) of one reference: pyarrow's CSV read, pyarrow's Parquet read,
    DuckDB's group-by."""
    import pyarrow.csv as pacsv
    import pyarrow.dataset as pads

    first, last = date.fromisoformat(start), date.fromisoformat(end)
    t0, c0 = time.perf_counter(), time.process_time()
    if kind == "pyarrow_csv":
        pacsv.read_csv(csv)
    elif kind == "pyarrow_read":
        pads.dataset(files, format="parquet").to_table(
            filter=(pads.field("service_date") >= first) & (pads.field("service_date") <= last))
    else:
        try:
            import duckdb
        except ImportError:
            return None
        con = duckdb.connect()
        t0, c0 = time.perf_counter(), time.process_time()
        con.sql("SELECT provider_id, beneficiary_id, count(*) AS n, sum(amount_claimed) AS amount "
                f"FROM read_parquet({files!r}) WHERE service_date BETWEEN DATE '{first}' AND DATE '{last}' "
                "GROUP BY ALL").to_arrow_table()
        out = {"seconds": round(time.perf_counter() - t0, 3), "cpu": round(time.process_time() - c0, 3)}
        con.close()
        return out
    return {"seconds": round(time.perf_counter() - t0, 3), "cpu": round(time.process_time() - c0, 3)}


def _end_to_end(data: Path, name: str) -> dict:
    """``shabaka run`` on a fresh HOME (week, window) or ``shabaka detect`` over the stored year."""
    folder = data / name
    window = SETS[name][2]
    if name == "year":
        home = folder / "home-steps"
        if not (home / "claims").exists():
            return {"skipped": "no stored year (run the steps first)"}
        out = Path(tempfile.mkdtemp(dir=folder))
        cmd = [SHABAKA, "--home", str(home), "detect", "--out", str(out / "findings")]
    else:
        home = folder / "home-e2e"
        shutil.rmtree(home, ignore_errors=True)
        (home / "inbox").mkdir(parents=True)
        os.link(folder / "claims.csv.gz", home / "inbox" / "claims.csv.gz")
        out = None
        cmd = [SHABAKA, "--home", str(home), "run", "--quiet", "--window-weeks", str(window),
               "--providers", str(folder / "providers.csv")]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = round(time.perf_counter() - t0, 2)
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace")[-2000:]
    proc.stderr.close()
    if out is not None:
        shutil.rmtree(out, ignore_errors=True)
    result = {"command": cmd[3], "exit": proc.returncode, "seconds": seconds,
              "cpu": round(usage.ru_utime + usage.ru_stime, 2), "peak_mb": round(usage.ru_maxrss / 1024, 1)}
    if proc.returncode not in (0, 3):
        result["stderr"] = err
    return result


def _print(name: str, out: dict, before: dict | None) -> None:
    print(f"\n== {name}: {out.get('lines') or 0:,} lines in the file"
          + (f", {out.get('window_lines', 0):,} in the window {out['window'][0]}..{out['window'][1]}"
             if "window" in out else ""))
    refs = {k: v if isinstance(v, dict) or v is None else {"seconds": v} for k, v in out.get("refs", {}).items()}
    if refs:
        print("references: " + ", ".join(f"{k} {v['seconds']} s ({v.get('cpu', '-')} CPU s)"
                                         for k, v in refs.items() if v is not None))
    print("ratios: wall seconds over the reference's, then CPU seconds over its CPU seconds (steadier on a shared "
          "machine); ingest: the reference's time over ingest's, i.e. ingest's rate as a fraction of pyarrow's")
    header = (f"{'step':<16}{'seconds':>9}{'cpu s':>8}{'peak MB':>9}{'x pyarrow':>11}{'(cpu)':>7}"
              f"{'x duckdb':>10}{'(cpu)':>7}")
    if before:
        header += f"{'before s':>10}{'before MB':>11}{'speed-up':>10}"
    print(header)
    for step, m in out.get("steps", {}).items():
        if step == "ingest":
            ref, inverse = refs.get("pyarrow_csv"), True
        else:
            ref, inverse = refs.get("pyarrow_read"), False
        duck = None if step == "ingest" else refs.get("duckdb_groupby")
        row = (f"{step:<16}{m['seconds']:>9.2f}{m.get('cpu', float('nan')):>8.2f}{m['peak_mb']:>9.0f}"
               f"{_ratio(m, ref, 'seconds', inverse):>11}{_ratio(m, ref, 'cpu', inverse):>7}"
               f"{_ratio(m, duck, 'seconds', False):>10}{_ratio(m, duck, 'cpu', False):>7}")
        old = (before or {}).get("steps", {}).get(step)
        if old:
            row += f"{old['seconds']:>10.2f}{old['peak_mb']:>11.0f}{old['seconds'] / max(m['seconds'], 1e-3):>9.1f}x"
        print(row)
    parts = out.get("parts")
    if parts:
        whose = "the top ring's" if out.get("rings") is not None else "the 5 busiest"
        print(f"store: {parts['all']} month parts, {parts['window']} in the window ({parts['row_groups_window']} row "
              f"groups); {whose} {parts['ring_providers']} providers: {parts['ring_lines']:,} lines in "
              f"{parts['row_groups_ring']} row group(s)")
    e2e = out.get("e2e")
    if e2e:
        line = f"end to end: shabaka {e2e['command']}: {e2e.get('seconds')} s ({e2e.get('cpu', '-')} CPU s), " \
               f"peak {e2e.get('peak_mb')} MB, exit {e2e.get('exit')}"
        old = (before or {}).get("e2e")
        if old and old.get("seconds"):
            line += f" (before {old['seconds']} s, {old['peak_mb']} MB)"
        print(line)
        if e2e.get("stderr"):
            print(e2e["stderr"])


def _ratio(step: dict, ref: dict | None, key: str, inverse: bool) -> str:
    """step / reference (or reference / step for a rate), formatted; '-' when either is missing."""
    if not ref or not ref.get(key) or not step.get(key):
        return "-"
    value = ref[key] / step[key] if inverse else step[key] / ref[key]
    return f"{value:.2f}" if inverse else f"{value:.1f}"


if __name__ == "__main__":
    raise SystemExit(main())
