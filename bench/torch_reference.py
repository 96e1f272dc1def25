"""The seed chapter's PyTorch word2vec, as a reference for the benchmarks (torch needed, never by w2v-np).

This is the d2l book's "Pretraining word2vec" (PyTorch tab) run end to end on PTB: the
data of ``d2l.load_data_ptb(batch_size=512, max_window_size=5, num_noise_words=5)``
and the chapter's ``train(net, data_iter, lr=0.002, num_epochs=5)``, timed honestly, so
that w2v-np can be compared with the code it learns from.  torch is imported here only;
it is not a dependency of the package.

How it follows the chapter:

* Data: the book's pipeline through ``seed_pipeline`` (our pure-Python copy of it):
  ``read_ptb``, ``Vocab(min_freq=10)``, ``subsample``, ``get_centers_and_contexts``,
  ``get_negatives`` and ``PTBDataset``, then a ``torch.utils.data.DataLoader`` with
  ``shuffle=True`` and the book's collate function ``batchify`` (its arrays made tensors).
* Model: ``nn.Sequential(nn.Embedding(V, 100), nn.Embedding(V, 100))`` with every
  ``nn.Embedding`` weight re-initialised by ``xavier_uniform_`` (the chapter's
  ``init_weights``); ``skip_gram`` with ``torch.bmm``; ``SigmoidBCELoss`` with the mask as
  the weight of ``binary_cross_entropy_with_logits(..., reduction="none").mean(dim=1)``.
* Training: per batch ``zero_grad``, ``l = loss(pred.reshape(label.shape).float(),
  label.float(), mask) / mask.sum(axis=1) * mask.shape[1]``, ``l.sum().backward()``,
  ``Adam(lr=0.002).step()``; 5 epochs.

Where it departs, and why:

* ``--num-workers`` defaults to 0 (batches collated in the main process); the book uses
  ``d2l.get_dataloader_workers()`` = 4 worker processes.  On a 2-core machine workers
  compete with torch's compute threads, and 0 keeps runs deterministic and the timing
  simple to read; pass ``--num-workers 4`` for the book's setting (the workers are
  restarted at each epoch, as in the book, and that cost lands in the epoch's time).
* ``batchify`` is ``seed_pipeline.batchify`` (NumPy) wrapped by ``torch.from_numpy``: mask
  and label are float32 where the book's are int64 tensors; they hold the same 0/1
  values, so the loss is the same.
* The loss of an epoch is the mean per-example loss over that epoch's examples.  The
  book's printed figure is its ``Accumulator``, never reset between epochs: a running
  mean over all epochs so far.  Both are reported ("loss" and "book_loss"); the book's
  line "loss X, Y tokens/sec" is printed at the end as the book prints it (its Y is the
  examples of all epochs divided by the last epoch's seconds, so it is not a rate).
* The book converts each batch's loss to a Python float (a host sync per batch); here the
  sum is accumulated on the device and read once per epoch, which can only make torch
  faster, so comparisons against this reference are conservative.
* One untimed warm-up step (forward, backward, Adam step) runs on a deep copy of the
  model with the dataset's first ``batch_size`` examples before the clocks start (first
  call costs: cuBLAS handles, allocator, kernel selection).  It uses no random numbers, so
  the trained model is the same with or without it.
* Seeded: ``random``, ``numpy`` and ``torch`` from ``--seed`` (the book does not seed).

What is counted: prep seconds from the file to the DataLoader ready (read, vocabulary,
subsample, encode, centers and contexts, noise words, dataset, loader; stages in the
JSON); per epoch the wall seconds of iterating the loader and training (CUDA synchronised
before each clock read), *centers per second* = ``len(dataset)`` / seconds (a center is
one example after subsampling); corpus words = tokens in the file, line ends not counted.

Usage:
  W2V_NP_DATA=/path/to/ptb python bench/torch_reference.py [--corpus ptb.train.txt]
      [--epochs 5] [--batch-size 512] [--dim 100] [--lr 0.002] [--device cpu|cuda]
      [--threads N] [--num-workers 0] [--seed 0] [--json OUT.json] [--vectors OUT.txt]
"""
import argparse
import copy
import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

import seed_pipeline

MAX_WINDOW = 5
NUM_NOISE_WORDS = 5


