"""Roll-ups at division scale, on PostgreSQL: the division and community roll-ups, and whether a
volunteer's and the counter's pages stay as fast in a division-wide deployment as in a single grid.

A throwaway PostgreSQL cluster (tests/with_postgres.sh: initdb in a temp folder, 127.0.0.1, a free
port, removed at exit) holds two databases, both migrated with ``flask db upgrade`` and filled by
bulk SQL (generate_series; ledger_scale.py's shape of entries — award entries of 5–20 points over the
past two years, one grid worker as author — spread over the grids):

- ``division``: 第十二师 → 三坪农场 → COMMUNITIES communities × GRIDS grids (屯坪社区 is one of them, 迪祥佳苑B区
  its first grid), VOLUNTEERS volunteers (one household each) dealt round-robin to the grids, ENTRIES
  points entries; per grid and month (last month and this one): 8 duty sessions with 20 confirmed
  attendances each (their award entries come on top of ENTRIES), a counter day with 10 redemptions, 2
  donations, a published snow campaign;
- ``single``: a copy of ``division`` (CREATE DATABASE … TEMPLATE) collapsed into one grid: every
  household and volunteer, and so the whole ledger, in 迪祥佳苑B区; the other grids' sessions, goods,
  counters and campaigns deleted — the same people and ledger as a single-grid deployment holds them.

The ledger is loaded without its secondary indexes and foreign keys, which are rebuilt (and checked)
afterwards; both databases are then vacuumed and analysed, as autovacuum leaves a database in use.

Measured in this process through the Flask test client (logged in for real), p50/p95 after a warm-up:

- the division viewer's GET /rollups/<division> and a community admin's GET /rollups/<屯坪社区> for last
  month (targets ≤ 1 s and ≤ 200 ms), and the statements each page sends;
- GET /me and /me/points as volunteers of 迪祥佳苑B区, and the counter lookup as its grid worker (GET
  /counter?q=<phone>, answered by a redirect to the volunteer, then GET /counter/v/<id>, the panel), in
  both databases, in the order division, single, single, division (each figure the mean of its two
  rounds): the ratio division / single-grid of the p50 (target ≤ 1.5×) and the statements per page;
- the counter confirm, in the same rounds: whole redemptions at 迪祥佳苑B区's open counter as
  bench/counter.py does them (its ``redeem``: lookup, panel, two items added to the basket, the real POST
  of the confirm form with its CSRF and one-time tokens, the receipt), each for a different volunteer of
  the grid (two cheap items donated to the grid once, before the single grid is copied from the
  division); the POST's p50, p95 and statements, and the ratio division / single-grid of the p50.

Figures only, nothing asserted. ``--quick``: 10 communities, 10,000 volunteers, 200,000 entries.

    .venv/bin/python bench/rollups.py [--quick]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from datetime import timedelta
from pathlib import Path

import _support  # bench/ is on sys.path: these files run as scripts
import counter as counter_bench
import ledger_scale

FULL = dict(communities=50, grids=4, volunteers=100_000, entries=2_000_000)
QUICK = dict(communities=10, grids=4, volunteers=10_000, entries=200_000)
TIMEOUT = {False: 900, True: 300}  # seconds for the whole run, cluster included
SAMPLE, WARMUP = 20, 3
DIVISION_TARGET_MS, COMMUNITY_TARGET_MS, RATIO_TARGET = 1000.0, 200.0, 1.5
STAFF_ID, ADMIN_ID, VIEWER_ID, FIRST_VOLUNTEER = 1, 2, 3, 10
SESSIONS_PER_MONTH, PEOPLE_PER_SESSION, REDEMPTIONS_PER_DAY = 8, 20, 10
CONFIRM_WARMUP = 2          # whole redemptions before the timed ones, not counted
CONFIRM_ITEMS = ("基准兑换香皂", "基准兑换牙刷")  # donated to 迪祥佳苑B区 for the confirm
CONFIRM_STOCK = 500
FIRST_CONFIRM_K, CONFIRM_K_PER_ROUND = 100, 50  # the k-th volunteer of the grid (see measure): fresh each round


def p95(values):
    return ledger_scale.p95(values)


# --- generation (bulk SQL on PostgreSQL) -----------------------------------------------------

def bare_table(con, table: str):
    """Drop ``table``'s unique and foreign-key constraints and plain indexes (the primary key stays);
    returns the function that puts them all back, as they were."""
    from sqlalchemy import text

    constraints = con.execute(text(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = CAST(:t AS regclass) AND contype IN ('u', 'f')"), {"t": table}).all()
    indexes = con.execute(text(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :t AND indexname NOT IN "
        "(SELECT conname FROM pg_constraint WHERE conrelid = CAST(:t AS regclass))"), {"t": table}).all()
    for name, _definition in constraints:
        con.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
    for name, _definition in indexes:
        con.execute(text(f'DROP INDEX "{name}"'))

    def put_back():
        for _name, definition in indexes:
            con.execute(text(definition))
        for name, definition in constraints:
            con.execute(text(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))

    return put_back


def vacuum(con) -> None:
    """VACUUM ANALYZE, as autovacuum leaves a database in use: statistics for the planner, and the
    visibility map that lets the month's figures be read from the covering index alone."""
    from sqlalchemy import text

    con.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))


