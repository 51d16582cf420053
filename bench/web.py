"""Viewer latency: the ring page and a neighbourhood expansion under 10 concurrent clients.

Builds a HOME from the synthetic generator (about 200,000 claim lines per unit of
--scale; 5 gives about one million), stores its graph and a run whose rings are
the planted ones (their ring pages materialised first, as ``shabaka run`` does),
serves the viewer on a loopback port and times a bounded number of requests from
client threads. Prints p50 and p95 per request kind, and the login page as a
baseline measured in the same run.

Then drives 10 concurrent clients (threads over loopback, each a bounded list of
requests) over ring pages, neighbourhoods and unknown ids, against the viewer
running in its own process, and prints that process's resident memory after
start-up and its peak (VmHWM) at the end.

With ``--national``, the HOME holds the national 12-week window of ``--data`` (the
files of ``shabaka generate --scale 28.8 --weeks 12``, see bench/scale.py; about 5.8M
lines) and a run of 200 of its planted rings; it prints the time and peak memory of
materialising the ring pages, then ring pages (first and later visits), the ring
API and pages of claim lines under 10 clients, beside the login page and beside the
way ring pages were read before (each ring's lines read from the claims window, one
client) measured in the same run. Neighbourhoods are left out (no graph store is built).

``--home DIR`` keeps the HOME in DIR: built there when it holds no bench run, reused
as it is otherwise (a national HOME takes minutes to build); ``--rewrite-pages`` then
materialises the reused run's ring pages again (timed), as a run of this code would.
``--profile N`` profiles N ring page and ring API requests in this process (Flask's
test client, cProfile) and prints where the time goes, before serving.

    .venv/bin/python bench/web.py --scale 5 --requests 200
    nice -n 10 .venv/bin/python bench/web.py --national --data /work/scale-data/window12
    nice -n 10 .venv/bin/python bench/web.py --national --home /tmp/national-home --rewrite-pages --profile 20
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import http.client
import os
import resource
import pstats
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

# bench/ holds scripts named like the packages (bench/graph.py): import the packages, not them.
sys.path[0] = str(Path(__file__).resolve().parents[1])

import pandas as pd  # noqa: E402

from graph.build import build_graph  # noqa: E402
from graph.store import open_graph_store  # noqa: E402
from ingest.store import ClaimsStore  # noqa: E402
from ingest.synthetic import generate_frames  # noqa: E402
from casework.ringpages import build_ring_pages, pages_path, write_ring_pages  # noqa: E402
from casework.runs import RunStore  # noqa: E402
from export.evidence import ring_claims  # noqa: E402
from web import create_app  # noqa: E402
from web.story import page_story  # noqa: E402
from ground.sqlite import connect  # noqa: E402
from ground.settings import load_settings  # noqa: E402
from casework.users import UserStore  # noqa: E402


def build_home(home: Path, scale: float) -> tuple[list[str], list[str]]:
    """Fill HOME; returns (ring ids, provider node ids to expand)."""
    t0 = time.perf_counter()
    data = generate_frames(scale=scale, weeks=12, seed=3)
    path = home.parent / "claims.parquet"
    data.claims.to_parquet(path, index=False)
    with ClaimsStore(home) as store:
        store.ingest([path])
    settings = load_settings(None, {"SHABAKA_HOME": str(home)})
    graph = open_graph_store(settings)
    graph.write(build_graph(data.claims))
    graph.close()
    members = planted_members(data.labels)
    ring_ids, _ = store_run(home, data.claims, members)
    with UserStore(home) as users:
        users.add("bench", "investigator", "bench-password")
    providers = sorted(members.loc[members.entity_type == "PROVIDER", "entity_id"].unique())
    print(f"home built: {len(data.claims):,} claim lines, {len(ring_ids)} rings in {time.perf_counter() - t0:.1f} s")
    return ring_ids, [f"PROVIDER:{p}" for p in providers]


def planted_members(labels: pd.DataFrame, most: int | None = None) -> pd.DataFrame:
    """The generator's planted rings (the first ``most`` by id) as ring members."""
    labels = labels[labels["ring_id"].fillna("") != ""]
    labels = labels[labels["entity_type"].isin(["PROVIDER", "DOCTOR", "BENEFICIARY"])]
    if most is not None:
        labels = labels[labels["ring_id"].isin(sorted(labels["ring_id"].unique())[:most])]
    return labels.assign(score=1.0, evidence="planted")[
        ["ring_id", "entity_type", "entity_id", "role", "score", "evidence"]].drop_duplicates(
        ["ring_id", "entity_type", "entity_id"]).reset_index(drop=True)


