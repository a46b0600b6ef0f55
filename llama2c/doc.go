// Package llama2c reads karpathy/llama2.c model checkpoints (.bin): the
// legacy header and the v1 (float32) and v2 (int8 groups) formats.
package llama2c
