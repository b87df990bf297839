"""How long the sandbox catalogue takes to build (it is built once per `tuike run`).

.venv/bin/python bench/catalogue.py

The last line is a JSON object of the figures (see bench/README.md).
"""

from __future__ import annotations

import json
import statistics
import time

from tuike_sandbox.catalogue import generate_catalogue


def main() -> None:
    times = []
    for _ in range(10):
        start = time.perf_counter()
        catalogue = generate_catalogue(2026)
        times.append(time.perf_counter() - start)
    print(
        f"{len(catalogue.products)} products, {len(catalogue.coupons)} coupons: "
        f"build median {statistics.median(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms over 10 builds"
    )
    figures = {
        "products": len(catalogue.products),
        "coupons": len(catalogue.coupons),
        "build_median_ms": round(statistics.median(times) * 1000, 1),
        "build_max_ms": round(max(times) * 1000, 1),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
