#!/usr/bin/env python3
"""Run several PINCER engines on one extract, check they agree exactly, and time them.

    compare.py --data DIR --index-date 2020-03-01 [--index-date ...] [--months FIRST:LAST]
               [--engines rxscan,duckdb,polars] [--repeat N] [--patient-level] ...

Each engine is a command that writes summary.csv (DATA-CONTRACT). Every engine's per-practice
numerators and denominators must be identical for every measure, practice and index date;
composites.csv (and patients.csv with --patient-level) are compared too when every engine wrote
one. On any disagreement the first differences are printed and the exit status is 1.

Each run is measured with GNU time (`/usr/bin/time -v`): wall clock and maximum resident set size,
reported with ratios to the first engine that ran. Built-in engines:
  rxscan  `rxscan scan --rules rules/pincer --data DIR --index-date D ... --out OUTDIR`, run from the
          repository root; binary from --rxscan, else target/release/rxscan, else PATH. Skipped with
          a warning when it is not built, unless it was named in --engines.
  duckdb  pincer_duckdb.py (DuckDB SQL, pincer.sql)
  polars  pincer_polars.py (polars lazy query)
  reference  pincer_reference.py (slow pure-Python oracle for small test extracts; not in the default list)
More with --engine NAME='COMMAND', a template with {data} {codelists} {outdir} {dates} {format}
({dates} expands to `--index-date D` for each date).
Exit status: 0 all agree, 1 disagreement or a failed engine, 2 bad usage or setup.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
DEFAULT_CODELISTS = os.path.join(REPO, "rules", "pincer", "codelists")
TIME = "/usr/bin/time"
MEASURES = ("a", "b", "c", "d", "e", "f", "g", "i", "k", "ac", "me_no_fbc", "me_no_lft", "li", "am")

SUMMARY_HEADER = ["index_date", "practice_pseudo_id", "measure", "numerator", "denominator", "rate"]
COMPOSITES_HEADER = ["index_date", "practice_pseudo_id", "composite", "denominator", "n_numerators", "patients"]
PATIENTS_HEADER = ["index_date", "patient_id", "practice_pseudo_id", "measure", "numerator"]


def die(msg: str, code: int = 2) -> None:
    print(f"compare: error: {msg}", file=sys.stderr)
    sys.exit(code)


def peer_python() -> str:
    venv = os.path.join(HERE, ".venv", "bin", "python")
    return venv if os.path.exists(venv) else sys.executable


def find_rxscan(explicit: str | None) -> str | None:
    if explicit:
        return explicit if os.path.exists(explicit) or shutil.which(explicit) else None
    for cand in (os.path.join(REPO, "target", "release", "rxscan"),):
        if os.access(cand, os.X_OK):
            return cand
    return shutil.which("rxscan")


def months(spec: str) -> list[dt.date]:
    first, _, last = spec.partition(":")
    a, b = dt.date.fromisoformat(first), dt.date.fromisoformat(last or first)
    if a.day != 1 or b.day != 1:
        die("--months takes first-of-month dates")
    out = []
    while a <= b:
        out.append(a)
        a = dt.date(a.year + (a.month == 12), a.month % 12 + 1, 1)
    return out


# ---- engines --------------------------------------------------------------------------------------

class Engine:
    def __init__(self, name: str, argv: list[str], cwd: str, outdir: str):
        self.name, self.argv, self.cwd, self.outdir = name, argv, cwd, outdir
        self.walls: list[float] = []
        self.rss_kib: list[int] = []
        self.failed: str | None = None

    def file(self, name: str) -> str:
        return os.path.join(self.outdir, name)


def build_engines(a: argparse.Namespace, dates: list[dt.date], work: str) -> list[Engine]:
    date_args = [x for d in dates for x in ("--index-date", d.isoformat())]
    engines = []
    for name in a.engines:
        outdir = os.path.join(work, name)
        if name == "rxscan":
            binary = find_rxscan(a.rxscan)
            if binary is None:
                if a.engines_given:
                    die("rxscan binary not found (build it with `cargo build --release`, or pass --rxscan PATH)")
                print("compare: note: rxscan is not built (no target/release/rxscan, none on PATH); "
                      "skipping it. Build it or pass --rxscan PATH.", file=sys.stderr)
                continue
            argv = [binary, "scan", "--rules", a.rules, "--data", a.data, *date_args, "--out", outdir, "--quiet"]
            if not a.patient_level:
                argv.append("--no-patients")  # the peers write no patient list either
            engines.append(Engine(name, argv, REPO, outdir))
        elif name in ("duckdb", "polars", "reference"):
            script = os.path.join(HERE, f"pincer_{name}.py")
            argv = [peer_python(), script, "--data", a.data, "--codelists", a.codelists, *date_args,
                    "--out", os.path.join(outdir, "summary.csv"),
                    "--composites", os.path.join(outdir, "composites.csv")]
            if a.format:
                argv += ["--format", a.format]
            if a.patient_level:
                argv += ["--patients", os.path.join(outdir, "patients.csv")]
            if a.threads:
                argv += ["--threads", str(a.threads)]
            engines.append(Engine(name, argv, HERE, outdir))
        elif name in a.custom:
            text = a.custom[name].format(data=shlex.quote(a.data), codelists=shlex.quote(a.codelists),
                                         outdir=shlex.quote(outdir), dates=shlex.join(date_args),
                                         format=a.format or "")
            engines.append(Engine(name, shlex.split(text), REPO, outdir))
        else:
            die(f"unknown engine {name!r} (built in: rxscan, duckdb, polars, reference; add others with --engine)")
    if not engines:
        die("no engine to run")
    return engines


def parse_time_v(path: str) -> tuple[float, int]:
    wall = rss = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if line.startswith("Elapsed (wall clock) time"):
                parts = [float(x) for x in line.rsplit(" ", 1)[1].split(":")]
                wall = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
            elif line.startswith("Maximum resident set size"):
                rss = int(line.rsplit(":", 1)[1])
    if wall is None or rss is None:
        raise ValueError(f"no wall time or max RSS in {path}")
    return wall, rss


def run(engine: Engine, rep: int, env: dict) -> None:
    if os.path.isdir(engine.outdir):
        shutil.rmtree(engine.outdir)
    os.makedirs(engine.outdir)
    logdir = os.path.dirname(engine.outdir)
    timef = os.path.join(logdir, f"{engine.name}.time.{rep}.txt")
    out = os.path.join(logdir, f"{engine.name}.log.{rep}.txt")
    with open(out, "w") as log:
        proc = subprocess.run([TIME, "-v", "-o", timef, *engine.argv], cwd=engine.cwd, env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        tail = open(out, encoding="utf-8", errors="replace").read()[-3000:]
        engine.failed = f"exit status {proc.returncode}; log {out}:\n{tail}"
        return
    wall, rss = parse_time_v(timef)
    engine.walls.append(wall)
    engine.rss_kib.append(rss)


def warm_cache(data: str) -> None:
    """Read the extract once so that the first engine does not pay for a cold page cache."""
    for name in sorted(os.listdir(data)):
        path = os.path.join(data, name)
        if os.path.isfile(path):
            with open(path, "rb") as f:
                while f.read(1 << 24):
                    pass


# ---- reading and comparing outputs --------------------------------------------------------------

def read_table(path: str, header: list[str], key_cols: list[str], val_cols: list[str], problems: list[str]):
    """{key tuple: value tuple} with counts as ints; format problems are appended to `problems`."""
    rows: dict = {}
    with open(path, newline="", encoding="utf-8") as f:
        r = csv.reader(f)
        got = next(r, None)
        if got != header:
            problems.append(f"{os.path.basename(path)}: header is {got}, expected {header}")
            if got is None or not set(key_cols + val_cols) <= set(got):
                return None, []
        idx = {c: got.index(c) for c in got}
        order = []
        for line_no, row in enumerate(r, start=2):
            key = tuple(row[idx[c]] for c in key_cols)
            vals = []
            for c in val_cols:
                v = row[idx[c]]
                vals.append(int(v) if v.lstrip("-").isdigit() else v)
            if key in rows:
                problems.append(f"{os.path.basename(path)}:{line_no}: duplicate row for {key}")
            rows[key] = tuple(vals)
            order.append((key, row))
    return rows, order


def summary_format_problems(order, problems: list[str]) -> None:
    """Rate formatting and row order of summary.csv (DATA-CONTRACT); reported, not fatal."""
    bad_rate = []
    for key, row in order:
        n, d, rate = int(row[3]), int(row[4]), row[5]
        want = f"{100 * n / d:.2f}" if d else ""
        if rate != want:
            bad_rate.append(f"{key}: rate {rate!r}, expected {want!r}")
        if n > d:
            problems.append(f"numerator > denominator at {key}")
    if bad_rate:
        problems.append(f"{len(bad_rate)} rate value(s) not 100*n/d with 2 decimals, e.g. " + "; ".join(bad_rate[:3]))
    practices = {k[1] for k, _ in order}
    numeric = all(p.isascii() and p.isdigit() for p in practices)
    pkey = (lambda p: (int(p), p)) if numeric else (lambda p: p)
    mpos = {m: i for i, m in enumerate(MEASURES)}
    keys = [(k[0], pkey(k[1]), mpos.get(k[2], 99)) for k, _ in order]
    if keys != sorted(keys):
        problems.append("rows are not sorted by index date, practice (numeric when all digits), measure in pack order")


def diff_tables(name: str, ref: str, other: str, a: dict, b: dict, cols: list[str], limit: int) -> int:
    keys = sorted(set(a) | set(b))
    bad = [k for k in keys if a.get(k) != b.get(k)]
    if not bad:
        return 0
    print(f"\n!! {name}: {other} disagrees with {ref} on {len(bad)} of {len(keys)} rows "
          f"({sum(k not in b for k in bad)} only in {ref}, {sum(k not in a for k in bad)} only in {other})")
    per_measure = Counter(k[2] if len(k) > 2 else "" for k in bad)
    print("   by " + ("measure/composite" if name != "patients.csv" else "measure") + ": "
          + ", ".join(f"{m}={c}" for m, c in sorted(per_measure.items())))
    w = max(len(str(k)) for k in bad[:limit])
    print(f"   {'key':<{w}}  {ref + ' ' + '/'.join(cols):>28}  {other}")
    for k in bad[:limit]:
        va = "/".join(map(str, a[k])) if k in a else "(missing)"
        vb = "/".join(map(str, b[k])) if k in b else "(missing)"
        print(f"   {str(k):<{w}}  {va:>28}  {vb}")
    if len(bad) > limit:
        print(f"   ... {len(bad) - limit} more")
    return len(bad)


TABLES = {
    "summary.csv": (SUMMARY_HEADER, ["index_date", "practice_pseudo_id", "measure"], ["numerator", "denominator"]),
    "composites.csv": (COMPOSITES_HEADER, ["index_date", "practice_pseudo_id", "composite", "n_numerators"],
                       ["denominator", "patients"]),
    "patients.csv": (PATIENTS_HEADER, ["index_date", "patient_id", "measure"], ["practice_pseudo_id", "numerator"]),
}


def compare_outputs(engines: list[Engine], limit: int, patient_level: bool) -> bool:
    ok = True
    for fname, (header, key_cols, val_cols) in TABLES.items():
        if fname == "patients.csv" and not patient_level:
            continue
        present = [e for e in engines if os.path.exists(e.file(fname))]
        if fname != "summary.csv" and len(present) < len(engines):
            missing = ", ".join(e.name for e in engines if e not in present)
            print(f"\n-- {fname}: not compared (not written by {missing})")
            continue
        tables = {}
        for e in engines:
            if not os.path.exists(e.file(fname)):
                print(f"\n!! {e.name} wrote no {fname} in {e.outdir}")
                ok = False
                continue
            problems: list[str] = []
            rows, order = read_table(e.file(fname), header, key_cols, val_cols, problems)
            if fname == "summary.csv" and rows is not None:
                summary_format_problems(order, problems)
            for p in problems:
                print(f"   note: {e.name} {fname}: {p}")
            if rows is None:
                ok = False
                continue
            tables[e.name] = rows
        names = list(tables)
        if len(names) < 2:
            continue
        ref = names[0]
        n_bad = sum(diff_tables(fname, ref, o, tables[ref], tables[o], val_cols, limit) for o in names[1:])
        if n_bad:
            ok = False
        else:
            n = len(tables[ref])
            print(f"\nOK {fname}: {', '.join(names)} agree on all {n} rows"
                  + (f" ({len({k[0] for k in tables[ref]})} index dates, "
                     f"{len({(k[0], k[1]) for k in tables[ref]})} date-practice pairs)" if fname == "summary.csv" else ""))
    return ok


def report_timings(engines: list[Engine], repeat: int, work: str) -> None:
    ran = [e for e in engines if e.walls]
    if not ran:
        return
    base = ran[0]
    print(f"\nTimings (GNU time; wall = {'median of ' + str(repeat) + ' runs' if repeat > 1 else 'one run'}, "
          f"peak RSS = max over runs; ratios relative to {base.name})")
    hdr = f"{'engine':<10} {'wall s':>9} {'best s':>9} {'peak RSS MiB':>13} {'wall x':>8} {'RSS x':>8}"
    print(hdr)
    print("-" * len(hdr))
    bw, br = statistics.median(base.walls), max(base.rss_kib)
    lines = ["engine,runs,wall_median_s,wall_best_s,peak_rss_kib,wall_ratio,rss_ratio"]
    for e in ran:
        w, best, r = statistics.median(e.walls), min(e.walls), max(e.rss_kib)
        wr = w / bw if bw else float("nan")
        rr = r / br if br else float("nan")
        print(f"{e.name:<10} {w:>9.2f} {best:>9.2f} {r / 1024:>13.1f} {wr:>8.2f} {rr:>8.2f}")
        lines.append(f"{e.name},{len(e.walls)},{w:.3f},{best:.3f},{r},{wr:.3f},{rr:.3f}")
    with open(os.path.join(work, "timings.csv"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--data", required=True, help="extract folder")
    ap.add_argument("--index-date", action="append", default=[], type=dt.date.fromisoformat)
    ap.add_argument("--months", help="FIRST:LAST, every first-of-month index date in between (inclusive)")
    ap.add_argument("--engines", help="comma-separated engines in order (default: rxscan,duckdb,polars); "
                                      "the first is the reference for ratios and diffs")
    ap.add_argument("--engine", action="append", default=[], metavar="NAME=COMMAND",
                    help="define another engine by a command template (see above)")
    ap.add_argument("--codelists", default=DEFAULT_CODELISTS)
    ap.add_argument("--format", choices=["parquet", "csv"], help="input format for the Python peers (default: detect)")
    ap.add_argument("--rxscan", help="rxscan binary (default: target/release/rxscan, then PATH)")
    ap.add_argument("--rules", default="rules/pincer", help="rules folder for rxscan, relative to the repository root")
    ap.add_argument("--repeat", type=int, default=1, help="runs per engine (median wall time reported)")
    ap.add_argument("--threads", type=int, help="threads for every engine (POLARS_MAX_THREADS, RAYON_NUM_THREADS, DuckDB threads)")
    ap.add_argument("--patient-level", action="store_true", help="also compare patients.csv")
    ap.add_argument("--workdir", help="where outputs and logs go (default: a new folder under /tmp)")
    ap.add_argument("--show", type=int, default=20, help="disagreements to print per table and engine")
    ap.add_argument("--no-warm", action="store_true", help="do not pre-read the extract into the page cache")
    a = ap.parse_args()

    a.data = os.path.abspath(a.data)
    a.codelists = os.path.abspath(a.codelists)
    if not os.path.isdir(a.data):
        die(f"no extract folder {a.data}")
    dates = sorted(set(a.index_date + (months(a.months) if a.months else [])))
    if not dates:
        die("give at least one --index-date or --months")
    a.engines_given = a.engines is not None
    a.engines = [e.strip() for e in (a.engines or "rxscan,duckdb,polars").split(",") if e.strip()]
    a.custom = {}
    for spec in a.engine:
        name, eq, cmd = spec.partition("=")
        if not eq:
            die(f"--engine wants NAME=COMMAND, got {spec!r}")
        a.custom[name] = cmd
        if name not in a.engines:
            a.engines.append(name)
    if not os.access(TIME, os.X_OK):
        die(f"{TIME} (GNU time) is missing: run benches/compare/setup.sh (apt-get install time)")

    work = os.path.abspath(a.workdir) if a.workdir else tempfile.mkdtemp(prefix="rxscan-compare-")
    os.makedirs(work, exist_ok=True)
    engines = build_engines(a, dates, work)
    env = dict(os.environ)
    if a.threads:
        env["POLARS_MAX_THREADS"] = env["RAYON_NUM_THREADS"] = str(a.threads)

    size = sum(os.path.getsize(os.path.join(a.data, f)) for f in os.listdir(a.data)
               if os.path.isfile(os.path.join(a.data, f)))
    print(f"extract {a.data} ({size / 2**20:.1f} MiB); {len(dates)} index date(s) "
          f"{dates[0]}{' .. ' + str(dates[-1]) if len(dates) > 1 else ''}; engines {', '.join(e.name for e in engines)}; "
          f"work {work}")
    if not a.no_warm:
        warm_cache(a.data)
    for rep in range(a.repeat):
        for e in engines:
            if e.failed:
                continue
            print(f"run {rep + 1}/{a.repeat} {e.name}: {shlex.join(e.argv)}", flush=True)
            run(e, rep, env)
            if e.failed:
                print(f"!! {e.name} failed: {e.failed}", file=sys.stderr)

    ok_runs = [e for e in engines if not e.failed]
    ok = compare_outputs(ok_runs, a.show, a.patient_level) and len(ok_runs) == len(engines)
    report_timings(engines, a.repeat, work)
    if not ok:
        print("\nFAILED: " + ("; ".join(f"{e.name} did not run" for e in engines if e.failed) or
                              "the engines disagree (see above)"))
        sys.exit(1)
    print(f"\nAll {len(engines)} engines agree. Outputs and logs in {work}")


if __name__ == "__main__":
    main()