def single_grid(con) -> float:
    """Turn a copy of the division database into a single-grid deployment of the same volumes: every
    household and volunteer (and so the whole ledger) moves to 迪祥佳苑B区; the other grids' sessions,
    goods, counters and campaigns go, and so do the other grids and communities."""
    from sqlalchemy import text

    t0 = time.perf_counter()
    run = lambda sql: con.execute(text(sql))  # noqa: E731
    run("ALTER TABLE users DROP CONSTRAINT fk_users_household_grid")
    run("UPDATE households SET grid_id = 4 WHERE grid_id <> 4")
    run("UPDATE users SET grid_id = 4 WHERE grid_id <> 4")
    run("ALTER TABLE users ADD CONSTRAINT fk_users_household_grid FOREIGN KEY (household_id, grid_id) "
        "REFERENCES households (id, grid_id)")
    run("DELETE FROM attendances WHERE session_id IN (SELECT id FROM duty_sessions WHERE grid_id <> 4)")
    for table in ("duty_sessions", "redemptions", "counter_sessions", "redemption_days", "campaigns"):
        run(f"DELETE FROM {table} WHERE grid_id <> 4")
    run("DELETE FROM donation_lines WHERE donation_id IN (SELECT id FROM donations WHERE grid_id <> 4)")
    run("DELETE FROM donations WHERE grid_id <> 4")
    run("DELETE FROM items WHERE grid_id <> 4")
    run("DELETE FROM org_units WHERE is_grid AND id <> 4")
    run("DELETE FROM org_units WHERE level_name = '社区' AND id <> 3")
    con.commit()
    vacuum(con)
    return time.perf_counter() - t0


