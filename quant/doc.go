// Package quant holds the quantizers and pruners, the spec grammar and
// plans (DESIGN §3), the component selector, and dequantization.
package quant
