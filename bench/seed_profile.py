"""Seeding the demo world: CPU time and SQL statements of ``seed_demo``, where they go, and whether two
commits build the same world.

Each measurement runs in a child process of its own (``--child``), on a copy of a migrated template
built once in a temp folder (``tests.conftest.Databases``), through the app as the test suite builds its
demo template (``TestConfig``: cheap argon2). It prints the CPU time (``time.process_time``) of
``seed_demo(now, crowd)`` plus its commit, and the statements it sent (a ``before_cursor_execute``
listener), and the CPU time of each ``seed_*`` step. ``--warm`` seeds once, untimed, before the timed
seeding in the same process, as tests/test_demo_story.py seeds several times per process.

    .venv/bin/python bench/seed_profile.py [--crowd 0.2] [--at 2026-12-16T10:00] [--profile] [--statements]
    .venv/bin/python bench/seed_profile.py --code DIR --rounds 3 --crowd 0.2 --crowd 1.0   # A/B
    .venv/bin/python bench/seed_profile.py --code DIR --compare --crowd 0.2 --crowd 1.0 \\
        --at 2026-11-30T21:30 --at 2027-02-28T08:00                                       # same world?

``--code DIR``: an export of another commit (``git archive <commit> | tar -x -C DIR``), run with this
checkout's virtualenv; A/B rounds alternate the two (the order reversed every other round).
``--compare``: seed with both at each date and crowd with the randomness made repeatable (``secrets``
and ``os.urandom`` seeded, the clock stopped at ``--at``) and compare a dump of every table's rows
(reflected from the database, every column, ordered) and the photo files written; prints the first
differences. Figures only; the exit status is non-zero when a child failed or the worlds differ.
"""
import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = REPO / ".venv" / "bin" / "python"
DEFAULT_AT = "2026-12-16T10:00"


# --- the child: one seeding ---------------------------------------------------------------

def _repeatable_randomness(now):
    """The same ``secrets``, ``os.urandom`` (argon2's salt) and clock readings on every run."""
    import random
    import secrets
    import types

    from gridapp import clock

    secrets._sysrand = random.Random(20261226)
    urandom = random.Random(12)
    os.urandom = lambda n: urandom.randbytes(n)
    clock._time = types.SimpleNamespace(monotonic=lambda: 0.0)
    clock._start = (now, 0.0)