def fail(message):
    sys.exit(f"torch_reference.py: error: {message}")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=None,
                        help="corpus file (default: ptb.train.txt in $W2V_NP_DATA or the w2v-np cache)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--lr", type=float, default=0.002)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=os.cpu_count(),
                        help="torch.set_num_threads (default: os.cpu_count())")
    parser.add_argument("--num-workers", type=int, default=0,
                        help="DataLoader worker processes (default 0; the book uses 4)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, metavar="OUT", help="write the figures as JSON")
    parser.add_argument("--vectors", default=None, metavar="OUT",
                        help="write the center embeddings in word2vec text format")
    args = parser.parse_args(argv)
    for name in ("epochs", "batch_size", "dim", "threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.num_workers < 0:
        parser.error("--num-workers must be >= 0")
    return args


def default_corpus():
    from w2v_np.corpus import find_ptb
    from w2v_np.errors import W2VError
    try:
        return find_ptb(download=False)
    except W2VError as exc:
        fail(f"no corpus: {exc}; pass --corpus or set W2V_NP_DATA")


def collate(data):
    """The book's ``batchify``, as tensors: center (B, 1), context_negative, mask, label."""
    import torch
    return tuple(torch.from_numpy(array) for array in seed_pipeline.batchify(data))


def load_data(path, batch_size, num_workers, stages):
    """``d2l.load_data_ptb(batch_size, 5, 5)`` on ``path``: (data_iter, vocab, corpus_words).

    ``stages`` receives the seconds of each step (back to back, so they add up).
    """
    import torch
    clock = [time.perf_counter()]

    def lap(stage):
        now = time.perf_counter()
        stages[stage] = now - clock[0]
        clock[0] = now

    sentences = seed_pipeline.read_ptb(path)
    lap("read")
    vocab = seed_pipeline.Vocab(sentences, min_freq=seed_pipeline.MIN_FREQ)
    lap("vocabulary")
    subsampled, counter = seed_pipeline.subsample(sentences, vocab)
    lap("subsample")
    corpus = [vocab[line] for line in subsampled]
    lap("encode")
    all_centers, all_contexts = seed_pipeline.get_centers_and_contexts(corpus, MAX_WINDOW)
    lap("centers_contexts")
    all_negatives = seed_pipeline.get_negatives(all_contexts, vocab, counter, NUM_NOISE_WORDS)
    lap("negatives")
    dataset = seed_pipeline.PTBDataset(all_centers, all_contexts, all_negatives)
    data_iter = torch.utils.data.DataLoader(dataset, batch_size, shuffle=True, collate_fn=collate,
                                            num_workers=num_workers)
    lap("loader")
    corpus_words = sum(len(line) for line in sentences)
    return data_iter, vocab, corpus_words


def build_net(torch, vocab_size, dim):
    """The chapter's two embedding tables, re-initialised as its ``init_weights`` does."""
    nn = torch.nn

    def init_weights(module):
        if type(module) is nn.Embedding:
            nn.init.xavier_uniform_(module.weight)

    net = nn.Sequential(nn.Embedding(num_embeddings=vocab_size, embedding_dim=dim),
                        nn.Embedding(num_embeddings=vocab_size, embedding_dim=dim))
    net.apply(init_weights)
    return net


def skip_gram(torch, center, contexts_and_negatives, embed_v, embed_u):
    v = embed_v(center)
    u = embed_u(contexts_and_negatives)
    return torch.bmm(v, u.permute(0, 2, 1))


def sigmoid_bce_loss(torch, inputs, target, mask=None):
    """The chapter's ``SigmoidBCELoss``: masked BCE with logits, mean over each row."""
    out = torch.nn.functional.binary_cross_entropy_with_logits(inputs, target, weight=mask, reduction="none")
    return out.mean(dim=1)


def train_step(torch, net, optimizer, batch, device):
    """One step of the chapter's loop; returns the per-example losses ``l`` (B,)."""
    optimizer.zero_grad()
    center, context_negative, mask, label = [data.to(device) for data in batch]
    pred = skip_gram(torch, center, context_negative, net[0], net[1])
    l = (sigmoid_bce_loss(torch, pred.reshape(label.shape).float(), label.float(), mask)  # noqa: E741
         / mask.sum(axis=1) * mask.shape[1])
    l.sum().backward()
    optimizer.step()
    return l


def main(argv=None):
    args = parse_args(argv)
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        fail(f"--device cuda: CUDA is not available to this torch ({torch.__version__})")
    device = torch.device(args.device)
    torch.set_num_threads(args.threads)
    path = Path(args.corpus) if args.corpus else default_corpus()
    if not path.is_file():
        fail(f"corpus not found: {path}")
    for out in (args.json, args.vectors):   # before training, not after it
        if out:
            try:
                Path(out).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                fail(f"cannot create the folder of {out}: {exc.strerror or exc}")

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    stages = {}
    start = time.perf_counter()
    data_iter, vocab, corpus_words = load_data(path, args.batch_size, args.num_workers, stages)
    prep_seconds = time.perf_counter() - start
    dataset = data_iter.dataset
    num_centers = len(dataset)

    net = build_net(torch, len(vocab), args.dim).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=args.lr)

    # Untimed warm-up on a copy: no random numbers drawn, so the real run is unchanged.
    warm_start = time.perf_counter()
    warm_net = copy.deepcopy(net)
    warm_optimizer = torch.optim.Adam(warm_net.parameters(), lr=args.lr)
    warm_batch = collate([dataset[i] for i in range(min(args.batch_size, num_centers))])
    train_step(torch, warm_net, warm_optimizer, warm_batch, device)
    sync()
    del warm_net, warm_optimizer
    warmup_seconds = time.perf_counter() - warm_start

    print(f"torch {torch.__version__} on {device}, {args.threads} threads, {args.num_workers} loader workers; "
          f"{corpus_words:,} corpus words, vocabulary {len(vocab):,}, {num_centers:,} centers; "
          f"prep {prep_seconds:.2f} s", flush=True)

    epochs = []
    book_sum, book_count = 0.0, 0   # the book's Accumulator(2), never reset
    for epoch in range(args.epochs):
        sync()
        epoch_start = time.perf_counter()
        total = torch.zeros((), dtype=torch.float64, device=device)
        count = 0
        for batch in data_iter:
            l = train_step(torch, net, optimizer, batch, device)  # noqa: E741
            total += l.detach().sum(dtype=torch.float64)
            count += l.numel()
        sync()
        seconds = time.perf_counter() - epoch_start
        loss_sum = float(total)
        book_sum, book_count = book_sum + loss_sum, book_count + count
        epochs.append({"epoch": epoch + 1, "loss": loss_sum / count, "seconds": seconds,
                       "centers_per_second": num_centers / seconds, "book_loss": book_sum / book_count})
        print(f"epoch {epoch + 1}: loss {loss_sum / count:.4f} (book's running {book_sum / book_count:.4f}), "
              f"{seconds:.2f} s, {num_centers / seconds:,.0f} centers/s", flush=True)
    book_line = f"loss {book_sum / book_count:.3f}, {book_count / epochs[-1]['seconds']:.1f} tokens/sec on {device}"
    print(f"the book would print: {book_line}")

    if args.vectors:
        from w2v_np.io import write_word2vec
        weights = net[0].weight.detach().cpu().numpy()
        write_word2vec(args.vectors, vocab.idx_to_token, weights)
        print(f"vectors: {args.vectors}")

    if args.json:
        rates = sorted(e["centers_per_second"] for e in epochs)
        result = {
            "engine": "torch", "device": str(device), "threads": args.threads,
            "prep_seconds": prep_seconds, "prep_stages": stages, "warmup_seconds": warmup_seconds,
            "epochs": epochs, "train_seconds": sum(e["seconds"] for e in epochs),
            "median_centers_per_second": float(np.median(rates)),
            "num_centers": num_centers, "corpus_words": corpus_words, "vocab_size": len(vocab),
            "book_printed": book_line,
            "config": {"corpus": str(path), "epochs": args.epochs, "batch_size": args.batch_size,
                       "dim": args.dim, "lr": args.lr, "max_window": MAX_WINDOW,
                       "num_noise_words": NUM_NOISE_WORDS, "min_freq": seed_pipeline.MIN_FREQ,
                       "subsample_t": seed_pipeline.SUBSAMPLE_T, "num_workers": args.num_workers,
                       "seed": args.seed, "torch": torch.__version__},
            "vectors": str(args.vectors) if args.vectors else None,
        }
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
        print(f"json: {args.json}")


if __name__ == "__main__":
    main()