def store_run(home: Path, claims: pd.DataFrame, members: pd.DataFrame,
              providers: pd.DataFrame | None = None) -> tuple[list[str], float]:
    """Materialise the ring pages, then store the run with each ring's amount at risk from them,
    as ``shabaka run`` orders it; (ring ids, seconds spent on the ring pages)."""
    ring_ids = sorted(members["ring_id"].unique())
    rings = pd.DataFrame([{"ring_id": r, "rank": i + 1, "score": 10.0 - i * 0.01,
                           "size": int((members.ring_id == r).sum()), "amount_at_risk": 0.0,
                           "summary": "planted", "scenario": None, "regions": None, "regimes": None}
                          for i, r in enumerate(ring_ids)])
    t0 = time.perf_counter()
    write_ring_pages(home, "bench", kind="detect", claims=claims, rings=rings, members=members, providers=providers,
                     story=page_story)
    seconds = time.perf_counter() - t0
    conn = connect(pages_path(home, "bench"), readonly=True)
    amounts = dict(conn.execute("SELECT ring_id, amount_at_risk FROM pages").fetchall())
    conn.close()
    rings["amount_at_risk"] = rings["ring_id"].map(amounts).round(2)
    with RunStore(home) as runs:
        runs.save_run("bench", kind="detect", version="bench", params={}, batches=[], rings=rings,
                      members=members, entity_scores=pd.DataFrame())
    return ring_ids, seconds