def generate(con, size: dict, password_hash: str, now) -> float:
    """Fill a migrated, empty database; returns the seconds it took."""
    from gridapp.clock import local_today
    from gridapp.reporting.months import Month
    from sqlalchemy import text

    t0 = time.perf_counter()
    run = lambda sql, **params: con.execute(text(sql), params)  # noqa: E731
    run("SELECT setseed(0.2026)")
    communities, grids = size["communities"], size["grids"]
    v, e = size["volunteers"], size["entries"]
    # The tree: 屯坪社区 (3) and 迪祥佳苑B区 (4) exist (migration 0014); more grids and communities.
    run("""INSERT INTO org_units (parent_id, level_name, name, code, is_grid, position)
           SELECT 2, '社区', '测试社区' || c, 'C' || c, false, c FROM generate_series(2, :n) c""", n=communities)
    run("""INSERT INTO org_units (parent_id, level_name, name, code, is_grid, position)
           SELECT c.id, '网格', c.name || k || '号网格', 'G' || c.id || 'K' || k, true, k
           FROM org_units c CROSS JOIN generate_series(1, :g) k
           WHERE c.level_name = '社区' AND c.id <> 3""", g=grids)
    run("""INSERT INTO org_units (parent_id, level_name, name, code, is_grid, position)
           SELECT 3, '网格', '迪祥佳苑' || k || '号网格', 'DX' || k, true, k FROM generate_series(2, :g) k""", g=grids)
    run("""CREATE TEMP TABLE bench_grids AS
           SELECT (row_number() OVER (ORDER BY id)) - 1 AS idx, id FROM org_units WHERE is_grid""")
    g = run("SELECT count(*) FROM bench_grids").scalar()
    at = {"now": now}
    run("""INSERT INTO users (id, name, phone, password_hash, role, status, created_at, reviewed_at, points_balance,
                              must_change_password)
           VALUES (1, '网格员', '13800000002', :h, 'staff', 'active', :now, :now, 0, false),
                  (2, '社区管理员', '13800000001', :h, 'admin', 'active', :now, :now, 0, false),
                  (3, '上级查看', '13800000008', :h, 'viewer', 'active', :now, :now, 0, false)""",
        h=password_hash, **at)
    run("INSERT INTO staff_assignments (user_id, unit_id) VALUES (1, 4), (2, 3), (3, 1)")
    run("""INSERT INTO households (id, building, unit, room, created_at, grid_id)
           SELECT n, n::text, '1', '101', :now, bg.id FROM generate_series(1, :v) n
           JOIN bench_grids bg ON bg.idx = (n - 1) % :g""", v=v, g=g, **at)
    run("""INSERT INTO users (id, name, phone, password_hash, role, status, household_id, grid_id, created_at,
                              reviewed_at, points_balance, must_change_password)
           SELECT n + 9, '志愿者' || (n + 9), '15' || lpad((n + 9)::text, 9, '0'), :h, 'volunteer', 'active', n,
                  bg.id, :now, :now, 0, false
           FROM generate_series(1, :v) n JOIN bench_grids bg ON bg.idx = (n - 1) % :g""",
        h=password_hash, v=v, g=g, **at)
    # The ledger: ENTRIES awards over two years, owners at random; loaded without its secondary indexes
    # and foreign keys, which are rebuilt (and checked) once afterwards: several times faster.
    rebuild = bare_table(con, "points_entries")
    run("""INSERT INTO points_entries (volunteer_id, delta, kind, reference, description, idempotency_key,
                                       created_by_id, created_at)
           SELECT 10 + floor(random() * :v)::int, (ARRAY[5, 10, 10, 10, 15, 20])[1 + floor(random() * 6)::int],
                  'award', 'bench:' || n, '安全巡逻：夜间巡逻', 'bench:' || n, 1,
                  :now - interval '730 days' + (n::float / :e) * interval '730 days'
           FROM generate_series(1, :e) n""", v=v, e=e, **at)
    # Per grid, last month and this month: duty sessions with confirmed attendances (and their awards).
    this = Month.of(now)
    months = [this.previous(), this]
    run("INSERT INTO duty_types (name, default_points, active) VALUES ('安全巡逻', 10, true)")
    for m in months:
        days = (min(local_today(), m.last_day) - m.first_day).days + 1
        run("""INSERT INTO duty_sessions (duty_type_id, title, place, starts_at, ends_at, checkin_opens_at,
                                          checkin_closes_at, points, taken, token, created_by_id, created_at, grid_id)
               SELECT 1, '夜间巡逻', '南门', s, s + interval '2 hours', s - interval '30 minutes',
                      s + interval '2 hours', 10, 0, md5(bg.id || ':' || k || ':' || s::text), 1, :now, bg.id
               FROM bench_grids bg CROSS JOIN generate_series(0, :k - 1) k
               CROSS JOIN LATERAL (SELECT :start + ((k * :days) / :k) * interval '1 day'
                                   + interval '12 hours' AS s) t
               WHERE s < :now""", k=SESSIONS_PER_MONTH, start=m.start, days=days, **at)
    run("""INSERT INTO points_entries (volunteer_id, delta, kind, reference, description, idempotency_key,
                                       created_by_id, created_at)
           SELECT 10 + bg.idx + :g * ((s.id * 7 + p) % (:v / :g)), 10, 'award', 'checkin:' || s.id || ':' || p,
                  '安全巡逻：夜间巡逻', 'att:' || s.id || ':' || p, 1, s.ends_at
           FROM duty_sessions s JOIN bench_grids bg ON bg.id = s.grid_id
           CROSS JOIN generate_series(0, :p - 1) p""", g=g, v=v, p=PEOPLE_PER_SESSION)
    rebuild()
    run("""INSERT INTO attendances (session_id, volunteer_id, status, checked_in_at, auto_checked_out, award_entry_id,
                                    reviewed_by_id, reviewed_at)
           SELECT split_part(e.idempotency_key, ':', 2)::int, e.volunteer_id, 'confirmed',
                  e.created_at - interval '2 hours', false, e.id, 1, e.created_at
           FROM points_entries e WHERE e.idempotency_key LIKE 'att:%'""")
    run("""UPDATE users u SET points_balance = t.total
           FROM (SELECT volunteer_id, sum(delta) AS total FROM points_entries GROUP BY volunteer_id) t
           WHERE u.id = t.volunteer_id""")
    # Goods and the counter: an item per grid, a counter day last month with redemptions, donations, and
    # today's open counter in 迪祥佳苑B区 (for the lookup).
    last = months[0]
    run("""INSERT INTO sponsors (name, kind, contact_person, phone, address, created_at)
           VALUES ('测试爱心企业', 'shop', '联系人', '0994-0000000', '五家渠', :now)""", **at)
    run("""INSERT INTO items (name, unit, category, points_price, low_stock_threshold, active, stock, grid_id)
           SELECT '抽纸', '包', '日用品', 10, 5, true, 100, id FROM bench_grids""")
    run("""INSERT INTO counter_sessions (day, opened_by_id, opened_at, grid_id)
           SELECT :day, 1, :opened, id FROM bench_grids""", day=last.last_day, opened=last.end - timedelta(hours=6))
    run("""INSERT INTO redemptions (session_id, volunteer_id, receipt_no, receipt_year, receipt_seq, total_points,
                                    token, served_by_id, created_at, grid_id)
           SELECT cs.id, 10 + bg.idx + :g * k, 'DH-' || cs.grid_id || '-' || k, :year, k, 10,
                  md5('r' || cs.id || ':' || k), 1, cs.opened_at + k * interval '1 minute', cs.grid_id
           FROM counter_sessions cs JOIN bench_grids bg ON bg.id = cs.grid_id
           CROSS JOIN generate_series(1, :r) k""", g=g, year=last.year, r=REDEMPTIONS_PER_DAY)
    run("""INSERT INTO donations (receipt_no, receipt_year, receipt_seq, sponsor_id, received_on, note, created_by_id,
                                  created_at, grid_id)
           SELECT 'JZ-' || bg.id || '-' || k, :year, k, 1, :day, '', 1, :now, bg.id
           FROM bench_grids bg CROSS JOIN generate_series(1, 2) k""", year=last.year, day=last.first_day, **at)
    # Their receipt numbers' series, as the app's numbering keeps them: the next number follows on.
    run("""INSERT INTO number_sequences (series, year, last)
           SELECT kind || '-' || o.code, :year, n FROM bench_grids bg JOIN org_units o ON o.id = bg.id
           CROSS JOIN (VALUES ('DH', :r), ('JZ', 2)) AS k(kind, n)""", year=last.year, r=REDEMPTIONS_PER_DAY)
    run("""INSERT INTO donation_lines (donation_id, item_id, quantity, unit_value_fen)
           SELECT d.id, i.id, 20, 800 FROM donations d JOIN items i ON i.grid_id = d.grid_id""")
    run("""INSERT INTO campaigns (title, duty_type_id, starts_at, ends_at, meeting_point, organiser, contact_name,
                                  contact_phone, body, tools, safety, points, status, issued_on, created_by_id,
                                  created_at, published_by_id, published_at, grid_id)
           SELECT '扫雪除冰', 1, :starts, :starts + interval '3 hours', '南门', '网格党支部', '网格员', '13800000002',
                  '', '', '', 10, 'published', :day, 1, :now, 1, :now, id FROM bench_grids""",
        starts=last.start + (last.end - last.start) / 2, day=last.first_day, **at)
    today = local_today()
    run("INSERT INTO redemption_days (grid_id, day, reason, added_by_id, added_at) VALUES (4, :d, 'bench', 2, :now)",
        d=today, **at)
    run("INSERT INTO counter_sessions (day, opened_by_id, opened_at, grid_id) VALUES (:d, 1, :now, 4)", d=today, **at)
    # Sequences after explicit ids; fresh statistics for the planner.
    for table in ("users", "households"):
        run(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    con.commit()
    vacuum(con)
    return time.perf_counter() - t0


def stock_the_counter(url: str) -> list[int]:
    """Donate CONFIRM_STOCK units of two cheap items (1 point each) to 迪祥佳苑B区 through the app's own
    service, as its grid worker; returns the items' ids."""
    from gridapp.auth.models import User
    from gridapp.clock import local_today
    from gridapp.extensions import db
    from gridapp.goods import donations
    from gridapp.goods.models import Item, Sponsor
    from gridapp.org.models import OrgUnit
    from gridapp.org.scope import scoped_to

    with tempfile.TemporaryDirectory(prefix="gridapp-bench-rollups-") as tmp:
        app = ledger_scale.make_app({"GRIDAPP_INSTANCE_PATH": tmp, "GRIDAPP_DATABASE_URL": url})
        with app.app_context(), scoped_to(db.session.get(OrgUnit, 4)):
            staff, sponsor = db.session.get(User, STAFF_ID), db.session.get(Sponsor, 1)
            items = [Item(name=name, unit="个", points_price=1) for name in CONFIRM_ITEMS]
            db.session.add_all(items)
            db.session.flush()
            ids = [item.id for item in items]
            donations.issue(staff, sponsor=sponsor, received_on=local_today(), note="压测：兑换确认",
                            lines=[donations.Line(item, CONFIRM_STOCK) for item in items])
            db.session.commit()
        with app.app_context():  # the session has let go of its connection: none left open on the database
            db.engine.dispose()
    return ids


class ClientTable:
    """bench/counter.py's ``Table`` over the Flask test client (in this process, as the other pages here
    are measured): the same requests, redirects not followed; the statements of each POST recorded."""

    def __init__(self, client, counter):
        self.client, self.counter, self.post_queries = client, counter, []

    def request(self, method: str, path: str, fields: dict | None = None, htmx: bool = False):
        headers = {"HX-Request": "true"} if htmx else {}
        counting = method == "POST"
        if counting:
            self.counter.n, self.counter.on = 0, True
        started = time.perf_counter()
        response = self.client.open(path, method=method, data=fields, headers=headers)
        text = response.get_data(as_text=True)
        ms = (time.perf_counter() - started) * 1000
        if counting:
            self.counter.on = False
            self.post_queries.append(self.counter.n)
        location = urllib.parse.urlsplit(response.headers.get("Location", "")).path
        return response.status_code, location, text, ms


def confirms(staff, counter, pair: list[int], grids: int, first_k: int, n: int) -> dict:
    """CONFIRM_WARMUP + ``n`` whole redemptions at the counter (counter_bench.redeem), the k-th volunteers
    of 迪祥佳苑B区 from ``first_k`` on, one each; the figures of the confirm POSTs after the warm-up."""
    table, times = ClientTable(staff, counter), counter_bench._new_times()
    for k in range(first_k, first_k + CONFIRM_WARMUP + n):
        volunteer_id = 10 + grids * k
        counter_bench.redeem(table, volunteer_id, f"15{volunteer_id:09d}", pair, times)
    timed_ms = times["confirm"][CONFIRM_WARMUP:]
    return {"p50": statistics.median(timed_ms), "p95": p95(timed_ms), "queries": max(table.post_queries)}


# --- measurement ---------------------------------------------------------------------------

class Counter:
    def __init__(self, engine):
        from sqlalchemy import event

        self.engine, self.n, self.on = engine, 0, False
        event.listen(engine, "before_cursor_execute", self.record)

    def record(self, *_args):
        if self.on:
            self.n += 1


def login(app, phone):
    import reporting

    return reporting.logged_in(app, phone)


def timed(client, url, counter, n=SAMPLE, status=200):
    for _ in range(WARMUP):
        client.get(url).get_data()
    times = []
    for _ in range(n):
        counter.n, counter.on = 0, True
        t0 = time.perf_counter()
        response = client.get(url)
        response.get_data()
        times.append((time.perf_counter() - t0) * 1000)
        counter.on = False
        if response.status_code != status:
            raise RuntimeError(f"GET {url} answered {response.status_code}")
    return {"p50": statistics.median(times), "p95": p95(times), "queries": counter.n}


def measure(url: str, quick: bool, is_division: bool, size: dict, pair: list[int], round_no: int) -> dict:
    from gridapp.clock import utcnow
    from gridapp.extensions import db
    from gridapp.reporting.months import Month

    with tempfile.TemporaryDirectory(prefix="gridapp-bench-rollups-") as tmp:
        app = ledger_scale.make_app({"GRIDAPP_INSTANCE_PATH": tmp, "GRIDAPP_DATABASE_URL": url})
        out = {}
        with app.app_context():  # requests run outside it: each starts with a fresh g, as on a server
            counter = Counter(db.engine)
        month = Month.of(utcnow()).previous().key
        n = 8 if quick else SAMPLE
        if is_division:
            viewer, admin = login(app, "13800000008"), login(app, "13800000001")
            out["division rollup"] = timed(viewer, f"/rollups/1?month={month}", counter, n)
            out["community rollup"] = timed(admin, f"/rollups/3?month={month}", counter, n)
            out["grid figures"] = timed(admin, f"/rollups/grids/4?month={month}", counter, n)
            page = viewer.get(f"/rollups/1?month={month}").get_data(as_text=True)
            out["division rows"] = page.count("data-unit=") - 1
        grids = size["communities"] * size["grids"]
        # Volunteers of 迪祥佳苑B区 in the division (the first grid: every ``grids``-th volunteer); the same
        # people in the single grid, which holds everybody.
        phones = [f"15{10 + grids * k:09d}" for k in range(1, 6)]
        me, mine = [], []
        for phone in phones:
            client = login(app, phone)
            me.append(timed(client, "/me", counter, n // 2))
            mine.append(timed(client, "/me/points", counter, n // 2))
        staff = login(app, "13800000002")
        lookup, panel = [], []
        for phone in phones:
            lookup.append(timed(staff, f"/counter?q={phone}", counter, n // 2, status=302))
            target = staff.get(f"/counter?q={phone}").headers["Location"]
            panel.append(timed(staff, target, counter, n // 2))

        def pooled(results):
            return {"p50": statistics.median(r["p50"] for r in results),
                    "p95": statistics.median(r["p95"] for r in results),
                    "queries": max(r["queries"] for r in results)}

        out["/me"], out["/me/points"] = pooled(me), pooled(mine)
        out["counter lookup"], out["counter panel"] = pooled(lookup), pooled(panel)
        out["counter confirm"] = confirms(staff, counter, pair, grids,
                                          FIRST_CONFIRM_K + CONFIRM_K_PER_ROUND * round_no, n)

        with app.app_context():
            db.engine.dispose()
        return out


def inner(quick: bool, out_path: str) -> None:
    """Inside the throwaway cluster (GRIDAPP_TEST_DATABASE_URL): build both databases and measure."""
    from sqlalchemy import create_engine, text

    base = os.environ["GRIDAPP_TEST_DATABASE_URL"]
    size = QUICK if quick else FULL
    admin_engine = create_engine(base, isolation_level="AUTOCOMMIT")
    results, urls = {"size": size}, {}
    with tempfile.TemporaryDirectory(prefix="gridapp-bench-rollups-") as tmp:
        instance = Path(tmp)
        env = _support.base_env(instance)
        app = ledger_scale.make_app({"GRIDAPP_INSTANCE_PATH": tmp, "GRIDAPP_DATABASE_URL": base})
        with app.app_context():
            from gridapp.auth.passwords import hash_password
            from gridapp.clock import utcnow

            password_hash, now = hash_password(ledger_scale.PASSWORD), utcnow()
        for name in ("division", "single"):
            t0 = time.perf_counter()
            with admin_engine.connect() as con:
                con.execute(text(f"DROP DATABASE IF EXISTS {name}"))
                # The single grid starts as a copy of the division (a file copy), then collapses into one grid.
                con.execute(text(f"CREATE DATABASE {name}" + (" TEMPLATE division" if name == "single" else "")))
            url = base.rsplit("/", 1)[0] + "/" + name
            if name == "division":
                env["GRIDAPP_DATABASE_URL"] = url
                _support.flask(env, "db", "upgrade", timeout=300)
            engine = create_engine(url)
            with engine.connect() as con:
                if name == "division":
                    generate(con, size, password_hash, now)
                else:
                    single_grid(con)
            engine.dispose()
            if name == "division":
                pair = stock_the_counter(url)  # before the copy: the single grid has the same goods
            seconds = time.perf_counter() - t0
            print(f"  {name}: built in {seconds:.1f} s", flush=True)
            urls[name] = url
            results[name] = {"generation_s": seconds}
        # Measured in the order division, single, single, division (the load of the machine drifts: this
        # cancels a steady drift); each page's figures are the mean of its two rounds.
        rounds = {"division": [], "single": []}
        for name, rollup_pages in (("division", True), ("single", False), ("single", False), ("division", False)):
            rounds[name].append(measure(urls[name], quick, rollup_pages, size, pair, len(rounds[name])))
        for name, measured in rounds.items():
            for key in measured[0]:
                values = [m[key] for m in measured if key in m]
                results[name][key] = values[0] if not isinstance(values[0], dict) else {
                    "p50": statistics.mean(v["p50"] for v in values), "p95": statistics.mean(v["p95"] for v in values),
                    "queries": max(v["queries"] for v in values)}
    admin_engine.dispose()
    Path(out_path).write_text(json.dumps(results))


def report(results: dict) -> None:
    size, div, one = results["size"], results["division"], results["single"]
    print(f"  division: {size['communities']} communities × {size['grids']} grids, {size['volunteers']:,} volunteers, "
          f"{size['entries']:,} entries (+ the attendances' awards); single grid: the same volumes in one grid")

    def fig(m):
        return f"p50 {m['p50']:7.1f} ms  p95 {m['p95']:7.1f} ms  {m['queries']:2d} statements"

    for key, target in (("division rollup", DIVISION_TARGET_MS), ("community rollup", COMMUNITY_TARGET_MS),
                        ("grid figures", None)):
        verdict = "" if target is None else f"(target ≤ {target:.0f} ms: {'met' if div[key]['p95'] <= target else 'MISSED'})"
        print(f"    {key:<20} {fig(div[key])}  {verdict}")
    print(f"    division page rows: {div['division rows']} communities")
    for key in ("/me", "/me/points", "counter lookup", "counter panel", "counter confirm"):
        ratio = div[key]["p50"] / one[key]["p50"] if one[key]["p50"] else float("nan")
        verdict = "met" if ratio <= RATIO_TARGET else "MISSED"
        print(f"    {key:<15} division {fig(div[key])} | single {fig(one[key])} | ratio ×{ratio:.2f} "
              f"(target ≤ {RATIO_TARGET}: {verdict})")


def run(quick: bool = False) -> dict:
    """Start the throwaway cluster with this script inside it; print and return the figures."""
    print("== roll-ups at division scale (PostgreSQL) ==")
    print(f"  load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="gridapp-bench-rollups-out-") as tmp:
        out = Path(tmp) / "results.json"
        command = [str(_support.REPO / "tests" / "with_postgres.sh"), sys.executable, __file__, "--inner", str(out)]
        if quick:
            command.append("--quick")
        started = time.monotonic()
        subprocess.run(command, cwd=_support.REPO, check=True, timeout=TIMEOUT[quick])
        results = json.loads(out.read_text())
    report(results)
    print(f"  (took {time.monotonic() - started:.0f} s)")
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 communities, 10,000 volunteers, 200,000 entries")
    parser.add_argument("--inner", metavar="RESULTS", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inner:
        inner(args.quick, args.inner)
        return 0
    run(args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
