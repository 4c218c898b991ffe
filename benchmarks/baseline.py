"""Plain-Python baselines: the plugins' HTTP calls without any Singer machinery.

``tap`` mode reads the property definitions, then pages through the list
endpoint with the same parameters as the tap's full sync (100 per page, every
property), parses each answer and writes ``json.dumps`` of each course to
stdout. ``target`` mode reads a Singer file, parses each line, sends the
RECORD rows as ``batch/upsert`` calls of 100 on ``external_course_id`` and
parses each answer, writing ``json.dumps`` of each record to stdout.

Both talk only to the ``--url`` they are given (a sandbox on 127.0.0.1) and
stop at the last page or the end of the file. The token comes from the
environment variable ``BENCH_TOKEN``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from urllib.parse import urlsplit

import requests

PATH = "/crm/objects/2026-03/courses"
PROPERTIES = "/crm/properties/2026-03/courses"
MAX_PAGES = 1_000_000


def _session(url: str) -> requests.Session:
    if urlsplit(url).hostname not in {"127.0.0.1", "localhost"}:
        raise SystemExit("the baseline only talks to a sandbox on 127.0.0.1")
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {os.environ['BENCH_TOKEN']}"
    session.headers["Accept"] = "application/json"
    return session


def tap(url: str) -> int:
    """Page through every course; return how many were written."""
    session = _session(url)
    answer = session.get(url + PROPERTIES, timeout=60)
    answer.raise_for_status()
    names = [prop["name"] for prop in answer.json()["results"]]
    out = sys.stdout
    written = 0
    after = None
    for _ in range(MAX_PAGES):
        params = {"limit": "100", "properties": ",".join(names)}
        if after is not None:
            params["after"] = after
        answer = session.get(url + PATH, params=params, timeout=60)
        answer.raise_for_status()
        body = answer.json()
        for course in body.get("results") or []:
            out.write(json.dumps(course) + "\n")
            written += 1
        after = ((body.get("paging") or {}).get("next") or {}).get("after")
        if not after:
            break
    return written


def target(url: str, path: str) -> int:
    """Upsert every RECORD row of the Singer file at ``path``."""
    session = _session(url)
    out = sys.stdout
    written = 0
    batch: list[dict[str, object]] = []

    def send() -> None:
        answer = session.post(
            url + PATH + "/batch/upsert", json={"inputs": batch}, timeout=60
        )
        answer.raise_for_status()
        answer.json()
        batch.clear()

    with open(path, encoding="utf-8") as handle:
        for line in handle:
            message = json.loads(line)
            if message.get("type") != "RECORD":
                continue
            record = message["record"]
            out.write(json.dumps(record) + "\n")
            batch.append(
                {
                    "id": record["external_course_id"],
                    "idProperty": "external_course_id",
                    "properties": {
                        key: str(value)
                        for key, value in record.items()
                        if value is not None and key != "external_course_id"
                    },
                }
            )
            written += 1
            if len(batch) == 100:
                send()
    if batch:
        send()
    return written


def main() -> int:
    """Run one baseline."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=("tap", "target"))
    parser.add_argument("--url", required=True)
    parser.add_argument("--input", help="Singer file (target mode)")
    args = parser.parse_args()
    count = tap(args.url) if args.mode == "tap" else target(args.url, args.input)
    print(f"baseline {args.mode}: {count} records", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
