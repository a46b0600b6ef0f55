// Package quant holds the quantizers and pruners, the spec grammar and
// plans (DESIGN §3), the component selector, and dequantization.
//
// A Spec is one compression setting (`int4:g128`, `q4_k`, `prune:2:4`);
// ParseSpec reads it and ParseSpecList reads the comma-separated settings of
// a sweep. A Plan maps components to specs with `selector=spec` rules, last
// match wins (`layers.*.mlp.*=int4:g128,lm_head=q8_0`, or `@plan.json`); a
// bare spec in a plan applies to the seven linear matrices of every layer,
// not to embed or lm_head. Component names are
// layers.L.attn.q|k|v|o, layers.L.mlp.gate|up|down, embed and lm_head.
//
// Quantize turns a float32 matrix into a kernels.Matrix in the spec's
// format; Dequantize decodes one. The ggml formats (q8_0 … q5_1, q2_k …
// q6_k) are produced by ports of ggml's reference quantizers and are
// byte-identical to llama-quantize's output without an importance matrix.
// The int formats and pruning follow docs/FORMATS.md; docs/QUANT.md has the
// grammar and the choices in full.
package quant
