"""How long the sandbox catalogue takes to build (it is built once per `tuike run`).

.venv/bin/python bench/catalogue.py
"""

from __future__ import annotations

import statistics
import time

from bot.leagues.sandbox.catalogue import generate_catalogue


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


if __name__ == "__main__":
    main()
