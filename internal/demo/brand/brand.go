// Package brand draws the demo's neutral letterhead images: an emblem that
// is no organisation's trademark and an invented signature. Both are
// opaque (no alpha channel), so a letter embeds their pixels as they are.
package brand

import (
	"image"
	"image/color"
	"math"
)

// Logo draws the demo's neutral emblem: a sheltering arc over a small
// figure in a dark blue disc, on white (no transparency, so the letter
// embeds its pixels as they are).
func Logo() image.Image {
	const size = 200
	brand := color.RGBA{0, 57, 93, 255}
	arc := color.RGBA{127, 208, 224, 255}
	white := color.RGBA{255, 255, 255, 255}
	return paletted(draw(size, size, func(x, y float64) color.RGBA {
		// x, y in -1..1, y up.
		r := math.Hypot(x, y)
		switch {
		case r > 0.98:
			return white
		case r > 0.6 && r < 0.76 && y > 0.05:
			return arc
		case math.Hypot(x, y-0.08) < 0.15:
			return white
		case y < -0.12 && y > -0.6 && (x*x)/(0.3*0.3)+((y+0.6)*(y+0.6))/(0.46*0.46) < 1:
			return white
		}
		return brand
	}), brand, arc, white)
}

// paletted maps img onto a small palette — the colours and eight blends
// between each pair — so that the PNG stays a few kilobytes.
func paletted(img image.Image, cs ...color.RGBA) image.Image {
	var pal color.Palette
	for i, a := range cs {
		pal = append(pal, a)
		for _, b := range cs[i+1:] {
			for k := 1; k < 8; k++ {
				f := float64(k) / 8
				mix := func(x, y uint8) uint8 { return uint8(float64(x)*(1-f) + float64(y)*f + 0.5) }
				pal = append(pal, color.RGBA{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), 255})
			}
		}
	}
	out := image.NewPaletted(img.Bounds(), pal)
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			out.Set(x, y, img.At(x, y))
		}
	}
	return out
}

// Signature draws an invented signature in dark grey ink on white.
func Signature() image.Image {
	const w, h = 420, 112
	const ink = 40
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	cover := make([]float64, w*h)
	stroke := func(fx, fy func(t float64) float64, width float64) {
		const n = 4000
		for i := 0; i <= n; i++ {
			t := float64(i) / n
			cx, cy := fx(t), fy(t)
			rad := width / 2
			for py := int(cy - rad - 1); py <= int(cy+rad+1); py++ {
				for px := int(cx - rad - 1); px <= int(cx+rad+1); px++ {
					if px < 0 || py < 0 || px >= w || py >= h {
						continue
					}
					c := math.Min(1, math.Max(0, rad+0.5-math.Hypot(float64(px)+0.5-cx, float64(py)+0.5-cy)))
					if c > cover[py*w+px] {
						cover[py*w+px] = c
					}
				}
			}
		}
	}
	// The name: loops that run left to right, then a flourish under it.
	stroke(func(t float64) float64 { return 22 + 330*t + 16*math.Sin(9*2*math.Pi*t) },
		func(t float64) float64 {
			return 52 - 26*math.Sin(9*2*math.Pi*t+0.6)*math.Exp(-1.2*t) + 8*math.Sin(math.Pi*t)
		}, 2.8)
	stroke(func(t float64) float64 { return 45 + 352*t }, func(t float64) float64 { return 88 - 12*math.Sin(math.Pi*t) + 3*t }, 2)
	// Sixteen greys: a 4-bit palette is half the bytes of 8-bit grey, and
	// the strokes' edges stay smooth.
	var pal color.Palette
	for k := range 16 {
		v := uint8(255 - k*(255-ink)/15)
		pal = append(pal, color.RGBA{v, v, v, 255})
	}
	out := image.NewPaletted(img.Rect, pal)
	for i, c := range cover {
		out.Pix[i] = uint8(c*15 + 0.5)
	}
	return out
}

// draw renders an image w × h from a colour function over -1..1 (y up),
// four by four samples a pixel for smooth edges.
func draw(w, h int, at func(x, y float64) color.RGBA) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	const ss = 4
	for py := range h {
		for px := range w {
			var r, g, b int
			for sy := range ss {
				for sx := range ss {
					x := (float64(px)+(float64(sx)+0.5)/ss)/float64(w)*2 - 1
					y := 1 - (float64(py)+(float64(sy)+0.5)/ss)/float64(h)*2
					c := at(x, y)
					r, g, b = r+int(c.R), g+int(c.G), b+int(c.B)
				}
			}
			img.SetRGBA(px, py, color.RGBA{uint8(r / (ss * ss)), uint8(g / (ss * ss)), uint8(b / (ss * ss)), 255})
		}
	}
	return img
}
