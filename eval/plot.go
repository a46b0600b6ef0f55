package eval

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/divergo/divergo/engine"
)

// WriteHeatmap draws the sweep as a heatmap, layers (rows, layer 0 on top)
// × the seven matrix kinds (columns), one panel per setting, coloured by
// the metric on one scale shared by the panels, with the value written in
// every cell of models up to 40 layers. Dark cells are the damaging ones
// whichever way the metric points; grey cells were skipped (the component
// cannot take the setting). embed and lm_head rows are not drawn (they
// are in the table). The format follows the extension of path (.png or
// .svg); the file is written to a temporary name and renamed.
func WriteHeatmap(path string, h SweepHeader, rows []SweepRow, m SweepMetric) error {
	var render func(w, hgt vg.Length) (vg.CanvasWriterTo, vg.Canvas)
	switch strings.ToLower(filepath.Ext(path)) {
	case ".png":
		render = func(w, hgt vg.Length) (vg.CanvasWriterTo, vg.Canvas) {
			c := vgimg.NewWith(vgimg.UseWH(w, hgt), vgimg.UseDPI(144))
			return vgimg.PngCanvas{Canvas: c}, c
		}
	case ".svg":
		render = func(w, hgt vg.Length) (vg.CanvasWriterTo, vg.Canvas) {
			c := vgsvg.New(w, hgt)
			return c, c
		}
	default:
		return fmt.Errorf("heatmap %s: want a .png or .svg file name", path)
	}
	hm, err := newHeatmap(h, rows, m)
	if err != nil {
		return fmt.Errorf("heatmap %s: %w", path, err)
	}
	w, hgt := hm.size()
	out, c := render(w, hgt)
	if err := hm.draw(draw.New(c.(vg.CanvasSizer))); err != nil {
		return fmt.Errorf("heatmap %s: %w", path, err)
	}
	return WriteFileAtomic(path, func(wr io.Writer) error {
		_, err := out.WriteTo(wr)
		return err
	})
}

// heatmap is the data of WriteHeatmap: per setting a layers × kinds grid of
// values (NaN: not swept) and skip marks.
type heatmap struct {
	h       SweepHeader
	m       SweepMetric
	kinds   []string
	layers  int
	specs   []string
	vals    [][][]float64 // [spec][layer][kind], in metric units
	skipped [][][]bool
	lo, hi  float64 // colour range in scale units (log10 for Log metrics)
	samples int     // S used (from the rows; the header has the S requested)
	cmap    palette.ColorMap
}

func newHeatmap(h SweepHeader, rows []SweepRow, m SweepMetric) (*heatmap, error) {
	hm := &heatmap{h: h, m: m, kinds: engine.LayerKinds(), layers: h.Run.Config.Layers}
	kindAt := map[string]int{}
	for i, k := range hm.kinds {
		kindAt[k] = i
	}
	specAt := map[string]int{}
	for _, r := range rows {
		if r.Layer < 0 || r.Layer >= hm.layers {
			continue
		}
		if _, ok := specAt[r.Spec]; !ok {
			specAt[r.Spec] = -1
		}
	}
	for _, s := range h.Run.Specs { // in the run's order
		if _, ok := specAt[s]; ok {
			specAt[s] = len(hm.specs)
			hm.specs = append(hm.specs, s)
		}
	}
	if len(hm.specs) == 0 {
		return nil, fmt.Errorf("no layer component among the rows")
	}
	for range hm.specs {
		v := make([][]float64, hm.layers)
		sk := make([][]bool, hm.layers)
		for l := range v {
			v[l] = make([]float64, len(hm.kinds))
			for k := range v[l] {
				v[l][k] = math.NaN()
			}
			sk[l] = make([]bool, len(hm.kinds))
		}
		hm.vals = append(hm.vals, v)
		hm.skipped = append(hm.skipped, sk)
	}
	hm.lo, hm.hi = math.Inf(1), math.Inf(-1)
	for i := range rows {
		r := &rows[i]
		s, ok := specAt[r.Spec]
		k, kok := kindAt[r.Kind]
		if !ok || s < 0 || !kok || r.Layer < 0 || r.Layer >= hm.layers {
			continue
		}
		if r.Divergence != nil {
			hm.samples = r.Samples
		}
		v, ok := m.Value(r)
		if !ok {
			hm.skipped[s][r.Layer][k] = r.Skipped != ""
			continue
		}
		hm.vals[s][r.Layer][k] = v
	}
	// The floor of a log scale: a tenth of the smallest positive value
	// (KL is exactly 0 for a component the setting leaves unchanged).
	floor := math.Inf(1)
	for _, p := range hm.vals {
		for _, l := range p {
			for _, v := range l {
				if v > 0 && sweepFinite(v) {
					floor = min(floor, v)
				}
			}
		}
	}
	for _, p := range hm.vals {
		for _, l := range p {
			for k, v := range l {
				if math.IsNaN(v) {
					continue
				}
				if m.Log {
					if !sweepFinite(floor) {
						floor = 1e-12
					}
					v = math.Log10(max(v, floor/10))
					l[k] = v
				}
				hm.lo, hm.hi = min(hm.lo, v), max(hm.hi, v)
			}
		}
	}
	if !sweepFinite(hm.lo) {
		hm.lo, hm.hi = 0, 1 // every cell skipped
	}
	if hm.hi-hm.lo < 1e-9*max(1, math.Abs(hm.hi)) {
		hm.lo, hm.hi = hm.lo-0.5, hm.hi+0.5
	}
	// Black body runs dark → light: dark must mean damage.
	cm := moreland.ExtendedBlackBody()
	if !m.HigherIsBetter {
		cm = palette.Reverse(cm)
	}
	cm.SetMin(hm.lo)
	cm.SetMax(hm.hi)
	hm.cmap = cm
	return hm, nil
}

