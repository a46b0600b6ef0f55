// Package engine loads Llama-2-family models and runs the forward pass:
// batched prefill, KV-cache decoding, generation, hooks, and copy-on-write
// compressed variants.
package engine
