// Package llama2c reads karpathy/llama2.c model checkpoints (.bin): the
// legacy header and the v1 (float32) and v2 (int8 groups) formats.
//
// The three layouts, as llama2.c's export.py writes them and run.c/runq.c
// read them (matrices row-major [out, in]; "×L" is one tensor per layer,
// back to back):
//
//	legacy  7 × int32 config (vocab_size < 0: separate classifier), then
//	        float32 token_embedding, rms_att×L, wq×L, wk×L, wv×L, wo×L,
//	        rms_ffn×L, w1×L, w2×L, w3×L, rms_final, freq_cis_real,
//	        freq_cis_imag, [wcls]
//	v1      256-byte header: magic "ak42", int32 version 1, 7 × int32
//	        config, uint8 shared_classifier; then float32 rms_att×L,
//	        rms_ffn×L, rms_final, token_embedding, wq×L, wk×L, wv×L, wo×L,
//	        w1×L, w2×L, w3×L, [wcls]
//	v2      256-byte header as v1 with version 2 and an int32 group_size
//	        after the flag; float32 rms_att×L, rms_ffn×L, rms_final; then
//	        for token_embedding, wq×L, wk×L, wv×L, wo×L, w1×L, w2×L, w3×L,
//	        [wcls], each tensor's int8 values followed by its float32
//	        scales, one per group_size values
//
// Open validates the header (positive sizes, dim divisible by n_heads,
// n_heads by n_kv_heads, an even head size) and computes every tensor's
// place with overflow checks before touching any data; the file length
// must match exactly. A legacy file may also omit the freq_cis tables.
// Tensor data are views into the file's read-only memory mapping.
package llama2c