def build_national_home(home: Path, data: Path, rings: int) -> tuple[list[str], pd.DataFrame]:
    """Fill HOME with the national window of ``data`` and a run of ``rings`` planted rings; (ring ids, members)."""
    t0 = time.perf_counter()
    with ClaimsStore(home) as store:
        store.ingest([data / "claims.csv.gz"], providers=data / "providers.csv")
        print(f"ingested in {time.perf_counter() - t0:.0f} s", flush=True)
        claims = store.claims(encoded=True)
        providers = store.providers()
    members = planted_members(pd.read_csv(data / "labels.csv", dtype=str, keep_default_na=False), rings)
    print(f"window: {len(claims):,} claim lines, {members['ring_id'].nunique()} rings, "
          f"{len(members):,} members", flush=True)
    ring_ids, seconds = store_run(home, claims, members, providers)
    del claims
    gc.collect()
    size = pages_path(home, "bench").stat().st_size
    print(f"ring pages materialised in {seconds:.1f} s ({size / 2**20:.0f} MiB file); bench process peak "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB (ingest, window, pages)", flush=True)
    with UserStore(home) as users:
        users.add("bench", "investigator", "bench-password")
    return ring_ids, members


def reuse_home(home: Path, rewrite: bool) -> tuple[list[str], pd.DataFrame]:
    """(ring ids, members) of the bench run a kept HOME holds; its ring pages written again when ``rewrite``."""
    with RunStore(home) as runs:
        members = runs.members("bench")
    ring_ids = sorted(members["ring_id"].unique())
    print(f"home reused: {home} ({len(ring_ids)} rings, {len(members):,} members)", flush=True)
    if rewrite:
        t0, cpu0 = time.perf_counter(), time.process_time()
        build_ring_pages(home, "bench", story=page_story)
        size = pages_path(home, "bench").stat().st_size
        print(f"ring pages written again in {time.perf_counter() - t0:.1f} s ({time.process_time() - cpu0:.1f} s "
              f"CPU, {size / 2**20:.0f} MiB file, window read included); bench process peak "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB", flush=True)
    return ring_ids, members


def profile(home: Path, ring_ids: list[str], n: int) -> None:
    """Profile ``n`` ring page and ``n`` ring API requests in this process; print the top functions."""
    app = create_app({"SHABAKA_SETTINGS": load_settings(None, {"SHABAKA_HOME": str(home)}),
                      "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    if client.post("/login", data={"name": "bench", "password": "bench-password"}).status_code != 302:
        raise RuntimeError("login failed")
    client.get(f"/rings/{ring_ids[0]}")  # templates compiled, imports done
    for kind, path in (("ring page", "/rings/{}"), ("ring API", "/api/rings/{}")):
        profiler = cProfile.Profile()
        t0 = time.perf_counter()
        profiler.enable()
        for i in range(n):
            response = client.get(path.format(ring_ids[i % len(ring_ids)]))
            if response.status_code != 200:
                raise RuntimeError(f"{kind}: HTTP {response.status_code}")
        profiler.disable()
        print(f"{kind}: {(time.perf_counter() - t0) / n * 1000:.1f} ms a request in one thread "
              f"(profiled, {n} requests)", flush=True)
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(25)


def old_way(home: Path, members: pd.DataFrame, ring_ids: list[str]) -> list[float]:
    """Seconds per ring to read its lines from the claims window, as ring pages did before they were
    materialised (one client, in this process): the baseline of the ring page's first visit."""
    times = []
    with ClaimsStore(home) as store:
        for rid in ring_ids:
            own = members[members["ring_id"] == rid]
            t0 = time.perf_counter()
            ids = {t: set(own.loc[own["entity_type"] == t, "entity_id"]) for t in ("PROVIDER", "DOCTOR", "BENEFICIARY")}
            practitioners = ids["PROVIDER"] | ids["DOCTOR"]
            lines = store.claims(any_of={"provider_id": practitioners, "doctor_id": practitioners,
                                         "beneficiary_id": ids["BENEFICIARY"]})
            ring_claims(lines, own, at_risk=False)
            times.append(time.perf_counter() - t0)
    return times


def login(port: int) -> str:
    """Sign in like a browser (the login form needs its CSRF token); returns the session cookie."""
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request("GET", "/login")
    response = conn.getresponse()
    page = response.read().decode("utf-8")
    cookie = response.getheader("Set-Cookie").split(";")[0]
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    conn.request("POST", "/login", body=urlencode({"name": "bench", "password": "bench-password",
                                                   "csrf_token": token}),
                 headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    response = conn.getresponse()
    response.read()
    if response.status != 302:
        raise RuntimeError(f"login failed: HTTP {response.status}")
    conn.close()
    # The session cookie, not the device cookie set beside it.
    return next(value.split(";")[0] for key, value in response.getheaders()
                if key.lower() == "set-cookie" and value.startswith("session="))


def timed(port: int, cookie: str, paths: list[str], clients: int, expect: int = 200) -> list[float]:
    """Send ``paths`` from ``clients`` threads (one keep-alive connection each); seconds per request."""
    local = threading.local()

    def one(path: str) -> float:
        if not hasattr(local, "conn"):
            local.conn = http.client.HTTPConnection("127.0.0.1", port)
        t0 = time.perf_counter()
        local.conn.request("GET", path, headers={"Cookie": cookie})
        response = local.conn.getresponse()
        response.read()
        if response.status != expect:
            raise RuntimeError(f"{path[:80]}: HTTP {response.status}, expected {expect}")
        return time.perf_counter() - t0
    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(one, paths))


def report(name: str, times: list[float]) -> None:
    ms = sorted(t * 1000 for t in times)
    p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
    print(f"{name:34} n={len(ms):4}  p50 {statistics.median(ms):8.1f} ms  p95 {p95:8.1f} ms", flush=True)


# The viewer in its own process, as `shabaka serve` runs it, so its peak memory is its own.
SERVER = """
import logging, sys
from werkzeug.serving import make_server
from ground.settings import load_settings
from web import create_app
logging.getLogger("werkzeug").setLevel(logging.WARNING)
app = create_app({"SHABAKA_SETTINGS": load_settings(None, {"SHABAKA_HOME": sys.argv[1]})})
server = make_server("127.0.0.1", 0, app, threaded=True)
print(server.server_port, flush=True)
server.serve_forever()
"""


def rss_mib(pid: int, field: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of a process, in MiB."""
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":")) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=5.0, help="generator scale (5 ~ one million lines)")
    parser.add_argument("--requests", type=int, default=200, help="requests per kind")
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--national", action="store_true", help="the national 12-week window of --data instead")
    parser.add_argument("--data", type=Path, default=Path("/work/scale-data/window12"),
                        help="with --national: folder of claims.csv.gz, providers.csv, labels.csv")
    parser.add_argument("--rings", type=int, default=200, help="with --national: planted rings in the run")
    parser.add_argument("--old-rings", type=int, default=10, help="with --national: rings read the old way")
    parser.add_argument("--home", type=Path, help="keep the HOME here: built when it holds no bench run, else reused")
    parser.add_argument("--rewrite-pages", action="store_true", help="with a reused --home: write its pages again")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="profile N ring page and ring API requests in this process first")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = args.home.resolve() if args.home else Path(tmp) / "home"
        if args.home and (home / "ringpages" / "bench.sqlite").is_file():
            ring_ids, members = reuse_home(home, args.rewrite_pages)
            nodes = [f"PROVIDER:{p}" for p in sorted(members.loc[members.entity_type == "PROVIDER", "entity_id"]
                                                     .unique())] if not args.national else []
        elif args.national:
            ring_ids, members = build_national_home(home, args.data, args.rings)
            nodes = []
        else:
            ring_ids, nodes = build_home(home, args.scale)
        if args.profile:
            profile(home, ring_ids, args.profile)
        root = str(Path(__file__).resolve().parents[1])
        server = subprocess.Popen([sys.executable, "-c", SERVER, str(home)], stdout=subprocess.PIPE, text=True,
                                  cwd=root, env={**os.environ, "PYTHONPATH": root})
        try:
            port = int(server.stdout.readline())
            cookie = login(port)
            print(f"server pid {server.pid}: {rss_mib(server.pid, 'VmRSS'):.0f} MiB resident after start-up, "
                  f"{args.clients} clients", flush=True)
            n = args.requests
            report("login page (baseline)", timed(port, cookie, ["/login"] * n, args.clients))
            ring_paths = [f"/rings/{ring_ids[i % len(ring_ids)]}" for i in range(n)]
            report("ring page, first visits", timed(port, cookie, ring_paths[:len(ring_ids)], args.clients))
            report("ring page", timed(port, cookie, ring_paths, args.clients))
            api_paths = [f"/api/rings/{r[len('/rings/'):]}" for r in ring_paths]
            if args.national:
                report("ring graph API, first visits", timed(port, cookie, api_paths[:len(ring_ids)], args.clients))
            report("ring graph API", timed(port, cookie, api_paths, args.clients))
            report("ring claim lines, page 3 of 25", timed(
                port, cookie, [f"{p}/claims?page=3&size=25" for p in api_paths], args.clients))
            if args.national:
                print(f"server peak resident memory (VmHWM): {rss_mib(server.pid, 'VmHWM'):.0f} MiB", flush=True)
                report("ring page data the old way (claims window read, 1 client, before)",
                       old_way(home, members, ring_ids[:args.old_rings]))
                return
            nb = [f"/api/entities/{nodes[i % len(nodes)]}/neighbourhood?limit=50" for i in range(n)]
            report("neighbourhood expansion", timed(port, cookie, nb, args.clients))
            report("neighbourhood, 3 hops, 2000 edges", timed(
                port, cookie, [p.replace("limit=50", "hops=3&limit=2000") for p in nb[:max(n // 4, 1)]], args.clients))
            unknown = [f"/api/entities/PROVIDER:NOPE-{i}/neighbourhood?hops=3&limit=2000" for i in range(n)]
            report("neighbourhood, unknown id (404)", timed(port, cookie, unknown, args.clients, expect=404))
            report("entity page, unknown id (404)",
                   timed(port, cookie, [f"/entities/DOCTOR:NOPE-{i}" for i in range(n)], args.clients, expect=404))
            mixed = [p for group in zip(ring_paths, nb, unknown) for p in group]
            statuses = {p: (404 if "NOPE" in p else 200) for p in mixed}
            times = []
            for expect in (200, 404):
                times += timed(port, cookie, [p for p in mixed if statuses[p] == expect], args.clients, expect=expect)
            report("mixed", times)
            print(f"server peak resident memory (VmHWM): {rss_mib(server.pid, 'VmHWM'):.0f} MiB", flush=True)
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
