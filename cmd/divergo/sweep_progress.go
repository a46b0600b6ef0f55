package main

import (
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/sys/unix"

	"github.com/divergo/divergo/eval"
)

// sweepProgress shows a long run on stderr: on a terminal, one progress bar
// per stage (mpb) with rate and ETA; otherwise (a batch log) one line per
// row with the elapsed time and an ETA.
type sweepProgress struct {
	w     io.Writer
	tty   bool
	p     *mpb.Progress
	bar   *mpb.Bar
	stage string
	last  int
	// rows and total count the rows written (components stage) or the
	// plan steps measured (plan stage).
	rows  atomic.Int64
	total atomic.Int64
	start time.Time
	// stageStart is when the components stage began (for the line ETA).
	stageStart time.Time
}

var sweepStageNames = map[string]string{
	"references": "references",
	"base":       "base pass ",
	"cache":      "cache     ",
	"components": "components",
	"plan":       "plan steps",
}

func newSweepProgress(w io.Writer, tty bool) *sweepProgress {
	sp := &sweepProgress{w: w, tty: tty, start: time.Now()}
	if tty {
		sp.p = mpb.New(mpb.WithOutput(w), mpb.WithWidth(36), mpb.WithRefreshRate(200*time.Millisecond))
	}
	return sp
}

// update is the sweep's Progress callback.
func (sp *sweepProgress) update(stage string, done, total int) {
	if stage == "components" && sp.stageStart.IsZero() {
		sp.stageStart = time.Now()
	}
	if !sp.tty {
		if stage != sp.stage {
			sp.stage = stage
			if stage != "components" && stage != "plan" {
				fmt.Fprintf(sp.w, "sweep: %s (%d samples)\n", stage, total)
			}
		}
		return
	}
	if stage != sp.stage || done < sp.last || sp.bar == nil {
		sp.endBar()
		sp.stage = stage
		sp.bar = sp.newBar(stage, total)
	}
	sp.last = done
	sp.bar.SetCurrent(int64(done))
}

func (sp *sweepProgress) newBar(stage string, total int) *mpb.Bar {
	name := sweepStageNames[stage]
	if name == "" {
		name = stage
	}
	unit := "samples"
	pre := []decor.Decorator{decor.Name(name+" ", decor.WC{}), decor.CountersNoUnit("%d/%d "+unit, decor.WC{W: 18})}
	switch stage {
	case "components":
		pre = []decor.Decorator{decor.Name(name+" ", decor.WC{}), decor.Any(func(st decor.Statistics) string {
			done, total := sp.rows.Load(), sp.total.Load()
			if st.Completed {
				done = total // the last sample completes the bar before its row is counted
			}
			return fmt.Sprintf("%d/%d rows", done, total)
		}, decor.WC{W: 14})}
	case "plan":
		sp.rows.Store(0)
		pre = []decor.Decorator{decor.Name(name+" ", decor.WC{}), decor.Any(func(decor.Statistics) string {
			return fmt.Sprintf("%d measured", sp.rows.Load())
		}, decor.WC{W: 14})}
	}
	return sp.p.AddBar(int64(total),
		mpb.PrependDecorators(pre...),
		mpb.AppendDecorators(
			decor.Percentage(decor.WC{W: 5}),
			decor.AverageSpeed(0, " %.1f "+unit+"/s", decor.WC{W: 18}),
			decor.Name("  ETA "),
			decor.OnComplete(decor.AverageETA(decor.ET_STYLE_GO), "done"),
		))
}

func (sp *sweepProgress) endBar() {
	if sp.bar != nil && !sp.bar.Completed() {
		sp.bar.Abort(false)
	}
	sp.bar = nil
}

// row is the sweep's OnRow callback.
func (sp *sweepProgress) row(r eval.SweepRow, done, total int) {
	sp.rows.Store(int64(done))
	sp.total.Store(int64(total))
	if sp.tty {
		return
	}
	el := time.Since(sp.stageStart)
	eta := time.Duration(float64(el) / float64(done) * float64(total-done))
	what := "skipped"
	if r.Divergence != nil {
		what = fmt.Sprintf("FDTM %.2f, KL %.3g", r.FDTM.Mean, r.KL.Mean)
	}
	fmt.Fprintf(sp.w, "sweep: row %d/%d %s %s: %s (%.2f s); elapsed %s, ETA %s\n", done, total, r.Component, r.Spec, what,
		r.Timing.Seconds, el.Round(time.Second), eta.Round(time.Second))
}

// step counts a measured plan step.
func (sp *sweepProgress) step() { sp.rows.Add(1) }

// finish ends the display.
func (sp *sweepProgress) finish() {
	if sp.p == nil {
		return
	}
	sp.endBar()
	sp.p.Wait()
	sp.p = nil
}

// sweepStderrTerminal reports whether stderr is a terminal that can show
// progress bars: one with a width (a pseudo-terminal of zero columns shows
// nothing) and not TERM=dumb.
func sweepStderrTerminal() bool {
	if !stderrIsTerminal || os.Getenv("TERM") == "dumb" {
		return false
	}
	ws, err := unix.IoctlGetWinsize(int(os.Stderr.Fd()), unix.TIOCGWINSZ)
	return err == nil && ws.Col >= 40
}
