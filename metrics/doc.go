// Package metrics computes the divergence and evaluation metrics of
// METRICS.md from plain numbers: log-probabilities, token ids, hidden-state
// matrices, answers. It knows nothing about models.
package metrics
