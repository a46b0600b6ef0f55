package kernels

import (
	"fmt"
	"sync"

	"github.com/klauspost/cpuid/v2"
)

// MatMul computes dst[t·Rows + r] = Σ_c W[r][c]·x[t·Cols + c] for t < n: the
// n activation rows of x (n×Cols, row-major) times Wᵀ into dst (n×Rows,
// row-major). p may be nil (single-threaded).
//
// Paths:
//   - w.A8 and a format with Act: the n rows of x are quantized once with
//     Act.Quantize (in parallel), then every output is DotAct of a weight row
//     and a quantized row — llama.cpp's arithmetic. Results do not depend
//     on n or on the thread count, bit for bit.
//   - n == 1 (decode): GEMV, rows split across the workers in chunks, each
//     chunk through the format's multi-row hook (gemv, built from Dot).
//   - n > 1 (prefill): packed, cache-blocked GEMM: each worker decodes a
//     panel of its weight rows × one K-block into float32 once (the format's
//     decode, so every format gets a GEMM), and a register-blocked
//     microkernel runs over tiles of activation rows × weight rows.
//
// With a Backend installed (SetBackend), n > 1 and a non-nil p, MatMul first
// offers the product to the backend (a GPU), which may take it; w must then
// be a weight, whose values do not change while it is reachable (see
// Backend).
//
// Work is split by rows of W (output features), so each weight byte is read
// by one worker; results do not depend on the thread count, bit for bit.
// The GEMV and GEMM paths sum in different orders: their results agree to
// float32 rounding, not bit for bit.
//
// MatMul panics on a programming error: a matrix that fails Check, n < 0,
// len(x) != n·Cols or len(dst) != n·Rows. Callers validate files at load
// time; here lengths come from the engine's own shapes.
func MatMul(p *Pool, dst []float32, w *Matrix, x []float32, n int) {
	if err := w.Check(); err != nil {
		panic(err)
	}
	if w.Format.body.gemv == nil {
		panic(fmt.Sprintf("kernels: MatMul: format %s was not made by FormatByName, FormatByGGML or IntFormat", w.Format.Name))
	}
	if n < 0 || len(x) != n*w.Cols || len(dst) != n*w.Rows {
		panic(fmt.Sprintf("kernels: MatMul: %s %d×%d with n=%d needs len(x)=%d, len(dst)=%d; have %d, %d",
			w.Format.Name, w.Rows, w.Cols, n, n*w.Cols, n*w.Rows, len(x), len(dst)))
	}
	if n == 0 || w.Rows == 0 {
		return
	}
	if w.Cols == 0 {
		clear(dst)
		return
	}
	if n > 1 && p != nil && backend != nil && backend.MatMul(p, dst, w, x, n) {
		return
	}
	if n*w.Rows*w.Cols < minParallelWork {
		p = nil
	}
	switch {
	case w.A8 && w.Format.Act != nil:
		matMulA8(p, dst, w, x, n)
	case n == 1:
		gemv(p, dst, w, x)
	default:
		gemm(p, dst, w, x, n)
	}
}

// minParallelWork is the number of multiply-adds below which a product runs
// on the caller alone: waking a worker costs about as much.
const minParallelWork = 1 << 15

