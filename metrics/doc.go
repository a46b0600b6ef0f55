// Package metrics computes the divergence and evaluation metrics of
// METRICS.md from plain numbers: logit rows, log-probabilities, token ids,
// hidden-state matrices, answers. It knows nothing about models, reads no
// files, and imports only the standard library and gonum.
//
// Conventions (METRICS.md §0.1, DESIGN §5): logit rows are []float32 as
// the engine produces them; all sums and every result are float64; logs
// are natural (nats); argmax ties go to the lowest token id; shares and Δp
// are fractions (×100 for the papers' %); a non-finite logit is an error,
// except in DivergenceOfLogits, where it counts as a divergence. Large
// inputs are streamed: accumulators take one row, sample or block at a
// time, are ready as zero values (except Match), are not safe for
// concurrent use, and can be combined with Merge.
//
// # Primitives
//
//   - LogSumExp, LogSoftmax, Argmax (tie rule, top-2 margin), NonFinite,
//     TokenNLL, NearTieMargin.
//   - MeanUnc (llama.cpp's mean_and_uncertainty), Percentile, Median;
//     Sample keeps observations for exact percentiles and summarises them
//     as a Spread.
//   - CorrelationP, Pearson, Spearman: correlations with two-sided p-values.
//
// # Perplexity (§1.7, §4.4, §6.1)
//
// ParseProtocol reads "disjoint", "stride:S" or "llamacpp"; Protocol.Plan
// turns a token count into the Windows to run, each naming the positions
// to score. Perplexity accumulates the NLL of scored tokens and reports
// PPL ± uncertainty:
//
//	plan, err := proto.Plan(len(tokens), ctx, 0)
//	var ppl metrics.Perplexity
//	for _, w := range plan {
//		// run tokens[w.Start:w.Start+w.Len] (first replaced by BOS if w.BOS)
//		for j := w.First; j <= w.Last; j++ {
//			ppl.AddLogits(logits[j], tokens[w.Start+j+1])
//		}
//	}
//
// # Token-level KL (§6.3–§6.4, §2.4 variant B)
//
// CompareLogits compares one base and one compressed row (KL(base‖comp)
// over the full vocabulary, same-top, Δp of the actual next token, both
// NLLs) into TokenStats; KLAccumulator takes row pairs (Add) or TokenStats
// (AddStats) one position at a time and produces the KLSummary that
// llama-perplexity --kl-divergence prints. KLOptions.LlamaCppCut applies
// llama.cpp's −16 support cut for comparability.
//
// # Divergent tokens (§1.3–§1.4)
//
// DivergenceOf (token ids) and DivergenceOfLogits (teacher-forced logit
// rows) give one sample's FDT and SDT as a Divergence; DTMAccumulator
// aggregates samples into FDTM and SDTM (DTMSummary).
//
// # Multiple choice and flips (§2.2–§2.4)
//
// Grade and CountFlips give FlipCounts (C→I, I→C, W→W′, flips,
// all-changes, Δacc). Choose picks an option (acc on log-likelihoods, acc_norm
// on LengthNormalized scores); OptionProbs, OptionKL, TopMargin, ProbShift
// and CompareOptions compare option distributions.
//
// # BBQ bias (§4.3)
//
// BBQBias computes per-category accuracy and s_DIS, s_AMB under the
// official rule (BBQOfficial) or the Beyond-Perplexity heuristic (BBQRepo).
//
// # Diff-eRank (§3.2–§3.4)
//
// EffectiveRank gives one text's spectral entropy and eRank from its
// hidden states; DiffERank aggregates entropies of two models over a
// dataset into the dataset-level Diff-eRank and its alternative.
//
// # Model tracing (§5.2)
//
// Match streams two models' activations into the cross-product matrix and
// turns it in place into a cost matrix; Assign solves the assignment
// (Jonker–Volgenant; a random 11 008² matrix takes about 50 s of one core,
// 4096² about 2 s); SpearmanPerm gives the per-layer p-value of two
// matchings and Fisher combines the layers:
//
//	gate, _ := metrics.NewMatch(h) // and up likewise; Add blocks of tokens
//	cost, _ := gate.Cost(metrics.Euclidean)
//	piGate, _, _ := metrics.Assign(cost, h)
//	_, p, _ := metrics.SpearmanPerm(piGate, piUp)
//	pAll, _ := metrics.Fisher(layerPs)
package metrics
