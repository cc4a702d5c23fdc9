"""Warm dispatch: microseconds per request through ``app(event, context)``, fw vs Chalice.

The same 40-route app (benchmarks/_apps.py) runs on both; each framework answers the same mix
of eight requests; the best of several rounds is reported, and the ratio fw/Chalice.

    python benchmarks/bench_dispatch.py
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _apps  # noqa: E402

ROUNDS = 7
LOOPS = 2000


def per_request_us(app, events) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(LOOPS):
            for event in events:
                app(event, None)
        elapsed = time.perf_counter() - start
        best = min(best, elapsed)
    return best / (LOOPS * len(events)) * 1e6


def main() -> None:
    logging.disable(logging.CRITICAL)  # the 404 request logs nothing on either side, but be sure
    events = _apps.rest_40_events()
    results = {}
    for framework in ("chalice", "fw"):
        app = _apps.load(framework, _apps.REST_40).app
        answers = [
            (r["statusCode"], json.loads(r["body"]) if r["body"] else None)
            for r in map(lambda e: app(e, None), events)
        ]
        results[framework] = (per_request_us(app, events), answers)
    if results["fw"][1] != results["chalice"][1]:
        raise SystemExit(
            f"answers differ:\nfw      {results['fw'][1]}\nchalice {results['chalice'][1]}"
        )
    fw_us, chalice_us = results["fw"][0], results["chalice"][0]
    print(f"warm dispatch, 40-route app, {len(events)}-request mix")
    print(f"  chalice  {chalice_us:7.2f} us/request")
    print(f"  fw       {fw_us:7.2f} us/request")
    print(f"  ratio    {fw_us / chalice_us:7.2f}x  (goal <= 0.30x)")


if __name__ == "__main__":
    main()