// splitRows cuts rows into tasks of chunk rows (a multiple of align, at most
// about maxChunk) with a task count that is a multiple of threads when the
// rows allow, so the workers finish together.
func splitRows(rows, threads, align, maxChunk int) (chunk, tasks int) {
	maxChunk = max(align, maxChunk/align*align)
	tasks = threads * ceilDiv(rows, threads*maxChunk)
	chunk = ceilDiv(ceilDiv(rows, tasks), align) * align
	return chunk, ceilDiv(rows, chunk)
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// gemvTaskBytes is the weight bytes one GEMV task reads: small enough for
// several tasks per worker (balance), large enough to amortize the handout.
const gemvTaskBytes = 48 << 10

func gemv(p *Pool, dst []float32, w *Matrix, x []float32) {
	rb := w.RowBytes()
	gemvRows := w.Format.body.gemv
	chunk, tasks := splitRows(w.Rows, p.Threads(), 4, max(4, gemvTaskBytes/max(1, rb)))
	p.Run(tasks, func(_, t int) {
		r0 := t * chunk
		r1 := min(w.Rows, r0+chunk)
		gemvRows(dst[r0:r1], w.Data[r0*rb:r1*rb], rb, x)
	})
}

// matMulA8 quantizes the activation rows, then runs the W·A8 products in
// tiles: per task a chunk of weight rows; inside, blocks of quantized rows
// that fit in L2 against sub-chunks of weight rows that fit in L1.
func matMulA8(p *Pool, dst []float32, w *Matrix, x []float32, n int) {
	f, K, R := w.Format, w.Cols, w.Rows
	xb := f.Act.RowBytes(K)
	bufp := getBytes(n * xb)
	defer putBytes(bufp)
	xq := (*bufp)[:n*xb]
	quantize := f.Act.Quantize
	p.Run(n, func(_, t int) { quantize(xq[t*xb:(t+1)*xb], x[t*K:(t+1)*K]) })

	rb := w.RowBytes()
	if n == 1 {
		gemvAct := f.body.gemvAct
		chunk, tasks := splitRows(R, p.Threads(), 4, max(4, gemvTaskBytes/max(1, rb)))
		p.Run(tasks, func(_, t int) {
			r0 := t * chunk
			r1 := min(R, r0+chunk)
			gemvAct(dst[r0:r1], w.Data[r0*rb:r1*rb], rb, xq, K)
		})
		return
	}
	gemmAct := f.body.gemmAct
	g := &active.gemm
	subRows := max(4, g.a8L1Bytes/max(1, rb)/4*4)
	if r := f.body.gemmActRows; r > 0 {
		subRows = r
	}
	tokBlock := max(1, g.a8L2Bytes/max(1, xb))
	chunk, tasks := splitRows(R, p.Threads(), subRows, max(subRows, g.a8L2Bytes/max(1, rb)))
	p.Run(tasks, func(_, t int) {
		r0 := t * chunk
		r1 := min(R, r0+chunk)
		for t0 := 0; t0 < n; t0 += tokBlock {
			nt := min(tokBlock, n-t0)
			for s0 := r0; s0 < r1; s0 += subRows {
				rows := min(subRows, r1-s0)
				gemmAct(dst[t0*R+s0:], R, w.Data[s0*rb:(s0+rows)*rb], rb, rows, xq[t0*xb:], xb, nt, K)
			}
		}
	})
}

// A gemmKernel is the prefill GEMM of one ISA: the register tile, the cache
// blocking and the three bodies. An ISA replaces the whole set at once
// (registerOps: t.gemm = gemmKernel{…}), since the packed layouts depend on
// mr and nr.
//
// Packed layouts (all float32, no alignment assumed):
//   - A panel (activations): mr rows of x × kc columns stored k-major,
//     a[p*mr + i] = x[row i][k0 + p]; rows past the valid count are zero.
//   - B panel (weights): nr rows of W × kc columns stored k-major,
//     b[p*nr + j] = W[row j][k0 + p]; rows past the valid count are zero.
//
// The driver (gemm) loops: weight-row chunk (per task, ≤ nc rows) → K-block
// of kc → pack B for the chunk → token block of mc → pack A → B panel → A
// panel → micro. Each weight value is decoded once; a B panel (kc·nr floats)
// stays in L1 while the A block (mc·kc) streams from L2.
type gemmKernel struct {
	mr, nr int // register tile: mr activation rows × nr weight rows
	// kc is the K-block; a multiple of 256 so that it cuts every block
	// format (32- and 256-value blocks) at block boundaries.
	kc int
	mc int // activation rows per packed A block (multiple of mr)
	nc int // weight rows per task chunk and packed B block (multiple of nr)

	// micro computes one full mr×nr tile from an A panel and a B panel of k
	// columns: acc[i][j] = Σ_{p<k} a[p*mr+i]·b[p*nr+j] with acc starting at
	// zero, then c[i*ldc+j] = acc[i][j] if !add, c[i*ldc+j] += acc[i][j] if
	// add. It writes nothing else. Partial tiles are computed by the driver
	// into a scratch tile, so micro only sees full ones.
	micro func(k int, a, b, c []float32, ldc int, add bool)
	// microRows, if set, computes only the first rows rows (0 < rows < mr)
	// of a tile whose A panel is zero past them, and writes only those rows
	// of c, as micro does for all of them. The driver uses it for the short
	// tiles of the last token block (full in nr), which otherwise run a
	// full tile into scratch: with few tokens most of that tile is padding.
	microRows func(k, rows int, a, b, c []float32, ldc int, add bool)
	// packA packs rows [0, rows) × columns [k0, k0+kc) of x (row stride ldx)
	// into ⌈rows/mr⌉ A panels of kc columns, back to back.
	packA func(dst, x []float32, ldx, rows, k0, kc, mr int)
	// packB decodes rows [r0, r0+rows) × columns [k0, k0+kc) of w into
	// ⌈rows/nr⌉ B panels of kc columns, back to back; tmp has room for kc
	// values.
	packB func(dst []float32, w *Matrix, r0, rows, k0, kc, nr int, tmp []float32)

	// W·A8 blocking: bytes of weight rows per inner tile (L1) and of
	// quantized activation rows per token block (L2).
	a8L1Bytes, a8L2Bytes int
}

// cacheSizes returns the per-core L1d and L2 sizes, with the development
// machine's values (48 KiB, 2 MiB) when detection fails.
func cacheSizes() (l1, l2 int) {
	l1, l2 = cpuid.CPU.Cache.L1D, cpuid.CPU.Cache.L2
	if l1 <= 0 {
		l1 = 48 << 10
	}
	if l2 <= 0 {
		l2 = 2 << 20
	}
	return l1, l2
}

// gemmBlocking sets kc, mc, nc and the A8 tile sizes of g from the cache
// sizes: a B panel (kc·nr) in half of L1, an A block (mc·kc) in a quarter of
// L2, the task's B block (nc·kc) in half of L2.
func (g *gemmKernel) blocking() {
	l1, l2 := cacheSizes()
	g.kc = 256
	for g.kc < 1024 && 2*g.kc*g.nr*4 <= l1/2 {
		g.kc *= 2
	}
	g.mc = max(g.mr, (l2/4)/(g.kc*4)/g.mr*g.mr)
	g.mc = min(g.mc, 16*g.mr*4)
	g.nc = max(g.nr, (l2/2)/(g.kc*4)/g.nr*g.nr)
	g.a8L1Bytes = l1 / 2
	g.a8L2Bytes = l2 / 2
}

func gemm(p *Pool, dst []float32, w *Matrix, x []float32, n int) {
	g := active.gemm
	K, R := w.Cols, w.Rows
	chunk, tasks := splitRows(R, p.Threads(), g.nr, g.nc)
	kcMax := min(g.kc, K)
	bLen := ceilDiv(chunk, g.nr) * g.nr * kcMax
	aLen := ceilDiv(min(g.mc, n), g.mr) * g.mr * kcMax
	p.Run(tasks, func(_, t int) {
		r0 := t * chunk
		rows := min(R, r0+chunk) - r0
		bufp := getFloats(bLen + aLen + kcMax + g.mr*g.nr)
		defer putFloats(bufp)
		buf := *bufp
		bp, ap := buf[:bLen], buf[bLen:bLen+aLen]
		tmp, tile := buf[bLen+aLen:bLen+aLen+kcMax], buf[bLen+aLen+kcMax:]
		for k0 := 0; k0 < K; k0 += g.kc {
			kc := min(g.kc, K-k0)
			add := k0 > 0
			g.packB(bp, w, r0, rows, k0, kc, g.nr, tmp)
			for t0 := 0; t0 < n; t0 += g.mc {
				mc := min(g.mc, n-t0)
				g.packA(ap, x[t0*K:], K, mc, k0, kc, g.mr)
				for jr := 0; jr < rows; jr += g.nr {
					b := bp[jr*kc : (jr+g.nr)*kc]
					nr := min(g.nr, rows-jr)
					for ir := 0; ir < mc; ir += g.mr {
						a := ap[ir*kc : (ir+g.mr)*kc]
						mr := min(g.mr, mc-ir)
						c := dst[(t0+ir)*R+r0+jr:]
						if mr == g.mr && nr == g.nr {
							g.micro(kc, a, b, c, R, add)
							continue
						}
						if nr == g.nr && g.microRows != nil {
							g.microRows(kc, mr, a, b, c, R, add)
							continue
						}
						g.micro(kc, a, b, tile, g.nr, false)
						for i := 0; i < mr; i++ {
							ci, ti := c[i*R:i*R+nr], tile[i*g.nr:i*g.nr+nr]
							if add {
								for j, v := range ti {
									ci[j] += v
								}
							} else {
								copy(ci, ti)
							}
						}
					}
				}
			}
		}
	})
}

// Scratch buffers, recycled across calls.

var floatPool, bytePool sync.Pool

func getFloats(n int) *[]float32 {
	if v, ok := floatPool.Get().(*[]float32); ok && cap(*v) >= n {
		*v = (*v)[:n]
		return v
	}
	s := make([]float32, n)
	return &s
}

func putFloats(v *[]float32) { floatPool.Put(v) }

func getBytes(n int) *[]byte {
	if v, ok := bytePool.Get().(*[]byte); ok && cap(*v) >= n {
		*v = (*v)[:n]
		return v
	}
	s := make([]byte, n)
	return &s
}

func putBytes(v *[]byte) { bytePool.Put(v) }