def _dump(url: str, instance: Path) -> dict:
    """Every table's rows (every column, sorted), reflected from the database, and the files written."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    meta = sa.MetaData()
    meta.reflect(engine)
    tables = {}
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            rows = conn.execute(sa.select(table)).all()
            tables[table.name] = sorted(json.dumps([repr(v) for v in row], ensure_ascii=False) for row in rows)
    engine.dispose()
    files = {str(p.relative_to(instance)): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted(instance.rglob("*")) if p.is_file()}
    return {"tables": tables, "files": files}


def child(args) -> None:
    from sqlalchemy import event

    from gridapp import clock, create_app
    from gridapp.config import TestConfig
    from gridapp.demo import seed_demo
    from gridapp.extensions import db

    work = Path(args.work)
    if args.warm:  # seed once, untimed, on a copy of its own: the timed seeding then runs as in the suite
        warm = work / "warm"
        warm.mkdir()
        shutil.copy(args.template, warm / "warm.sqlite3")
        (warm / "instance").mkdir()
        app = create_app(TestConfig(f"sqlite:///{warm / 'warm.sqlite3'}", warm / "instance"))
        clock.start_at(clock.parse_local(args.at))
        with app.app_context():
            seed_demo(clock.parse_local(args.at), crowd=args.crowd)
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
    database = work / "seed.sqlite3"
    shutil.copy(args.template, database)
    instance = work / "instance"
    instance.mkdir()
    url = f"sqlite:///{database}"
    now = clock.parse_local(args.at)
    if args.repeatable:
        _repeatable_randomness(now)
    else:
        clock.start_at(now)
    app = create_app(TestConfig(url, instance))
    statements = [0]
    kinds = {}

    def count(_conn, _cursor, statement, *_rest):
        statements[0] += 1
        if args.statements:
            words = statement.split()
            table = next((w for i, w in enumerate(words) if i and words[i - 1] in ("FROM", "INTO", "UPDATE")), "")
            kind = f"{words[0]} {table}"
            kinds[kind] = kinds.get(kind, 0) + 1

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count)
        db.session.execute(db.text("SELECT 1")).all()  # connect (PRAGMAs) before the clock starts
        db.session.rollback()
        statements[0] = 0
        kinds.clear()
        phases = {}
        import gridapp.demo as demo

        for name in [n for n in vars(demo) if n.startswith("seed_") and n != "seed_demo"]:
            def timed(*a, _name=name, _function=getattr(demo, name), **k):
                begun = time.process_time()
                try:
                    return _function(*a, **k)
                finally:
                    phases[_name] = phases.get(_name, 0) + time.process_time() - begun
            setattr(demo, name, timed)
        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        started = time.process_time()
        seed_demo(now, crowd=args.crowd)
        db.session.commit()
        cpu = time.process_time() - started
        if profiler is not None:
            import pstats

            profiler.disable()
            if args.profile_out:
                profiler.dump_stats(args.profile_out)
            stats = pstats.Stats(profiler, stream=sys.stderr)
            stats.sort_stats("cumulative").print_stats(args.profile_lines)
            stats.sort_stats("tottime").print_stats(args.profile_lines)
        db.session.remove()
        db.engine.dispose()
    result = {"cpu": cpu, "statements": statements[0],
              "phases": {name: round(t, 3) for name, t in sorted(phases.items(), key=lambda kv: -kv[1])}}
    if args.statements:
        for kind, n in sorted(kinds.items(), key=lambda kv: -kv[1]):
            sys.stderr.write(f"{n:6d}  {kind}\n")
    if args.dump:
        Path(args.dump).write_text(json.dumps(_dump(url, instance), ensure_ascii=False))
    print(json.dumps(result))


# --- the parent ---------------------------------------------------------------------------

def build_template(folder: Path) -> Path:
    code = ("import sys; from pathlib import Path; from tests.conftest import Databases; "
            "f = Path(sys.argv[1]); Databases(root=f, shared_root=f).template(False)")
    subprocess.run([str(PYTHON), "-c", code, str(folder)], cwd=REPO, check=True, timeout=300)
    return folder / "gridapp_template.sqlite3"


def run_child(code: str | None, template: Path, crowd: float, at: str, *, dump: Path | None = None,
              profile: bool = False, lines: int = 40, statements: bool = False, warm: bool = False,
              profile_out: str | None = None) -> dict:
    folder = Path(code) if code else REPO
    with tempfile.TemporaryDirectory(prefix="gridapp-seed-") as work:
        command = [str(PYTHON), str(REPO / "bench" / "seed_profile.py"), "--child", "--work", work,
                   "--template", str(template), "--crowd", str(crowd), "--at", at, "--profile-lines", str(lines)]
        if dump:
            command += ["--dump", str(dump), "--repeatable"]
        if profile:
            command.append("--profile")
        if statements:
            command.append("--statements")
        if warm:
            command.append("--warm")
        if profile_out:
            command += ["--profile-out", profile_out]
        env = dict(os.environ, PYTHONPATH=str(folder))
        env.pop("GRIDAPP_DATABASE_URL", None)
        done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise RuntimeError(f"seeding failed in {folder}")
    if profile or statements:
        sys.stdout.write(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare(a: dict, b: dict, limit: int = 10) -> list[str]:
    differences = []
    for name in sorted(set(a["tables"]) | set(b["tables"])):
        rows_a, rows_b = a["tables"].get(name), b["tables"].get(name)
        if rows_a != rows_b:
            only_a = sorted(set(rows_a or ()) - set(rows_b or ()))[:limit]
            only_b = sorted(set(rows_b or ()) - set(rows_a or ()))[:limit]
            differences.append(f"{name}: {len(rows_a or ())} vs {len(rows_b or ())} rows;"
                               f" only in this: {only_a}; only in the other: {only_b}")
    if a["files"] != b["files"]:
        differences.append(f"files differ: {len(a['files'])} vs {len(b['files'])}")
    return differences


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--crowd", type=float, action="append")
    parser.add_argument("--at", action="append", help="the local time to seed at (repeatable)")
    parser.add_argument("--code", help="an export of another commit: A/B with --rounds, --compare, or that code "
                                       "alone with --profile or --statements")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--compare", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--profile-lines", type=int, default=40)
    parser.add_argument("--profile-out", help="also write the profile to this file (pstats)")
    parser.add_argument("--statements", action="store_true", help="the statements sent, by kind and table")
    parser.add_argument("--warm", action="store_true",
                        help="time a second seeding in the process, as tests/test_demo_story.py seeds (warm caches)")
    # the child's own
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    parser.add_argument("--template", help=argparse.SUPPRESS)
    parser.add_argument("--dump", help=argparse.SUPPRESS)
    parser.add_argument("--repeatable", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.crowd, args.at = args.crowd[0], args.at[0]
        return child(args)
    crowds = args.crowd or [0.2]
    dates = args.at or [DEFAULT_AT]
    with tempfile.TemporaryDirectory(prefix="gridapp-seed-template-") as folder:
        template = build_template(Path(folder))
        if args.compare:
            if not args.code:
                parser.error("--compare needs --code DIR")
            same = True
            for at in dates:
                for crowd in crowds:
                    dumps = []
                    for code in (None, args.code):
                        path = Path(folder) / f"dump-{len(dumps)}.json"
                        run_child(code, template, crowd, at, dump=path)
                        dumps.append(json.loads(path.read_text()))
                    differences = compare(*dumps)
                    rows = sum(len(r) for r in dumps[0]["tables"].values())
                    print(f"{at} crowd {crowd}: {len(dumps[0]['tables'])} tables, {rows} rows, "
                          f"{len(dumps[0]['files'])} files: " + ("the same" if not differences else "DIFFERENT"))
                    for line in differences:
                        print("   ", line[:2000])
                    same = same and not differences
            sys.exit(0 if same else 1)
        if args.profile or args.statements:
            print(run_child(args.code, template, crowds[0], dates[0], profile=args.profile, lines=args.profile_lines,
                            statements=args.statements, warm=args.warm, profile_out=args.profile_out))
            return
        runs = [("this", None)] + ([("other", args.code)] if args.code else [])
        figures = {(name, crowd): [] for name, _ in runs for crowd in crowds}
        for round_ in range(args.rounds):
            order = runs if round_ % 2 == 0 else runs[::-1]
            for crowd in crowds:
                for name, code in order:
                    result = run_child(code, template, crowd, dates[0], warm=args.warm)
                    figures[name, crowd].append(result)
                    print(f"round {round_ + 1} crowd {crowd} {name}: {result['cpu']:.2f} s CPU, "
                          f"{result['statements']} statements; " + ", ".join(
                              f"{phase.removeprefix('seed_')} {t:.2f}" for phase, t in result["phases"].items()),
                          flush=True)
        for (name, crowd), results in figures.items():
            cpus = [r["cpu"] for r in results]
            print(f"{name:5} crowd {crowd}: CPU median {statistics.median(cpus):.2f} s "
                  f"(min {min(cpus):.2f}, max {max(cpus):.2f}), statements {results[-1]['statements']}")


if __name__ == "__main__":
    main()
