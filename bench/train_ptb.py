"""Whole PTB job with the seed's defaults: preparation + epochs, median of repeats.

Usage: W2V_NP_DATA=/path/to/ptb python bench/train_ptb.py [--repeats 3] [--epochs 5]
       [--sampler auto|numpy|numba] [--resample once|epoch]
Counts *centers per second* (examples after subsampling) per epoch, and wall seconds of
the whole job (reading, preparation, training, writing the outputs).
"""
import argparse
import tempfile
import time

from common import median, save

from w2v_np import TrainConfig, train


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sampler", default="auto", choices=["auto", "numpy", "numba"])
    parser.add_argument("--resample", default="once", choices=["once", "epoch"])
    args = parser.parse_args()
    runs = []
    for repeat in range(args.repeats):
        with tempfile.TemporaryDirectory() as out_dir:
            start = time.perf_counter()
            result = train(TrainConfig(corpus="ptb", epochs=args.epochs, seed=args.seed,
                                       sampler=args.sampler, resample=args.resample),
                           out_dir=out_dir, quiet=True)
            wall = time.perf_counter() - start
        metrics = result.metrics
        runs.append({"wall_seconds": wall, "prep_seconds": metrics["prep_seconds"],
                     "train_seconds": metrics["train_seconds"],
                     "epoch_seconds": [e["seconds"] for e in metrics["epochs"]],
                     "losses": [e["loss"] for e in metrics["epochs"]],
                     "centers_per_second": [e["centers_per_second"] for e in metrics["epochs"]]})
        print(f"run {repeat + 1}: whole job {wall:.2f} s (prep {metrics['prep_seconds']:.2f} s, "
              f"train {metrics['train_seconds']:.2f} s)", flush=True)
    summary = {key: median([r[key] for r in runs]) for key in ("wall_seconds", "prep_seconds", "train_seconds")}
    epoch_median = [median(r["epoch_seconds"][i] for r in runs) for i in range(args.epochs)]
    rate_median = median(c for r in runs for c in r["centers_per_second"])
    table = ["| whole job (s) | preparation (s) | training (s) | median epoch (s) | centers/s | losses |",
             "| --- | --- | --- | --- | --- | --- |",
             f"| {summary['wall_seconds']:.2f} | {summary['prep_seconds']:.2f} | "
             f"{summary['train_seconds']:.2f} | {median(epoch_median):.2f} | {rate_median:,.0f} | "
             + ", ".join(f"{loss:.4f}" for loss in runs[0]["losses"]) + " |",
             "", f"Median of {args.repeats} runs, NumPy backend, float32, seed {args.seed}, "
             f"{metrics['plan']['sampler']} sampler, resample {args.resample}."]
    # The NumPy reference with resample once keeps the original name, train_ptb.json.
    sampler = metrics["plan"]["sampler"]
    suffix = "" if (sampler, args.resample) == ("numpy", "once") else f"_{sampler}_{args.resample}"
    save(f"train_ptb{suffix}", {"runs": runs, "median": summary, "median_epoch_seconds": epoch_median,
                       "median_centers_per_second": rate_median}, table)
    print("\n".join(table))


if __name__ == "__main__":
    main()
