"""Markdown table of a `refcnn train` run's log.csv next to the article's log
(fixtures/article/mnist_training_log.json).

    python scripts/reproduction_report.py RUN_DIR
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = ROOT / "fixtures" / "article" / "mnist_training_log.json"


def main(run_dir: str) -> None:
    with open(Path(run_dir) / "log.csv", newline="") as file:
        ours = list(csv.DictReader(file))
    article = {row[0]: row for row in json.loads(ARTICLE.read_text(encoding="utf-8"))["rows"]}
    print(
        "| epoch | refcnn train acc | train loss | test acc | test loss | s | "
        "article train acc | train loss | test acc | test loss |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in ours:
        epoch = int(row["epoch"])
        theirs = article.get(epoch)
        right = (
            f"{theirs[1]:.4f} | {theirs[2]:.4f} | {theirs[3]:.4f} | {theirs[4]:.4f}"
            if theirs
            else "| | |"
        )
        print(
            f"| {epoch} | {float(row['train_acc']):.4f} | {float(row['train_loss']):.4f} | "
            f"{float(row['test_acc']):.4f} | {float(row['test_loss']):.4f} | "
            f"{float(row['seconds']):.1f} | {right} |"
        )
    total = sum(float(row["seconds"]) for row in ours)
    print(
        f"\nrefcnn training time: {total:.0f} s over {len(ours) - 1} epochs "
        f"(evaluation not included); the article: 38 min 19 s in all."
    )


if __name__ == "__main__":
    main(sys.argv[1])
