"""The counter's pages as HTML, from this code and from an export of another commit: are they the same?

A check, not a benchmark: after a change made for speed, the counter's answers must not change. It
builds a throwaway instance prepared by counter_setup.py (as counter.py), then, in a child process for
each code (``--code DIR``: an export of another commit, same schema), logs in as the demo grid worker
through the Flask test client and GETs, in Chinese and in English: lookups (4 digits, a name, a full
phone, nothing found), volunteer panels (with and without this month's redemptions), basket fragments
as htmx asks for them (an item added, quantities past a limit and past the stock, the balance short)
and receipts (a kept one and a voided one). Nothing is written, so both codes see the same database.
The one-time and CSRF tokens differ on every answer and are masked. Prints each URL that differs,
with the first differing lines; exit 1 if any does.

    .venv/bin/python bench/counter_html_check.py --code DIR
"""
import argparse
import difflib
import json
import re
import subprocess
import sys

import _support
import counter

_TOKEN_INPUT = re.compile(r'<input[^>]*name="(?:csrf_token|token)"[^>]*>')
_VALUE = re.compile(r'value="[^"]*"')
_HEADER = re.compile(r'(X-CSRFToken(?:"|&#34;|&quot;):\s*(?:"|&#34;|&quot;))[^"&]+')


def _masked(text: str) -> str:
    text = _TOKEN_INPUT.sub(lambda m: _VALUE.sub('value="…"', m.group(0)), text)
    return _HEADER.sub(lambda m: m.group(1) + "…", text)


def urls(setup: dict, redemptions: dict) -> list[tuple[str, bool]]:
    """(path, as htmx) of every answer compared."""
    (first, last4), (second, _l2) = setup["volunteers"][0], setup["volunteers"][1]
    pair = setup["pairs"][0]
    found = [(f"/counter?q={last4}", False), ("/counter?q=13777002000", False), ("/counter?q=王", False),
             ("/counter?q=9999", False), ("/counter", False)]
    for volunteer in (first, second, redemptions["busiest"]):
        found.append((f"/counter/v/{volunteer}", False))
        found.append((f"/counter/v/{volunteer}?q{pair[0]}=0&q{pair[1]}=0&add={pair[0]}", True))
        found.append((f"/counter/v/{volunteer}?q{pair[0]}=1&q{pair[1]}=0&add={pair[1]}", True))
        found.append((f"/counter/v/{volunteer}?q1=5&q2=9&q6=99&q10=30&remove=2", True))  # past limits and stock
        found.append((f"/counter/v/{volunteer}?q1=5&q2=9&q6=99&q10=30", False))
    for redemption in redemptions["receipts"]:
        found.append((f"/counter/redemptions/{redemption}", False))
    return found


def child(paths) -> dict:
    from gridapp import create_app

    app = create_app()
    app.config["RATELIMIT_ENABLED"] = False
    answers = {}
    for language in ("zh_CN", "en"):
        client = app.test_client()
        client.set_cookie("lang", language)
        counter._forms.log_in(client, counter.SERIAL_STAFF, _support.DEMO_PASSWORD)
        for path, htmx in paths:
            headers = {"HX-Request": "true"} if htmx else {}
            got = client.get(path, headers=headers)
            answers[f"{language} {'htmx ' if htmx else ''}{path}"] = (
                f"{got.status_code} {got.headers.get('Location', '')}\n{_masked(got.get_data(as_text=True))}")
    return answers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", required=True, help="an export of the other commit")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0
    with _support.throwaway_instance() as env:
        setup = counter.prepare(env)
        import sqlite3

        database = sqlite3.connect(env["GRIDAPP_DATABASE_URL"].removeprefix("sqlite:///"))
        receipts = [row[0] for row in database.execute(
            "SELECT min(id) FROM redemptions UNION ALL SELECT min(id) FROM redemptions WHERE voided_at IS NOT NULL")]
        busiest = database.execute("SELECT volunteer_id FROM redemptions GROUP BY volunteer_id "
                                   "ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
        database.close()
        paths = urls(setup, {"receipts": [r for r in receipts if r], "busiest": busiest})
        results = {}
        for name, code in (("this", None), ("other", args.code)):
            child_env = dict(env, PYTHONPATH=code) if code else dict(env)
            done = subprocess.run([str(_support.BIN / "python"), __file__, "--code", args.code,
                                   "--child", json.dumps(paths)], env=child_env, cwd=code or _support.REPO,
                                  capture_output=True, text=True, timeout=600)
            if done.returncode != 0:
                print(done.stderr[-4000:])
                return 1
            results[name] = json.loads(done.stdout.strip().splitlines()[-1])
    differing = [key for key in results["this"] if results["this"][key] != results["other"].get(key)]
    for key in differing:
        print(f"DIFFERS: {key}")
        diff = difflib.unified_diff(results["other"][key].splitlines(), results["this"][key].splitlines(),
                                    "other", "this", lineterm="", n=1)
        print("\n".join(list(diff)[:30]))
    size = sum(len(text) for text in results["this"].values())
    print(f"{len(results['this']) - len(differing)} of {len(results['this'])} answers the same ({size:,} characters)")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
