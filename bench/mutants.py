"""Mutation pass: does some test fail when the maths of a kernel or a NumPy module is changed?

Each :class:`Mutation` replaces one exact snippet of one file (it must occur exactly once,
or the mutation is reported ``broken``) by a wrong but valid variant, in a scratch copy of
this checkout, and runs the tests that cover that file (:data:`TESTS`).  A mutation is
``caught`` when one of those tests fails (or they run past ``--timeout``), ``survived`` when
they pass: a survivor names semantics no test pins.  Tests that cannot even be collected
(pytest's exit status 2) make the mutation ``broken``, not caught: they detected nothing.
Not part of the default suite: it runs the mapped test files once per mutation, many
minutes in all.

    python bench/mutants.py --list                # the mutations, and whether each snippet is found once
    python bench/mutants.py --only rate-constant window-range
    python bench/mutants.py                       # all of them: run it alone on the machine

The scratch copy holds the files git tracks plus the untracked ones it does not ignore,
with ``w2v_np/kernels`` linked to its ``kernels/`` (the layout of an installed package), and
the tests run with ``PYTHONPATH`` set to it, so they import the copy, never the editable
install's checkout: every mutation checks ``w2v_np.__file__`` and
``w2v_np.kernels.__file__`` first.  The checkout is copied once when the pass starts (edits
made to it meanwhile change nothing), and each mutation gets a fresh copy of that snapshot
(always at one path),
and ``NUMBA_CACHE_DIR`` is an empty folder for a mutation of ``kernels/`` (Numba checks only
a compiled function's own file, so a kernel inlined from a mutated module could otherwise
come from the cache); mutations of ``w2v_np/`` leave the kernels as they are and share the
cache that the baseline run (the unmutated copy, which must pass) fills.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHECKPOINT_TESTS = ["tests/test_checkpoint.py::test_resume_reproduces_the_uninterrupted_run",
                    "tests/test_checkpoint.py::test_resume_is_exact_for_every_engine_and_optimizer",
                    "tests/test_optim.py::test_state_dict_round_trip"]

TESTS = {
    "kernels/streaming.py": ["tests/test_streaming_reference.py", "tests/test_streaming.py"],
    "kernels/schedule.py": ["tests/test_optim.py", "tests/test_streaming_reference.py"],
    "kernels/rng.py": ["tests/test_streaming_reference.py", "tests/test_sampling_draws.py"],
    "kernels/sampling.py": ["tests/test_sampling_draws.py", "tests/test_sampling_kernels.py",
                            "tests/test_streaming_reference.py"],
    "kernels/scores.py": ["tests/test_minibatch_kernels.py", "tests/test_streaming.py"],
    "kernels/minibatch.py": ["tests/test_minibatch_kernels.py"],
    "kernels/optimizers.py": ["tests/test_minibatch_kernels.py"],
    "kernels/text.py": ["tests/test_corpus_vocab.py"],
    "kernels/vector_text.py": ["tests/test_vector_text.py"],
    "kernels/gpu.py": ["tests/test_gpu_kernels.py"],
    "w2v_np/ops.py": ["tests/test_ops.py", "tests/test_model.py"],
    "w2v_np/sparse_grads.py": ["tests/test_sparse_grads.py", "tests/test_model.py"],
    "w2v_np/optim.py": ["tests/test_optim.py", "tests/test_minibatch_kernels.py"],
    "w2v_np/sampling.py": ["tests/test_sampling.py"],
    "w2v_np/model.py": ["tests/test_model.py"],
    "w2v_np/word2vec.py": ["tests/test_streaming_reference.py", "tests/test_streaming.py"],
    "w2v_np/streamed_corpus.py": ["tests/test_streaming.py", "tests/test_streaming_reference.py"],
    "w2v_np/vocab.py": ["tests/test_corpus_vocab.py"],
    "w2v_np/corpus.py": ["tests/test_corpus_vocab.py"],
    "w2v_np/train.py": CHECKPOINT_TESTS,
    "w2v_np/checkpoint.py": CHECKPOINT_TESTS + ["tests/test_write_behind.py"],
}
"""The tests that cover each file: pytest paths or node ids, relative to the checkout."""


@dataclass(frozen=True)
class Mutation:
    name: str
    path: str
    snippet: str
    replacement: str
    breaks: str
    caught_by: str
    """The test expected to fail (documentation: the pass runs all of :data:`TESTS` for the file)."""


M = Mutation
MUTATIONS = [
    # ---- kernels/streaming.py: the streaming SGD driver and its two steps
    M("rate-constant", "kernels/streaming.py",
      "alpha = dtype(_linear_decay(lr, min_lr_fraction, done_before + start, total_work))", "alpha = dtype(lr)",
      "rate schedule: word2vec.c's linear decay gone", "test_streaming_reference::test_sgd_hogwild_equals_reference"),
    M("window-range", "kernels/streaming.py",
      "window = 1 + min(int(uniform(state) * max_window), max_window - 1)",
      "window = min(int(uniform(state) * max_window), max_window - 1)",
      "window range 0..max_window-1 instead of 1..max_window", "test_sgd_hogwild_equals_reference"),
    M("window-right-edge", "kernels/streaming.py",
      "high = min(length, i + window + 1)", "high = min(length, i + window)",
      "window one word short on the right", "test_sgd_hogwild_equals_reference"),
    M("streaming-subsampling", "kernels/streaming.py",
      "if uniform(state) < keep_probability[ids[t]]:", "if uniform(state) < keep_probability[ids[t]] ** 2:",
      "subsampling keeps a token with probability p**2", "test_sgd_hogwild_equals_reference"),
    M("streaming-collision", "kernels/streaming.py",
      "if pick != positive:", "if pick >= 0:",
      "collision rule: a noise draw equal to the positive word is kept", "test_sgd_hogwild_equals_reference"),
    M("streaming-chunk-seed", "kernels/streaming.py",
      "state = chunk_stream(seed, chunk)", "state = chunk_stream(seed, local)",
      "per-chunk seeding: streams restart at every kernel call", "test_sgd_hogwild_equals_reference"),
    M("streaming-loss-terms", "kernels/streaming.py",
      "loss_sum += (neg_log + np.log(growth)) / terms", "loss_sum += (neg_log + np.log(growth)) / (terms + 1)",
      "a center's loss is not the mean BCE of its positions", "test_sgd_hogwild_equals_reference"),
    M("streaming-window-pairs", "kernels/streaming.py",
      "num_pairs += n\n", "num_pairs += n * num_targets\n",
      "pairs of a shared-noise window counted per target", "test_sgd_hogwild_equals_reference"),
    M("pair-gradient-sign", "kernels/streaming.py",
      "scores[k] = (label - sigmoid) * alpha", "scores[k] = (sigmoid - label) * alpha",
      "BCE sign of the pair step: ascent instead of descent", "test_streaming::test_sgd_pair_equals_reference"),
    M("pair-center-update", "kernels/streaming.py",
      "center_table[center, d] += neu[d]", "center_table[center, d] -= neu[d]",
      "pair step moves the center row the wrong way", "test_streaming::test_sgd_pair_equals_reference"),
    M("window-padding-mask", "kernels/streaming.py",
      "            else:\n                scores[a, k] = zero",
      "            else:\n                scores[a, k] = scores[a, k] * alpha",
      "window step: the padding input/target gets a gradient", "test_streaming::test_sgd_window_equals_reference"),
    # ---- kernels/schedule.py, kernels/rng.py
    M("schedule-no-floor", "kernels/schedule.py",
      "return lr * max(1 - done / total, min_fraction)", "return lr * (1 - done / total)",
      "the rate's floor min_fraction gone", "test_optim::test_sgd_rate_decays_linearly_to_its_floor"),
    M("rng-increment", "kernels/rng.py",
      "state[0] += GOLDEN_GAMMA", "state[0] += GOLDEN_GAMMA + np.uint64(2)",
      "SplitMix64 stream: another increment",
      "test_streaming_reference::test_reference_stream_draws_the_kernel_numbers"),
    M("rng-chunk-seed", "kernels/rng.py",
      "np.uint64(chunk + 1) * GOLDEN_GAMMA", "np.uint64(chunk) * GOLDEN_GAMMA",
      "chunk seeds: chunk 0 seeded by the bare seed", "test_reference_stream_draws_the_kernel_numbers"),
    M("rng-mantissa", "kernels/rng.py",
      ">> np.uint64(11)", ">> np.uint64(12)",
      "uniforms on [0, 0.5) instead of [0, 1)", "test_reference_stream_draws_the_kernel_numbers"),
    # ---- kernels/sampling.py
    M("alias-coin", "kernels/sampling.py",
      "return column if scaled - column < keep[column] else alias[column]",
      "return column if scaled - column > keep[column] else alias[column]",
      "Walker alias pick: the coin inverted", "test_sampling_draws::test_noise_words_equal_reference"),
    M("keep-mask-index", "kernels/sampling.py",
      "keep[i] = uniform(state) < keep_probability[ids[i]]",
      "keep[i] = uniform(state) < keep_probability[i % keep_probability.shape[0]]",
      "subsampling kernel reads the probability of the position, not the word",
      "test_sampling_draws::test_keep_mask_equals_reference"),
    M("sampling-window", "kernels/sampling.py",
      "window = 1 + min(int(uniform(state) * max_window), max_window - 1)", "window = max_window",
      "context windows not drawn: always max_window", "test_sampling_draws::test_context_windows_equal_reference"),
    M("noise-rejection", "kernels/sampling.py",
      "if contexts[j] == word:", "if contexts[j] == word and j > first:",
      "noise words may equal the center's first context word", "test_sampling_draws::test_noise_words_equal_reference"),
    M("noise-chunk-seed", "kernels/sampling.py",
      "    for chunk in prange(num_chunks):\n        state = chunk_stream(seed, chunk)",
      "    for chunk in prange(num_chunks):\n        state = chunk_stream(seed, 0)",
      "every chunk of noise words draws the same stream", "test_sampling_draws::test_noise_words_equal_reference"),
    M("pack-noise-slot", "kernels/sampling.py",
      "context_negative[row, column] = noise[j]", "context_negative[row, column] = noise[j - 1]",
      "batch packing shifts the noise words by one",
      "test_sampling_kernels::test_numba_pack_batch_overwrites_every_cell"),
    # ---- kernels/scores.py
    M("bce-misclassified", "kernels/scores.py",
      "if positive != (label > 0) else 0.0", "if positive == (label > 0) else 0.0",
      "BCE adds |x| where the sign agrees with the label",
      "test_minibatch_kernels::test_bce_position_is_stable_and_exact_for_any_logit"),
    M("bce-fold", "kernels/scores.py",
      "        neg_log += np.log(growth)\n        growth = 1.0",
      "        neg_log += np.log(growth)\n        growth = 2.0",
      "the folded product of 1 + e^-|x| restarts at 2", "test_bce_position_is_stable_and_exact_for_any_logit"),
    M("sigmoid-branch", "kernels/scores.py",
      "sigmoid = inverse if positive else e * inverse", "sigmoid = inverse",
      "sigmoid of a negative score is 1 - sigmoid", "test_bce_position_is_stable_and_exact_for_any_logit"),
    # ---- kernels/minibatch.py
    M("minibatch-mean", "kernels/minibatch.py",
      "scale = 1 / max(count, 1)", "scale = 1 / max(count - 1, 1)",
      "an example's loss is not the mean over its positions",
      "test_minibatch_kernels::test_fused_batch_equals_reference"),
    M("minibatch-gradient-sign", "kernels/minibatch.py",
      "dscore[entry] = (sigmoid - label) * weight", "dscore[entry] = (label - sigmoid) * weight",
      "BCE gradient sign", "test_fused_batch_equals_reference"),
    M("minibatch-label", "kernels/minibatch.py",
      "label = dtype(1 if position < num_context else 0)", "label = dtype(1 if position <= num_context else 0)",
      "the first noise word labelled positive", "test_fused_batch_equals_reference"),
    M("minibatch-scatter-context", "kernels/minibatch.py",
      "grads[s, d] += g * center_copy[b, d]", "grads[s, d] = g * center_copy[b, d]",
      "scatter-add of repeated context ids: last write wins", "test_fused_batch_equals_reference"),
    M("minibatch-scatter-center", "kernels/minibatch.py",
      "grads[s, d] += dv[b, d]", "grads[s, d] = dv[b, d]",
      "scatter-add of repeated center ids: last write wins", "test_fused_batch_equals_reference"),
    M("minibatch-dense-adam", "kernels/minibatch.py",
      "dense = updates_every_row(rule)", "dense = False",
      "dense Adam leaves untouched rows (and their moments) alone",
      "test_minibatch_kernels::test_fused_update_gives_the_reference_bits"),
    # ---- kernels/optimizers.py
    M("adam-second-moment", "kernels/optimizers.py",
      "vi = v[r, d] * beta2 + one_minus_beta2 * (g * g)", "vi = v[r, d] * beta2 + one_minus_beta2 * abs(g)",
      "Adam's second moment of |g| instead of g**2", "test_fused_update_gives_the_reference_bits"),
    M("adam-touched-slot", "kernels/optimizers.py",
      "if slot >= 0:", "if slot > 0:",
      "the first touched row updated with a zero gradient", "test_fused_update_gives_the_reference_bits"),
    M("sgd-row-sign", "kernels/optimizers.py",
      "param[row, d] -= rate * grads[slot, d]", "param[row, d] += rate * grads[slot, d]",
      "SGD climbs the gradient", "test_fused_update_gives_the_reference_bits"),
    M("lazy-adam-dense", "kernels/optimizers.py",
      "return rule == ADAM\n", "return rule == ADAM or rule == LAZY_ADAM\n",
      "lazy Adam moves every row", "test_fused_update_gives_the_reference_bits"),
    # ---- kernels/text.py
    M("text-separators", "kernels/text.py",
      "return byte == 32 or 9 <= byte <= 13 or 28 <= byte <= 31", "return byte == 32 or 9 <= byte <= 13",
      "byte tokeniser ignores str.split()'s \\x1c-\\x1f separators",
      "test_corpus_vocab::test_tokenize_matches_line_split"),
    M("text-counts", "kernels/text.py",
      "counts[found] += 1", "counts[found] = 1",
      "byte tokeniser counts each type once", "test_tokenize_matches_line_split"),
    # ---- kernels/vector_text.py
    M("vector-text-rounding", "kernels/vector_text.py",
      "digits = np.rint(a * _POWERS[8 - k])", "digits = np.floor(a * _POWERS[8 - k] + 0.5)",
      "text rows round ties up instead of to even",
      "test_vector_text::test_the_kernel_writes_pythons_bytes_for_edge_values"),
    M("vector-text-trailing-zeros", "kernels/vector_text.py",
      "while digits % 10 == 0 and last > 0:", "while digits % 100 == 0 and last > 1:",
      "text rows keep a trailing zero",
      "test_vector_text::test_the_kernel_writes_pythons_bytes_for_edge_values"),
    # ---- kernels/gpu.py (under the CUDA simulator without a GPU)
    M("gpu-segment-sum", "kernels/gpu.py",
      "total += values[order[k], d]", "total = values[order[k], d]",
      "sorted scatter-add keeps only the last of repeated ids",
      "test_gpu_kernels::test_scatter_add_equals_add_at[sorted]"),
    M("gpu-lazy-mask", "kernels/gpu.py",
      "if lazy and touched[r] != stamp:", "if lazy and touched[r] == stamp:",
      "lazy Adam kernel moves the untouched rows instead of the touched",
      "test_gpu_kernels::test_adam_cuda_step_equals_reference[True]"),
    M("gpu-label", "kernels/gpu.py",
      "label = 1.0 if position < num_context else 0.0", "label = 1.0 if position <= num_context else 0.0",
      "fused GPU step labels the first noise word positive", "test_gpu_kernels::test_fused_step_equals_reference"),
    M("gpu-sgd-stamp", "kernels/gpu.py",
      "if touched[r] == stamp:", "if touched[r] >= 0:",
      "SGD kernel moves rows of earlier steps", "test_gpu_kernels::test_sgd_kernel_moves_touched_rows_only"),
    # ---- w2v_np/ops.py
    M("ops-scatter-add", "w2v_np/ops.py",
      "xp.add.at(dW, idx.reshape(-1), dout.reshape(-1, table_shape[1]))",
      "dW[idx.reshape(-1)] = dout.reshape(-1, table_shape[1])",
      "embedding backward drops repeated ids", "test_ops::test_embedding_backward_accumulates_repeated_ids"),
    M("ops-bce-sign", "w2v_np/ops.py",
      "xp.maximum(x, 0) - label * x", "xp.maximum(x, 0) + label * x",
      "BCE sign of the label term", "test_ops::test_sigmoid_bce_equals_naive_formula_where_finite"),
    M("ops-loss-mask", "w2v_np/ops.py",
      "loss = (mask * elementwise).sum(axis=1) * scale", "loss = elementwise.sum(axis=1) * scale",
      "padding counts in the loss", "test_ops::test_masked_bce_padding_gets_zero_gradient_and_no_influence"),
    M("ops-backward-mask", "w2v_np/ops.py",
      "return (dloss * scale)[:, None] * mask * (sigmoid(pred) - label)",
      "return (dloss * scale)[:, None] * (sigmoid(pred) - label)",
      "padding receives a gradient", "test_masked_bce_padding_gets_zero_gradient_and_no_influence"),
    M("ops-batch-dot-du", "w2v_np/ops.py",
      'du = xp.einsum("bol,bod->bld", dout, v)', 'du = xp.einsum("bol,bld->bld", dout, u)',
      "batch dot's gradient of u", "test_ops::test_batch_dot_gradcheck"),
    M("ops-sigmoid", "w2v_np/ops.py",
      "return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))", "return xp.where(x >= 0, 1 / (1 + e), 1 / (1 + e))",
      "sigmoid of negative logits", "test_ops::test_sigmoid_equals_naive_formula_and_saturates_exactly"),
    # ---- w2v_np/sparse_grads.py
    M("sparse-runs", "w2v_np/sparse_grads.py",
      "starts_run[1:] = sorted_ids[1:] != sorted_ids[:-1]", "starts_run[1:] = True",
      "row-sparse gradient: repeated ids not summed", "test_sparse_grads::test_embedding_backward_rows_equals_dense"),
    M("sparse-long-runs", "w2v_np/sparse_grads.py",
      "out[:num_long] += xp.add.reduceat(", "out[:num_long] = xp.add.reduceat(",
      "ids repeated more than 8 times lose their first occurrences",
      "test_sparse_grads::test_embedding_backward_rows_occurrences_around_layer_limit"),
    M("sparse-radix", "w2v_np/sparse_grads.py",
      "int(ids.max()) >= 1 << 16", "int(ids.max()) >= 1 << 32",
      "ids of 2**16 and more sorted on their low bits only",
      "test_sparse_grads::test_stable_argsort_ids_both_radix_passes"),
    # ---- w2v_np/optim.py
    M("adam-bias-correction", "w2v_np/optim.py",
      "self.lr / (1 - beta1 ** t) * sqrt_bias2", "self.lr * sqrt_bias2",
      "Adam's first-moment bias correction gone", "test_optim::test_adam_three_steps_closed_form"),
    M("adam-step-count", "w2v_np/optim.py",
      "t = self.step_count + 1", "t = max(self.step_count, 1)",
      "step counter incremented after bias correction", "test_adam_three_steps_closed_form"),
    M("lazy-adam-beta", "w2v_np/optim.py",
      "m_rows = m[g.rows] * beta1 + (1 - beta1) * g.values", "m_rows = m[g.rows] * beta1 + (1 - beta2) * g.values",
      "lazy Adam's first moment weighted by 1 - beta2",
      "test_minibatch_kernels::test_fused_update_gives_the_reference_bits[lazy-adam-*]"),
    M("adam-resume-step", "w2v_np/optim.py",
      'self.step_count = int(state["step"])', "self.step_count = 0",
      "resume state: Adam's step count restarts", "test_optim::test_state_dict_round_trip"),
    M("sgd-resume-done", "w2v_np/optim.py",
      'self.done = int(state["done"])', "self.done = 0",
      "resume state: SGD's schedule restarts", "test_optim::test_sgd_state_dict_round_trip"),
    # ---- w2v_np/sampling.py
    M("subsampling-formula", "w2v_np/sampling.py",
      'np.sqrt(ratio) + ratio if subsampling == "word2vec" else np.sqrt(ratio)',
      'np.sqrt(ratio) + ratio if subsampling == "word2vec" else ratio',
      "the seed's subsampling keeps with r instead of sqrt(r)",
      "test_sampling::test_subsample_keep_rate_matches_formula"),
    M("noise-exponent", "w2v_np/sampling.py",
      "NOISE_POWER = 0.75", "NOISE_POWER = 1.0",
      "noise distribution count**1 instead of count**0.75", "test_sampling::test_noise_sampler_follows_counts_pow_075"),
    M("numpy-window-range", "w2v_np/sampling.py",
      "window = rng.integers(1, max_window + 1, size=position.shape[0])",
      "window = rng.integers(1, max_window, size=position.shape[0])",
      "windows never reach max_window", "test_sampling::test_window_sizes_uniform"),
    M("numpy-noise-rejection", "w2v_np/sampling.py",
      "pending = np.flatnonzero(_is_context_word(windows, example, noise))",
      "pending = np.flatnonzero(np.zeros(noise.shape[0], dtype=bool))",
      "noise words equal to context words are not redrawn",
      "test_sampling::test_draw_noise_words_distribution_with_rejection"),
    M("short-sentences", "w2v_np/sampling.py",
      "usable = lengths[sentence_of_token] >= 2", "usable = lengths[sentence_of_token] >= 1",
      "one-token sentences give centers", "test_sampling::test_short_sentences_give_no_centers"),
    M("batch-mask", "w2v_np/sampling.py",
      "mask = (positions < row_length[:, None]).astype(dtype)",
      "mask = (positions <= row_length[:, None]).astype(dtype)",
      "a padding position is marked valid", "test_sampling::test_batch_layout_chosen_examples"),
    # ---- w2v_np/model.py
    M("xavier-bound", "w2v_np/model.py",
      "bound = math.sqrt(6.0 / (shape[0] + shape[1]))", "bound = math.sqrt(3.0 / (shape[0] + shape[1]))",
      "Xavier's bound", "test_model::test_xavier_uniform_bound_and_variance"),
    M("model-fast-dloss", "w2v_np/model.py",
      "masked_sigmoid_bce_backward(xp.ones_like(losses), loss_cache)[:, None, :]",
      "masked_sigmoid_bce_backward(2 * xp.ones_like(losses), loss_cache)[:, None, :]",
      "the trained gradient (loss_and_grads) is that of twice the loss",
      "test_model::test_fast_equals_reference_float64"),
    # ---- w2v_np/word2vec.py, streamed_corpus.py
    M("noise-per-mode", "w2v_np/word2vec.py",
      'self.shared_noise = plan.noise_per == "window"', 'self.shared_noise = plan.noise_per == "pair"',
      "--noise-per pair and window swapped", "test_streaming_reference::test_trainer_epoch_equals_reference"),
    M("pair-reference-update", "w2v_np/word2vec.py",
      "        context_table[t] += g * v\n", "        context_table[t] -= g * v\n",
      "the pair step's reference moves context rows the wrong way", "test_streaming::test_sgd_pair_equals_reference"),
    M("pieces-cut", "w2v_np/streamed_corpus.py",
      "cuts = -(-lengths // max_piece)", "cuts = lengths // max_piece",
      "the last piece of a sentence dropped", "test_streaming::test_pieces_cut_long_sentences_and_skip_empty_ones"),
    # ---- w2v_np/vocab.py, corpus.py
    M("vocab-min-count", "w2v_np/vocab.py",
      "order = order[counts[order] >= min_freq].tolist()", "order = order[counts[order] > min_freq].tolist()",
      "min_freq excludes tokens seen exactly min_freq times",
      "test_corpus_vocab::test_vocab_min_freq_filters_and_counts_dropped_tokens_as_unk"),
    M("vocab-unk-count", "w2v_np/vocab.py",
      "np.concatenate([[counts.sum() - kept.sum()], kept])", "np.concatenate([[0], kept])",
      "<unk> does not count the dropped tokens", "test_vocab_min_freq_filters_and_counts_dropped_tokens_as_unk"),
    M("tokenize-unicode-guard", "w2v_np/corpus.py",
      "if use_kernels and (text.isascii() or not _UNICODE_SPACE.search(text)):", "if use_kernels:",
      "texts with non-ASCII spaces go to the byte tokeniser", "test_corpus_vocab::test_tokenize_unicode_whitespace"),
    M("tokenize-interning", "w2v_np/corpus.py",
      "type_ids.extend([intern(token, len(table)) for token in tokens])",
      "type_ids.extend([intern(token, len(tokens)) for token in tokens])",
      "Python tokenisation: a new type's id is not the next one", "test_tokenize_matches_line_split"),
    # ---- resume state: w2v_np/train.py, checkpoint.py
    M("resume-rng", "w2v_np/train.py",
      'rng.bit_generator.state = checkpoint.meta["rng"][name]', "rng.bit_generator.state = rng.bit_generator.state",
      "resume state: random streams not restored",
      "test_checkpoint::test_resume_reproduces_the_uninterrupted_run"),
    M("checkpoint-moments", "w2v_np/checkpoint.py",
      'arrays[f"state_{key}_{name}"] = _host_copy(state[key][name])',
      'arrays[f"state_{key}_{name}"] = 0 * _host_copy(state[key][name])',
      "resume state: the optimizer's arrays saved as zeros",
      "test_checkpoint::test_resume_is_exact_for_every_engine_and_optimizer"),
    M("checkpoint-snapshot", "w2v_np/checkpoint.py",
      "return np.array(array) if get_array_module(array) is np else to_host(array)",
      "return np.asarray(array) if get_array_module(array) is np else to_host(array)",
      "a checkpoint written in the background shares the tables training moves",
      "test_write_behind::test_a_checkpoints_arrays_are_a_snapshot_of_their_moment"),
]


def count_matches(mutation, root):
    """How many times the mutation's snippet occurs in its file under ``root``."""
    return (Path(root) / mutation.path).read_text(encoding="utf-8").count(mutation.snippet)


