// Package kernels holds every hot loop of divergo: dot products, GEMV and
// GEMM over the weight formats, RMSNorm, softmax, SiLU·mul, RoPE, float
// conversions and activation quantization; a plain-Go reference body for
// each, Go assembly for AVX2, AVX-512 and NEON chosen once at start, and a
// persistent worker pool.
//
// # Using it
//
// Weights are a [Matrix]: rows (output features) stored one after another
// in a [Format], looked up with [FormatByName] ("q4_k", "int4:g128:asym"),
// [FormatByGGML] (a GGUF tensor type) or [IntFormat]. [MatMul] multiplies n
// activation rows by Wᵀ, on a [Pool] of worker goroutines (nil means the
// calling goroutine only). With Matrix.A8 the activations are quantized to
// int8 blocks first (Format.Act) and the products are integer dots, as
// llama.cpp computes quantized matrices; without it they stay float32.
// The vector ops ([Dot], [Axpy], [Scale], [Add], [Mul], [RMSNorm], [Softmax],
// [SiLUMul], [RoPEInterleaved], [RoPENeoX] with a [RoPETable], the f16/bf16
// conversions) work on slices of any length and alignment.
//
// Programming errors — mismatched lengths, a matrix that fails
// (*Matrix).Check — panic with a message naming the function; user input
// (format names, RoPE parameters) is validated with errors.
//
// # Numerics
//
// Everything computes in float32. What is meant to match a reference
// matches it bit for bit:
//   - the ggml decoders (Format.Dequant) reproduce ggml's dequantize_row_*
//     (checked against llama.cpp's own output, fixture_test.go);
//   - the activation quantizers reproduce quantize_row_q8_0_ref, q8_1_ref and
//     q8_K_ref (roundf, nearest_int, f16 scale rounding as GGML_FP32_TO_FP16);
//   - the W·A8 dots follow ggml_vec_dot_*_generic: integer sums per block,
//     then the float terms in the order of that code;
//   - RMSNorm, Softmax, SiLUMul and RoPE use ggml's formulas and roundings
//     (float64 sums where ggml uses ggml_float, expf, powf/cosf/sinf).
//
// Float products are written with explicit float32(…) conversions wherever
// an FMA would change the result: the Go spec lets the compiler fuse
// x*y + z (arm64 does, amd64 with GOAMD64=v3 does).
//
// Reductions (Dot, the weight-only format dots, the GEMM) have a defined
// reference order, but SIMD bodies may sum in another; they agree to about
// 1e-6 of Σ|terms|. MatMul's GEMV (n = 1) and GEMM (n > 1) paths therefore
// agree to rounding, not bit for bit; the A8 path is bit-identical for any n.
// Results never depend on the number of threads.
//
// # Adding SIMD bodies
//
// Each ISA ([AVX2], [AVX512], [NEON]) contributes bodies file by file, as
// Go's crypto packages do: for an op or format family xxx, add
//
//	xxx_amd64.go          //go:build !noasm — Go declarations of the
//	                      // assembly functions and their registration
//	xxx_avx2_amd64.s      // AVX2 + FMA + F16C bodies
//	xxx_avx512_amd64.s    // AVX-512 F/BW/VL/DQ bodies
//	xxx_arm64.go          //go:build !noasm
//	xxx_neon_arm64.s
//
// and register from a package-level variable initializer (so registration
// precedes the ISA selection in init):
//
//	var _ = registerOps(AVX2, func(t *opTable) { t.dot = dotAVX2 })
//	var _ = registerFormat(AVX512, "q4_0", func(f *Format, t *formatTable) {
//		t.dotAct = dotActQ4_0AVX512
//		if hasVNNI() {
//			t.dotAct = dotActQ4_0VNNI
//		}
//	})
//	var _ = registerAct(AVX2, "q8_0", func(a *ActFormat, q *func([]byte, []float32)) { *q = quantizeQ8_0AVX2 })
//
// An ISA inherits every body it does not register from its parent: AVX512
// from AVX2, AVX2 and NEON from generic. The noasm build tag makes Generic
// the only path (isa_other.go); keep every .s and xxx_amd64.go file behind
// !noasm. Use hasVNNI and hasDotProd for optional int8 instructions.
//
// What can be replaced (all in opTable, formatTable and gemmKernel):
//   - ops: dot, axpy, scale, add, mul, rmsNorm, softmax, siluMul, ropePairs,
//     ropeHalves, f16ToF32, bf16ToF32, f32ToF16, f32ToBF16 — contracts in
//     the opTable comments;
//   - per format family ("f32", "f16", "bf16", "q8_0", "q4_0", "q4_1",
//     "q5_0", "q5_1", "q2_k" … "q6_k", and "int8" / "int4" for the int
//     formats by container, parameters in f.bits, f.group, f.asym): dequant,
//     dot, dotAct, and the hooks decode (GEMM packing), gemv (several rows
//     per pass over x), gemvAct, gemmAct (a tile of rows × tokens for
//     VNNI/SDOT) with gemmActRows (the rows per call a packed-panel body
//     wants; 0 keeps the driver's L1 blocking); hooks left nil are derived
//     from the row kernels;
//   - per activation family ("q8_0", "q8_1", "q8_k", "act8"): the quantizer;
//   - the GEMM kernel set (opTable.gemm): register tile mr×nr, cache
//     blocking (gemmKernel.blocking derives kc, mc, nc from the cache sizes),
//     microkernel, optionally microRows (the short tiles of the last token
//     block), packA, packB — replaced as a whole because the packed
//     layouts depend on mr and nr.
//
// Invariants every body keeps:
//   - no alignment: slices and byte rows may start at any address (weights
//     come from mmap'ed files at arbitrary offsets);
//   - any length the contract allows, 0 included: tails are the body's job;
//     a body may not read or write past its slices (the harness puts guard
//     values around every output);
//   - weight rows are passed as w[i*stride:], which may run on to the end
//     of the matrix: use n (or len(x)), never len(w), for the row length;
//   - decoders, quantizers, conversions, packing, Scale/Add/Mul are exact:
//     the same bits as the generic body (no FMA in d·q + m; roundf is
//     round-half-away, nearest_int is round-half-even);
//   - reductions may reorder within the tolerances listed in kernels_test.go;
//   - bodies are called concurrently from several workers: no shared mutable
//     state.
//
// kernels_test.go runs every body of every ISA the machine can run against
// the generic one (TestBodiesAgainstGeneric), on lengths 0…257, odd tails,
// offsets of 1–3 elements and guard values; new bodies need no new test to be
// checked. NEON bodies run under qemu-aarch64 (GOARCH=arm64 go test -c, then
// qemu-aarch64-static kernels.test). The benchmarks (BenchmarkMatMul,
// BenchmarkOps, BenchmarkPoolRun) give the generic baseline to beat.
package kernels
