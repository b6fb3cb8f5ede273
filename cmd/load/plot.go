package main

import (
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// plotSweep draws latency against offered rate (log scale: overload is orders of magnitude
// above the rest) with the 2 s sustainability bound, into file (PNG or SVG by its extension).
func plotSweep(steps []stepResult, file string) error {
	p := plot.New()
	p.Title.Text = "Buzón locally: latency against offered rate (open loop)"
	p.X.Label.Text = "offered rate (inbound messages/s)"
	p.Y.Label.Text = "latency (ms, log scale)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top = true
	p.Legend.Left = true
	series := []struct {
		name string
		v    func(stepResult) float64
	}{
		{"ack p50", func(s stepResult) float64 { return s.AckP50ms }},
		{"ack p99", func(s stepResult) float64 { return s.AckP99ms }},
		{"end to end p50", func(s stepResult) float64 { return s.EndToEndP50ms }},
		{"end to end p99", func(s stepResult) float64 { return s.EndToEndP99ms }},
	}
	sorted := append([]stepResult(nil), steps...)
	for i := range sorted { // by rate (the half-rate step comes last in the run)
		for j := i + 1; j < len(sorted); j++ {
			if sorted[j].RateMsgs < sorted[i].RateMsgs {
				sorted[i], sorted[j] = sorted[j], sorted[i]
			}
		}
	}
	var lines []any
	for _, s := range series {
		xy := make(plotter.XYs, 0, len(sorted))
		for _, st := range sorted {
			xy = append(xy, plotter.XY{X: float64(st.RateMsgs), Y: max(s.v(st), 0.1)})
		}
		lines = append(lines, s.name, xy)
	}
	if err := plotutil.AddLinePoints(p, lines...); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	if len(sorted) > 0 {
		bound, err := plotter.NewLine(plotter.XYs{{X: float64(sorted[0].RateMsgs), Y: ms(maxE2EP99)}, {X: float64(sorted[len(sorted)-1].RateMsgs), Y: ms(maxE2EP99)}})
		if err != nil {
			return fmt.Errorf("plot: %w", err)
		}
		bound.Color = color.Gray{Y: 128}
		bound.Dashes = []vg.Length{vg.Points(4), vg.Points(4)}
		p.Add(bound)
		p.Legend.Add("2 s bound (end to end p99)", bound)
	}
	if err := p.Save(8*vg.Inch, 5*vg.Inch, file); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	return nil
}