def tracked_files():
    """The files git tracks and the untracked ones it does not ignore, relative to :data:`ROOT`."""
    listing = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                             capture_output=True, check=True).stdout.decode()
    return [name for name in listing.split("\0") if name and (ROOT / name).is_file()]


def copy_checkout(files, source, target):
    """``files`` from ``source`` into ``target``, with ``w2v_np/kernels`` linked to ``kernels/``."""
    for name in files:
        destination = Path(target) / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(Path(source) / name, destination)
    (Path(target) / "w2v_np" / "kernels").symlink_to(Path("..") / "kernels")


def environment(copy, cache_dir):
    """The tests' environment: the copy first on the path, its own Numba cache, no bytecode files."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.fspath(copy), os.environ.get("PYTHONPATH", "")]),
               NUMBA_CACHE_DIR=os.fspath(cache_dir), PYTHONDONTWRITEBYTECODE="1")
    return env


def imports_the_copy(copy, env):
    """Whether ``w2v_np`` and ``w2v_np.kernels`` load from ``copy`` (not from the editable install)."""
    probe = "import w2v_np, w2v_np.kernels; print(w2v_np.__file__); print(w2v_np.kernels.__file__)"
    result = subprocess.run([sys.executable, "-c", probe], cwd=copy, env=env, capture_output=True, text=True)
    paths = result.stdout.split()
    return result.returncode == 0 and len(paths) == 2 and all(
        Path(p).resolve().is_relative_to(Path(copy).resolve()) for p in paths)


def run_tests(copy, tests, env, timeout):
    """``(return code, seconds, summary)`` of pytest on ``tests`` in ``copy``, stopping at the first
    failure; the summary is the first failure's line, else the last line.  Code None on timeout."""
    start = time.perf_counter()
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    try:
        result = subprocess.run(command, cwd=copy, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, time.perf_counter() - start, f"timed out after {timeout:.0f} s"
    lines = (result.stdout + result.stderr).strip().splitlines() or [""]
    failures = [line for line in lines if line.startswith(("FAILED", "ERROR"))]
    return result.returncode, time.perf_counter() - start, (failures or lines)[0 if failures else -1][:200]


def mutate(mutation, copy):
    """Apply ``mutation`` in ``copy``; returns why it is broken, or None."""
    path = Path(copy) / mutation.path
    text = path.read_text(encoding="utf-8")
    found = text.count(mutation.snippet)
    if found != 1:
        return f"snippet found {found} times"
    text = text.replace(mutation.snippet, mutation.replacement)
    try:
        compile(text, os.fspath(path), "exec")
    except SyntaxError as exc:
        return f"mutated file does not compile: {exc}"
    path.write_text(text, encoding="utf-8")
    return None


def run_mutation(mutation, snapshot, copy, shared_cache, timeout):
    """Apply one mutation to a fresh copy of ``snapshot`` at ``copy`` and run its tests:
    ``(status, seconds, detail)``."""
    try:
        shutil.copytree(snapshot, copy, symlinks=True)
        broken = mutate(mutation, copy)
        if broken:
            return "broken", 0.0, broken
        cache = copy / ".numba-cache" if mutation.path.startswith("kernels/") else shared_cache
        env = environment(copy, cache)
        if not imports_the_copy(copy, env):
            return "broken", 0.0, "the tests would not import the scratch copy"
        code, seconds, summary = run_tests(copy, TESTS[mutation.path], env, timeout)
        if code is None or code == 1:     # timed out, or a test failed
            return "caught", seconds, summary
        if code == 0:
            return "survived", seconds, summary
        return "broken", seconds, f"pytest exited {code}: {summary}"
    finally:
        shutil.rmtree(copy, ignore_errors=True)


def list_mutations(mutations):
    for mutation in mutations:
        found = count_matches(mutation, ROOT)
        state = "ok" if found == 1 else f"BROKEN: snippet found {found} times"
        print(f"{mutation.name:28} {mutation.path:26} {state}\n    breaks: {mutation.breaks}\n"
              f"    expected to fail: {mutation.caught_by}")
    print(f"{len(mutations)} mutations over {len({m.path for m in mutations})} files")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--list", action="store_true", help="list the mutations and check their snippets, run nothing")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run these mutations only")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds allowed to one mutation's tests")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the run of the unmutated copy (which must pass, or every mutation looks caught)")
    args = parser.parse_args(argv)
    names = {m.name for m in MUTATIONS}
    assert len(names) == len(MUTATIONS), "two mutations share a name"
    unknown = set(args.only or ()) - names
    if unknown:
        parser.error(f"unknown mutations: {', '.join(sorted(unknown))} (see --list)")
    mutations = [m for m in MUTATIONS if not args.only or m.name in args.only]
    if args.list:
        list_mutations(mutations)
        return 0
    start = time.perf_counter()
    files = tracked_files()
    with tempfile.TemporaryDirectory(prefix="w2v-mutants-") as scratch:
        # Every copy lies at the same path, and copy2 keeps the files' times: Numba's cache
        # entries name the source's path and time, so the unmutated kernels compiled once serve
        # every mutation of w2v_np/.
        copy = Path(scratch) / "checkout"
        shared_cache = Path(scratch) / "numba-cache"
        snapshot = Path(scratch) / "snapshot"
        copy_checkout(files, ROOT, snapshot)
        if not args.no_baseline:
            shutil.copytree(snapshot, copy, symlinks=True)
            env = environment(copy, shared_cache)
            if not imports_the_copy(copy, env):
                print("the tests would not import the scratch copy: check PYTHONPATH and the install")
                return 2
            tests = list(dict.fromkeys(t for m in mutations for t in TESTS[m.path]))
            code, seconds, summary = run_tests(copy, tests, env, args.timeout * len(mutations))
            print(f"baseline (unmutated): {'passed' if code == 0 else 'FAILED'} in {seconds:.0f} s: {summary}")
            shutil.rmtree(copy)
            if code != 0:
                return 2
        results = []
        for mutation in mutations:
            status, seconds, detail = run_mutation(mutation, snapshot, copy, shared_cache, args.timeout)
            results.append(status)
            print(f"{status:9} {seconds:6.0f} s  {mutation.name:28} {mutation.breaks}\n          {detail}",
                  flush=True)
    counts = {status: results.count(status) for status in ("caught", "survived", "broken")}
    print(f"{len(results)} mutations: {counts['caught']} caught, {counts['survived']} survived, "
          f"{counts['broken']} broken; {time.perf_counter() - start:.0f} s in all")
    return 0 if counts["caught"] == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
