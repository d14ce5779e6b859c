"""Draw the soak's memory per process over time from the figures its test wrote.

`tests/cluster/test_soak.py` keeps its samples in `<cluster stack>/figures/test_soak.json`;
this draws each process's resident memory against time into
`docs/benchmarks/soak-memory.png` (needs pip install -e '.[bench]').

    python -m bench.soak_plot .stack-cluster/figures/test_soak.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks"
MIB = 1024 * 1024


def plot(figures: dict, out: Path = OUT / "soak-memory.png") -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    samples = figures["samples"]
    processes = sorted({name for s in samples for name in s["rss"]},
                       key=lambda name: -max(s["rss"].get(name, 0) for s in samples))
    figure, axis = plt.subplots(figsize=(9, 5.5), dpi=110)
    minutes = [s["t_s"] / 60 for s in samples]
    for name in processes:
        axis.plot(minutes, [s["rss"].get(name, 0) / MIB for s in samples], label=name,
                  linewidth=1.2)
    axis.set_yscale("log")
    axis.set_xlabel("minutes into the soak")
    axis.set_ylabel("resident memory (MiB, log scale)")
    axis.set_title(f"Soak at {figures['rate_commands_per_s']} commands/s "
                   f"(half of {figures['peak_commands_per_s']}): memory per process")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=7, ncol=2, loc="center left", bbox_to_anchor=(1.0, 0.5))
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out)
    plt.close(figure)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("figures", type=Path)
    args = parser.parse_args()
    print(plot(json.loads(args.figures.read_text())))


if __name__ == "__main__":
    main()
