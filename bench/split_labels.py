"""Hold out a stratified share of a labelled CSV (text,category), for cross-validation.

    python bench/split_labels.py train.csv OUT_DIR [--held-out 0.1] [--seed 0]

Writes OUT_DIR/train.csv and OUT_DIR/test.csv for `caredesk triage eval`, so a public
training split can stand in for a held-back test split.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from caredesk.cli.eval_files import read_labelled_csv
from caredesk.domain.evaluation import LabelledText, stratified_split


def write(path: Path, examples: list[LabelledText]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "category"])
        writer.writerows([e.text, e.label] for e in examples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--held-out", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    kept, test = stratified_split(read_labelled_csv(args.source), args.held_out, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    write(args.out / "train.csv", kept)
    write(args.out / "test.csv", test)
    print(f"{len(kept)} training and {len(test)} held-out examples in {args.out}")


if __name__ == "__main__":
    main()
