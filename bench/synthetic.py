"""A synthetic corpus with planted word groups, for scaling runs of any size.

Usage: python bench/synthetic.py --tokens 10_000_000 --vocab 100_000 --out DIR [--seed 0]
           [--group-size 10] [--cluster-size 4] [--noise 0.2] [--pairs 2000] [--quiet]

Writes ``DIR/corpus.txt`` (one sentence per line, space-separated tokens, exactly
``--tokens`` tokens), ``DIR/pairs.tsv`` (a WordSim-style ``word1<TAB>word2<TAB>score`` file
with a ``#`` header, for ``w2v_np.evaluate.evaluate_pairs`` or gensim's
``evaluate_word_pairs``) and ``DIR/meta.json`` (the parameters, token and type counts,
seconds, pair counts).

Vocabulary.  The types are ``w0 .. w{V-1}``; ``w{r}`` has rank ``r`` and the Zipf-Mandelbrot
unigram weight ``1 / (r + 2.7) ** s`` (``--zipf-exponent s``, default 1.0), like word counts
of real text, so ``min_count`` and subsampling behave as they do there.  Consecutive ranks
form *groups* of ``--group-size`` words (similar frequencies: group ``r // group_size``), and
consecutive groups form *clusters* of ``--cluster-size`` groups (cluster
``r // (group_size * cluster_size)``).

Text.  The token stream is a sequence of *runs* of 2..5 tokens (uniform).  A run's tokens
are drawn from one group, each word with its Zipf weight restricted to the group.  Runs come
in *topic segments*: a run starts a new segment with probability 0.4 (so a segment holds 2.5
runs on average), a segment draws one cluster with the clusters' total weights, and each run
of the segment draws a group of that cluster with the groups' weights within it.  Then every
token is independently replaced, with probability ``--noise`` (0.2), by a background word
drawn from the whole Zipf distribution.  Every token's marginal law is therefore exactly the
Zipf law above, while words of one group share windows far more often than chance, and words
of one cluster somewhat more.  The stream is cut into sentences of 10..30 tokens (uniform,
the last one shorter if need be); runs and segments may straddle a sentence end.

Evaluation.  ``pairs.tsv`` holds ``--pairs`` distinct pairs of words whose expected count is
at least ``--pair-min-count`` (50): half from one group (score 10), a quarter from two groups
of one cluster (score 5), a quarter from two different clusters at most two clusters apart
(score 0; so pairs of all three levels join words of similar frequency).  Vectors that
recover the groups give a high Spearman correlation; random vectors give about 0.

Speed and memory.  The text is made and written in chunks of ``--chunk-tokens`` (2M) tokens,
all with NumPy: the cluster, group and word draws use alias tables (O(1) per draw; one per
group and one per cluster, built for all of them at once), and the text of a chunk is
gathered from a fixed-width byte table of the words (``"w123 "``), its newlines set at the
sentence ends and its padding squeezed out, then written as one bytes object.  Memory is
bounded by the chunk size plus O(V) tables: 100M tokens of 1M types peak at 260 MB resident
and take 9 s (11M tokens/s on 2 cores; the work is single-threaded).  The output is a
function of the seed, the parameters and the chunk size (each chunk draws from
``default_rng([seed, chunk index])``).
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ZIPF_SHIFT = 2.7
RUN_LENGTHS = (2, 5)          # tokens per run, inclusive
NEW_SEGMENT = 0.4             # probability that a run starts a new topic segment
SENTENCE_LENGTHS = (10, 30)   # tokens per sentence, inclusive
SCORES = {"group": 10.0, "cluster": 5.0, "other": 0.0}


def zipf_weights(vocab, exponent):
    """float64 ``(V,)``: the unigram probabilities of ranks ``0 .. V-1``."""
    weights = 1.0 / (np.arange(vocab) + ZIPF_SHIFT) ** exponent
    return weights / weights.sum()


def alias_rows(weights):
    """Alias tables of every row of ``weights`` (rows, K), built for all rows at once.

    Robin Hood construction (Marsaglia et al.): K times, the smallest remaining slot of each
    row keeps its own scaled weight and lends the rest of its unit to the largest slot.
    Returns float64 ``prob`` (rows, K) and int64 ``alias`` (rows, K), column indices: draw a
    slot k uniformly, keep it with probability ``prob[k]``, else take ``alias[k]``.  Rows
    may hold zeros (padding); each row must have a positive sum.
    """
    rows, k = weights.shape
    scaled = weights / weights.sum(axis=1, keepdims=True) * k
    prob = np.ones((rows, k))
    alias = np.tile(np.arange(k), (rows, 1))
    active = np.ones((rows, k), dtype=bool)
    index = np.arange(rows)
    for _ in range(k - 1):
        small = np.where(active, scaled, np.inf).argmin(axis=1)
        active[index, small] = False
        large = np.where(active, scaled, -np.inf).argmax(axis=1)
        low = scaled[index, small]
        prob[index, small] = np.minimum(low, 1.0)
        alias[index, small] = large
        scaled[index, large] -= 1.0 - low
    return prob, alias


def alias_table(weights):
    """Alias table of one distribution (Vose's method, one Python pass), as ``alias_rows``."""
    k = len(weights)
    scaled = (weights / weights.sum() * k).tolist()
    prob, alias = [1.0] * k, list(range(k))
    small = [i for i, v in enumerate(scaled) if v < 1.0]
    large = [i for i, v in enumerate(scaled) if v >= 1.0]
    while small and large:
        s, g = small.pop(), large[-1]
        prob[s], alias[s] = scaled[s], g
        scaled[g] -= 1.0 - scaled[s]
        if scaled[g] < 1.0:
            small.append(large.pop())
    return np.array(prob), np.array(alias, dtype=np.int64)


class Sampler:
    """The three-level Zipf law (cluster -> group -> word) as alias tables."""

    def __init__(self, vocab, group_size, cluster_size, exponent):
        self.vocab, self.group_size, self.cluster_size = vocab, group_size, cluster_size
        self.p = zipf_weights(vocab, exponent)
        self.num_groups = -(-vocab // group_size)
        self.num_clusters = -(-self.num_groups // cluster_size)
        words = np.zeros(self.num_groups * group_size)
        words[:vocab] = self.p
        words = words.reshape(self.num_groups, group_size)               # (groups, G), 0-padded
        groups = np.zeros(self.num_clusters * cluster_size)
        groups[:self.num_groups] = words.sum(axis=1)
        groups = groups.reshape(self.num_clusters, cluster_size)          # (clusters, C), 0-padded
        self.word_prob, self.word_alias = (a.ravel() for a in alias_rows(words))
        self.group_prob, self.group_alias = (a.ravel() for a in alias_rows(groups))
        self.cluster_prob, self.cluster_alias = alias_table(groups.sum(axis=1))

    @staticmethod
    def _draw(rng, base, k, prob, alias, dtype=np.float32):
        """One alias draw per entry of ``base`` (row offsets ``row * k``): the column index.

        One uniform per draw: its integer part picks the slot, its fraction decides between
        the slot and its alias (float32 for the small tables, float64 for the large one).
        """
        x = rng.random(len(base), dtype=dtype) * k
        slot = x.astype(np.int64)
        slot = np.minimum(slot, k - 1)
        pick = base + slot
        return np.where(x - slot < prob[pick], slot, alias[pick])

    def clusters(self, rng, n):
        return self._draw(rng, np.zeros(n, dtype=np.int64), self.num_clusters, self.cluster_prob,
                          self.cluster_alias, dtype=np.float64)

    def groups(self, rng, clusters):
        return clusters * self.cluster_size + self._draw(rng, clusters * self.cluster_size, self.cluster_size,
                                                         self.group_prob, self.group_alias)

    def words(self, rng, groups):
        return groups * self.group_size + self._draw(rng, groups * self.group_size, self.group_size,
                                                     self.word_prob, self.word_alias)

    def background(self, rng, n):
        return self.words(rng, self.groups(rng, self.clusters(rng, n)))


def lengths_to_cover(rng, n, low, high):
    """int64 lengths uniform in ``low..high`` summing to exactly ``n`` (the last one cut)."""
    count = n // low + 1
    lengths = rng.integers(low, high + 1, size=count)
    ends = np.cumsum(lengths)
    last = int(np.searchsorted(ends, n))
    lengths = lengths[:last + 1]
    lengths[-1] -= ends[last] - n
    return lengths[lengths > 0]


def chunk_ids(sampler, rng, n, noise):
    """int64 ``(n,)`` word ranks of one chunk and the int64 positions of its sentence ends."""
    runs = lengths_to_cover(rng, n, *RUN_LENGTHS)
    starts = rng.random(len(runs)) < NEW_SEGMENT
    starts[0] = True
    segment = np.cumsum(starts) - 1                                   # (runs,) segment of each run
    cluster = sampler.clusters(rng, int(segment[-1]) + 1)[segment]
    group = np.repeat(sampler.groups(rng, cluster), runs)             # (n,)
    ids = sampler.words(rng, group)
    replaced = np.flatnonzero(rng.random(n) < noise)
    ids[replaced] = sampler.background(rng, len(replaced))
    sentence_ends = np.cumsum(lengths_to_cover(rng, n, *SENTENCE_LENGTHS)) - 1
    return ids, sentence_ends


def name_table(vocab):
    """uint8 ``(V, W)``: ``b"w{r} "`` padded with zero bytes, and int64 ``(V,)`` lengths with the space."""
    names = np.array([f"w{r} " for r in range(vocab)], dtype=f"S{len(str(vocab - 1)) + 2}")
    lengths = np.char.str_len(names).astype(np.int64)
    return names.view(np.uint8).reshape(vocab, -1), lengths


def chunk_text(table, lengths, ids, sentence_ends):
    """The bytes of one chunk: the words' names, a newline after each sentence."""
    width = table.shape[1]
    rows = table.view(f"V{width}").ravel()[ids].view(np.uint8).reshape(len(ids), width)  # (n, W)
    rows[sentence_ends, lengths[ids[sentence_ends]] - 1] = ord("\n")
    return rows[rows != 0].tobytes()


def pick_pairs(sampler, rng, eligible, total):
    """``[(rank_a, rank_b, score)]``: ``total`` distinct pairs of ``eligible`` ranks (0..E-1)."""
    g, c = sampler.group_size, sampler.group_size * sampler.cluster_size
    quarter = total // 4 if sampler.cluster_size > 1 else 0     # one group per cluster: no middle level
    wanted = {"group": total // 2, "cluster": quarter, "other": total - total // 2 - quarter}
    found = {level: [] for level in wanted}
    seen = set()
    for _ in range(200 * total if eligible > 1 else 0):
        if all(len(found[level]) >= wanted[level] for level in wanted):
            break
        level = next(level for level in wanted if len(found[level]) < wanted[level])
        a = int(rng.integers(eligible))
        if level == "group":
            lo = a // g * g
            b = lo + int(rng.integers(g))
        elif level == "cluster":
            own = a // g % sampler.cluster_size
            other = (own + 1 + int(rng.integers(sampler.cluster_size - 1))) % sampler.cluster_size
            b = a // c * c + other * g + int(rng.integers(g))
            if b // g == a // g:
                continue
        else:
            step = int(rng.choice([-2, -1, 1, 2]))
            b = (a // c + step) * c + int(rng.integers(c))
        if b == a or not 0 <= b < eligible or (min(a, b), max(a, b)) in seen:
            continue
        seen.add((min(a, b), max(a, b)))
        found[level].append((a, b, SCORES[level]))
    pairs = [pair for level in wanted for pair in found[level]]
    rng.shuffle(pairs)
    return pairs, {level: len(found[level]) for level in found}


def generate(args, log):
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    sampler = Sampler(args.vocab, args.group_size, args.cluster_size, args.zipf_exponent)
    table, lengths = name_table(args.vocab)
    setup = time.perf_counter() - start
    counts = np.zeros(args.vocab, dtype=np.int64)
    written = 0
    num_chunks = -(-args.tokens // args.chunk_tokens)
    with open(out / "corpus.txt", "wb") as corpus:
        for index in range(num_chunks):
            rng = np.random.default_rng([args.seed, index])
            n = min(args.chunk_tokens, args.tokens - written)
            ids, ends = chunk_ids(sampler, rng, n, args.noise)
            counts += np.bincount(ids, minlength=args.vocab)
            corpus.write(chunk_text(table, lengths, ids, ends))
            written += n
            elapsed = time.perf_counter() - start
            log(f"{written:,} / {args.tokens:,} tokens, {elapsed:.1f} s, {written / elapsed:,.0f} tokens/s")
    seconds = time.perf_counter() - start

    expected = sampler.p * args.tokens
    eligible = int(np.searchsorted(-expected, -args.pair_min_count, side="right"))  # expected >= min
    pairs, levels = pick_pairs(sampler, np.random.default_rng([args.seed, 1 << 32]), eligible, args.pairs)
    with open(out / "pairs.tsv", "w") as file:
        file.write(f"# synthetic pairs (bench/synthetic.py, seed {args.seed}, {args.tokens} tokens, "
                   f"{args.vocab} types): score {SCORES['group']:g} = same group of {args.group_size}, "
                   f"{SCORES['cluster']:g} = same cluster of {args.cluster_size} groups, "
                   f"{SCORES['other']:g} = different clusters\n# Word 1\tWord 2\tScore\n")
        file.writelines(f"w{a}\tw{b}\t{score:g}\n" for a, b, score in pairs)
    if len(pairs) < args.pairs:
        print(f"warning: only {len(pairs)} pairs among the {eligible} words expected "
            f"{args.pair_min_count}+ times", file=sys.stderr)
    meta = {"parameters": {key: getattr(args, key) for key in (
                "tokens", "vocab", "seed", "group_size", "cluster_size", "noise", "zipf_exponent",
                "pairs", "pair_min_count", "chunk_tokens")},
            "constants": {"zipf_shift": ZIPF_SHIFT, "run_lengths": RUN_LENGTHS, "new_segment": NEW_SEGMENT,
                          "sentence_lengths": SENTENCE_LENGTHS, "scores": SCORES},
            "tokens": int(counts.sum()), "types": int(np.count_nonzero(counts)),
            "types_count_ge_5": int((counts >= 5).sum()), "types_count_ge_10": int((counts >= 10).sum()),
            "groups": sampler.num_groups, "clusters": sampler.num_clusters,
            "bytes": (out / "corpus.txt").stat().st_size, "seconds": seconds, "setup_seconds": setup,
            "tokens_per_second": args.tokens / seconds,
            "pair_words": eligible, "pairs_by_level": levels}
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=10_000_000, help="tokens to write (default: 10M)")
    parser.add_argument("--vocab", type=int, default=100_000, help="types w0 .. w{V-1} (default: 100k)")
    parser.add_argument("--out", required=True, help="folder for corpus.txt, pairs.tsv and meta.json")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--group-size", type=int, default=10, help="words per planted group (default: 10)")
    parser.add_argument("--cluster-size", type=int, default=4, help="groups per cluster (default: 4)")
    parser.add_argument("--noise", type=float, default=0.2,
                        help="probability that a token is a background Zipf word (default: 0.2)")
    parser.add_argument("--zipf-exponent", type=float, default=1.0,
                        help="s in the weight 1/(rank + 2.7)^s (default: 1.0)")
    parser.add_argument("--pairs", type=int, default=2000, help="pairs in pairs.tsv (default: 2000)")
    parser.add_argument("--pair-min-count", type=float, default=50,
                        help="pairs use words expected at least this often (default: 50)")
    parser.add_argument("--chunk-tokens", type=int, default=2_000_000,
                        help="tokens made and written at a time (default: 2M)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args()
    if args.tokens < 1 or args.vocab < 2 or args.group_size < 2 or args.cluster_size < 1 or args.chunk_tokens < 1:
        parser.error("--tokens, --vocab, --group-size, --cluster-size and --chunk-tokens must be positive "
                     "(--vocab and --group-size at least 2)")
    if not 0.0 <= args.noise <= 1.0:
        parser.error("--noise must lie in [0, 1]")

    def log(message):
        if not args.quiet:
            print(message, file=sys.stderr, flush=True)

    meta = generate(args, log)
    print(f"{meta['tokens']:,} tokens, {meta['types']:,} types seen, {meta['bytes'] / 2**20:,.1f} MiB "
          f"in {meta['seconds']:.2f} s ({meta['tokens_per_second']:,.0f} tokens/s); "
          f"{sum(meta['pairs_by_level'].values())} pairs over {meta['pair_words']:,} words -> {args.out}")


if __name__ == "__main__":
    main()
