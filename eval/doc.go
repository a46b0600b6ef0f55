// Package eval orchestrates studies: corpora and prompts, reference
// continuations, compare, sweep, planner, task runs, and result writers.
package eval