const (
	heatCellW   = 0.72 * vg.Inch
	heatTitleH  = 0.72 * vg.Inch
	heatBarW    = 1.25 * vg.Inch
	heatMarginW = 0.85 * vg.Inch
	heatMarginH = 0.95 * vg.Inch
)

func (hm *heatmap) cellH() vg.Length {
	switch {
	case hm.layers <= 8:
		return 0.42 * vg.Inch
	case hm.layers <= 24:
		return 0.3 * vg.Inch
	}
	return 0.22 * vg.Inch
}

func (hm *heatmap) size() (vg.Length, vg.Length) {
	panelW := vg.Length(len(hm.kinds))*heatCellW + heatMarginW
	w := vg.Length(len(hm.specs))*panelW + heatBarW
	hgt := heatTitleH + vg.Length(hm.layers)*hm.cellH() + heatMarginH
	return w, max(hgt, 3.2*vg.Inch)
}

// grid adapts one panel to plotter.GridXYZ: column c is kind c at x = c,
// row r is layer r at y = −r (layer 0 on top).
type heatGrid struct{ v [][]float64 }

func (g heatGrid) Dims() (int, int)   { return len(g.v[0]), len(g.v) }
func (g heatGrid) Z(c, r int) float64 { return g.v[r][c] }
func (g heatGrid) X(c int) float64    { return float64(c) }
func (g heatGrid) Y(r int) float64    { return -float64(r) }

func (hm *heatmap) draw(dc draw.Canvas) error {
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())

	run := &hm.h.Run
	title := fmt.Sprintf("divergo sweep · %s · %s", heatModelName(run), hm.m.Label)
	sub := "each cell: that one matrix compressed alone, the rest of the model unchanged · darker = more damage"
	sub2 := fmt.Sprintf("%s · n = %d prompt tokens, G = %d compared tokens, S = %d prompts", heatCorpusName(run.Corpus), run.PromptLen, run.Gen, hm.samples)
	if hm.h.Shard != "" {
		sub2 += " · shard " + hm.h.Shard
	}
	ts := text.Style{Color: color.Black, Font: font.From(heatFont, 13), XAlign: draw.XLeft, YAlign: draw.YTop, Handler: plot.DefaultTextHandler}
	dc.FillText(ts, vg.Point{X: dc.Min.X + 0.15*vg.Inch, Y: dc.Max.Y - 0.08*vg.Inch}, title)
	ts.Font = font.From(heatFont, 8.5)
	ts.Color = color.Gray{Y: 0x40}
	dc.FillText(ts, vg.Point{X: dc.Min.X + 0.15*vg.Inch, Y: dc.Max.Y - 0.34*vg.Inch}, sub)
	dc.FillText(ts, vg.Point{X: dc.Min.X + 0.15*vg.Inch, Y: dc.Max.Y - 0.5*vg.Inch}, sub2)

	body := draw.Crop(dc, 0, -heatBarW, 0, -heatTitleH)
	pw := (body.Max.X - body.Min.X) / vg.Length(len(hm.specs))
	pal := hm.cmap.Palette(256)
	cell := hm.cellH()
	fontSize := min(9, cell.Points()*0.45)
	for s, spec := range hm.specs {
		p := plot.New()
		heatSans(p)
		p.Title.Text = spec
		p.Title.TextStyle.Font.Size = 11
		p.X.Label.Text = "component"
		if s == 0 {
			p.Y.Label.Text = "layer"
		}
		hmap := plotter.NewHeatMap(heatGrid{hm.vals[s]}, pal)
		hmap.Min, hmap.Max = hm.lo, hm.hi
		hmap.NaN = color.RGBA{R: 0xd8, G: 0xd8, B: 0xd8, A: 0xff}
		p.Add(hmap)
		var ticks []plot.Tick
		for i, k := range hm.kinds {
			ticks = append(ticks, plot.Tick{Value: float64(i), Label: k})
		}
		p.X.Tick.Marker = plot.ConstantTicks(ticks)
		p.X.Tick.Label.Font.Size = 8
		ticks = nil
		step := 1
		if hm.layers > 24 {
			step = 2
		}
		for l := 0; l < hm.layers; l++ {
			label := ""
			if l%step == 0 {
				label = fmt.Sprint(l)
			}
			ticks = append(ticks, plot.Tick{Value: -float64(l), Label: label})
		}
		p.Y.Tick.Marker = plot.ConstantTicks(ticks)
		p.X.Min, p.X.Max = -0.5, float64(len(hm.kinds))-0.5
		p.Y.Min, p.Y.Max = -float64(hm.layers)+0.5, 0.5
		p.X.Padding, p.Y.Padding = 0, 0
		if hm.layers <= 40 {
			lab, err := hm.labels(s, pal, fontSize)
			if err != nil {
				return err
			}
			p.Add(lab)
		}
		p.Draw(draw.Crop(body, vg.Length(s)*pw, -(body.Max.X - body.Min.X - vg.Length(s+1)*pw), 0, 0))
	}

	// The colour bar, with the metric's units (powers of ten on a log scale).
	bar := plot.New()
	heatSans(bar)
	cb := &plotter.ColorBar{ColorMap: hm.cmap, Vertical: true}
	bar.Add(cb)
	bar.HideX()
	bar.Y.Label.Text = hm.m.Label
	bar.Y.Label.TextStyle.Font.Size = 9
	bar.Y.Padding = 0
	bar.Y.Tick.Marker = plot.TickerFunc(func(lo, hi float64) []plot.Tick {
		var out []plot.Tick
		for _, t := range (plot.DefaultTicks{}).Ticks(lo, hi) {
			switch {
			case t.Label == "":
			case hm.m.Log:
				t.Label = fmt.Sprintf("%.0e", math.Pow(10, t.Value))
			default:
				t.Label = strconv.FormatFloat(t.Value, 'g', 6, 64) // 125, not 125.00
			}
			out = append(out, t)
		}
		return out
	})
	bar.Title.Text = " "
	bar.Draw(draw.Crop(dc, dc.Max.X-dc.Min.X-heatBarW+0.1*vg.Inch, -0.15*vg.Inch, 0.55*vg.Inch, -heatTitleH-0.1*vg.Inch))
	return nil
}

