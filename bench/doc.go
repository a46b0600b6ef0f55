// Package bench measures kernel and model throughput and writes the
// results as Markdown or JSON tables.
package bench
