"""Every module of the product sits in a layer of the import contract: a module no layer names is a
module whose imports nothing checks (the layers contract only judges the modules it lists)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _layer_entries() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    [layers] = [c for c in contracts if c["type"] == "layers" and "containers" not in c]
    return [part.strip().strip("()") for layer in layers["layers"] for part in layer.split("|")]


def test_every_product_module_is_in_a_layer() -> None:
    entries = _layer_entries()
    modules = {
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in (ROOT / "bot").rglob("*.py")
    }
    # packages themselves (`bot`, `bot.chat`) hold no code of their own beyond re-exports
    unplaced = sorted(
        m
        for m in modules
        if not any(m == e or m.startswith(e + ".") for e in entries)
        and not (ROOT / Path(*m.split("."))).is_dir()
    )
    assert not unplaced, f"add these to a layer in pyproject.toml's layers contract: {unplaced}"