// labels writes each cell's value (or "skip") in a colour that reads on
// the cell.
func (hm *heatmap) labels(s int, pal palette.Palette, size float64) (*plotter.Labels, error) {
	var xys plotter.XYs
	var strs []string
	var styles []text.Style
	colors := pal.Colors()
	for l, row := range hm.vals[s] {
		for k, v := range row {
			st := text.Style{Font: font.From(heatFont, vg.Length(size)), XAlign: draw.XCenter, YAlign: draw.YCenter, Handler: plot.DefaultTextHandler, Color: color.Black}
			var str string
			switch {
			case hm.skipped[s][l][k]:
				str, st.Color = "skip", color.Gray{Y: 0x60}
			case math.IsNaN(v):
				continue
			default:
				raw := v
				if hm.m.Log {
					raw = math.Pow(10, v)
				}
				str = hm.m.Format(raw)
				i := int((v-hm.lo)/(hm.hi-hm.lo)*float64(len(colors)-1) + 0.5)
				if heatLuminance(colors[max(0, min(len(colors)-1, i))]) < 0.5 {
					st.Color = color.White
				}
			}
			xys = append(xys, plotter.XY{X: float64(k), Y: -float64(l)})
			strs = append(strs, str)
			styles = append(styles, st)
		}
	}
	return &plotter.Labels{XYs: xys, Labels: strs, TextStyle: styles}, nil
}

// heatFont is the typeface of every text in a heatmap: a sans serif reads
// better at small sizes than gonum/plot's default serif.
var heatFont = font.Font{Typeface: "Liberation", Variant: "Sans"}

// heatSans switches a plot's texts to heatFont.
func heatSans(p *plot.Plot) {
	for _, st := range []*text.Style{&p.Title.TextStyle, &p.X.Label.TextStyle, &p.Y.Label.TextStyle, &p.X.Tick.Label, &p.Y.Tick.Label} {
		st.Font.Typeface, st.Font.Variant = heatFont.Typeface, heatFont.Variant
	}
}

func heatLuminance(c color.Color) float64 {
	r, g, b, _ := c.RGBA()
	return (0.2126*float64(r) + 0.7152*float64(g) + 0.0722*float64(b)) / 0xffff
}

func heatModelName(r *SweepRun) string {
	if r.Model.Format == "embedded" || r.Model.Path == "" {
		return "stories260K (embedded)"
	}
	return filepath.Base(strings.TrimRight(r.Model.Path, "/"))
}

func heatCorpusName(s string) string {
	if strings.HasPrefix(s, "embedded") {
		return "embedded TinyStories excerpt"
	}
	return filepath.Base(s)
}
