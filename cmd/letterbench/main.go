// Command letterbench measures the letter renderer against the same letter
// printed from HTML by headless Chromium (kept warm: one browser, one page,
// reused for every letter, driven over the DevTools protocol on a pipe) and
// by wkhtmltopdf (a process per letter, as it is normally used). It is a
// measuring tool, never part of the test run:
//
//	go run ./cmd/letterbench -n 200
//	go run ./cmd/letterbench -pdf docs/letter-long.pdf -sample long
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"impactd/internal/domain"
	"impactd/internal/letter"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "letterbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("letterbench", flag.ContinueOnError)
	n := fs.Int("n", 200, "letters to render with each renderer")
	sample := fs.String("sample", "typical", "typical (3 gifts) or long (200 gifts)")
	pdfOut := fs.String("pdf", "", "only write the sample letter rendered by impactd to this file")
	chromium := fs.String("chromium", "chromium", "Chromium binary; empty to skip")
	wkhtml := fs.String("wkhtmltopdf", "wkhtmltopdf", "wkhtmltopdf binary; empty to skip")
	if err := fs.Parse(args); err != nil {
		return err
	}
	snap := letter.SampleSnapshot()
	if *sample == "long" {
		snap = letter.LongSampleSnapshot(200)
	}
	enc, err := snap.Encode()
	if err != nil {
		return err
	}
	hash := domain.ContentHash(enc)
	r, err := letter.New(letter.Options{})
	if err != nil {
		return err
	}
	if *pdfOut != "" {
		var buf bytes.Buffer
		if err := r.Render(&buf, snap, hash); err != nil {
			return err
		}
		return os.WriteFile(*pdfOut, buf.Bytes(), 0o644)
	}
	html, err := letterHTML(snap, domain.VerificationCode(hash))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "letterbench: %s letter, %d letters each, GOMAXPROCS=%d\n\n", *sample, *n, runtime.GOMAXPROCS(0))
	fmt.Fprintf(stdout, "%-34s %12s %12s %12s %s\n", "renderer", "letters/s", "ms/letter", "bytes", "same bytes twice")
	var results []result
	res, err := measure("impactd (fpdf, 1 goroutine)", *n, func() ([]byte, error) {
		var buf bytes.Buffer
		err := r.Render(&buf, snap, hash)
		return buf.Bytes(), err
	})
	if err != nil {
		return err
	}
	results = append(results, res)
	res.print(stdout)
	if *chromium != "" {
		c, err := startChromium(ctx, *chromium)
		if err != nil {
			fmt.Fprintf(stdout, "%-34s skipped: %v\n", "chromium", err)
		} else {
			res, err := measure("Chromium headless (warm page)", *n, func() ([]byte, error) { return c.print(html) })
			c.close()
			if err != nil {
				return err
			}
			results = append(results, res)
			res.print(stdout)
		}
	}
	if *wkhtml != "" {
		if _, err := exec.LookPath(*wkhtml); err != nil {
			fmt.Fprintf(stdout, "%-34s skipped: %v\n", "wkhtmltopdf", err)
		} else {
			res, err := measure("wkhtmltopdf (process per letter)", max(*n/10, 5), func() ([]byte, error) {
				cmd := exec.CommandContext(ctx, *wkhtml, "--quiet", "-", "-")
				cmd.Stdin = strings.NewReader(html)
				return cmd.Output()
			})
			if err != nil {
				return err
			}
			results = append(results, res)
			res.print(stdout)
		}
	}
	fmt.Fprintln(stdout)
	for _, o := range results[1:] {
		fmt.Fprintf(stdout, "impactd is %.1f× the letters/s of %s; its PDF is %.2f× the size\n",
			results[0].perSec/o.perSec, o.name, float64(results[0].bytes)/float64(o.bytes))
	}
	return nil
}

type result struct {
	name          string
	perSec, ms    float64
	bytes         int
	deterministic bool
}

func (r result) print(w io.Writer) {
	fmt.Fprintf(w, "%-34s %12.1f %12.2f %12d %v\n", r.name, r.perSec, r.ms, r.bytes, r.deterministic)
}

// measure renders once to warm up, then n times, and compares two outputs.
func measure(name string, n int, render func() ([]byte, error)) (result, error) {
	first, err := render()
	if err != nil {
		return result{}, fmt.Errorf("%s: %w", name, err)
	}
	start := time.Now()
	var last []byte
	for range n {
		if last, err = render(); err != nil {
			return result{}, fmt.Errorf("%s: %w", name, err)
		}
	}
	el := time.Since(start)
	return result{name: name, perSec: float64(n) / el.Seconds(), ms: float64(el.Milliseconds()) / float64(n),
		bytes: len(last), deterministic: bytes.Equal(first, last)}, nil
}

// chrome is a headless Chromium driven over --remote-debugging-pipe: the
// DevTools protocol as NUL-terminated JSON on file descriptors 3 and 4.
type chrome struct {
	cmd     *exec.Cmd
	w       io.WriteCloser
	r       *bufio.Reader
	id      int
	session string
	frame   string
}

func startChromium(ctx context.Context, bin string) (*chrome, error) {
	toChrome, ourW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	ourR, fromChrome, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "letterbench-chromium")
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin, "--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
		"--no-first-run", "--user-data-dir="+dir, "about:blank")
	cmd.ExtraFiles = []*os.File{toChrome, fromChrome}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	toChrome.Close()
	fromChrome.Close()
	c := &chrome{cmd: cmd, w: ourW, r: bufio.NewReader(ourR)}
	var target struct{ TargetID string }
	if err := c.call("Target.createTarget", map[string]any{"url": "about:blank"}, &target); err != nil {
		c.close()
		return nil, err
	}
	var attached struct{ SessionID string }
	if err := c.call("Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached); err != nil {
		c.close()
		return nil, err
	}
	c.session = attached.SessionID
	var tree struct {
		FrameTree struct{ Frame struct{ ID string } }
	}
	if err := c.call("Page.getFrameTree", nil, &tree); err != nil {
		c.close()
		return nil, err
	}
	c.frame = tree.FrameTree.Frame.ID
	return c, nil
}

// call sends one command and waits for its answer, skipping events.
func (c *chrome) call(method string, params any, out any) error {
	c.id++
	msg := map[string]any{"id": c.id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if c.session != "" {
		msg["sessionId"] = c.session
	}
	b, _ := json.Marshal(msg)
	if _, err := c.w.Write(append(b, 0)); err != nil {
		return err
	}
	for {
		line, err := c.r.ReadBytes(0)
		if err != nil {
			return err
		}
		var resp struct {
			ID     int
			Result json.RawMessage
			Error  *struct{ Message string }
		}
		if err := json.Unmarshal(line[:len(line)-1], &resp); err != nil {
			return err
		}
		if resp.ID != c.id {
			continue
		}
		if resp.Error != nil {
			return errors.New(method + ": " + resp.Error.Message)
		}
		if out != nil {
			return json.Unmarshal(resp.Result, out)
		}
		return nil
	}
}

// print replaces the page's document with html and prints it to PDF.
func (c *chrome) print(html string) ([]byte, error) {
	if err := c.call("Page.setDocumentContent", map[string]any{"frameId": c.frame, "html": html}, nil); err != nil {
		return nil, err
	}
	var pdf struct{ Data string }
	if err := c.call("Page.printToPDF", map[string]any{"printBackground": true, "preferCSSPageSize": true}, &pdf); err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(pdf.Data)
}

func (c *chrome) close() {
	c.w.Close()
	_ = c.cmd.Process.Kill()
	_ = c.cmd.Wait()
}

// letterHTML is the same letter as HTML and CSS: the content of the fpdf
// letter with a similar look, for the printers that start from HTML.
func letterHTML(s *domain.Snapshot, code string) (string, error) {
	var buf bytes.Buffer
	err := page.Execute(&buf, map[string]any{"S": s, "Code": code, "Peak": peak(s)})
	return buf.String(), err
}

func peak(s *domain.Snapshot) int64 {
	var p int64 = 1
	if s.Chart != nil {
		for _, b := range s.Chart.Bars {
			p = max(p, b.Amount)
		}
	}
	return p
}

var page = template.Must(template.New("letter").Funcs(template.FuncMap{
	"pct": func(a, p int64) int64 { return a * 100 / p },
}).Parse(`<!doctype html><html><head><meta charset="utf-8"><style>
@page { size: A4; margin: 15mm 20mm 20mm }
body { font-family: "Noto Sans", sans-serif; font-size: 10.5pt; color: #212529 }
h1 { color: #00395d; font-size: 17pt; margin: 0 } h2 { color: #00395d; font-size: 12pt; margin: 14pt 0 4pt }
.small { font-size: 8pt; color: #62686e } table { width: 100%; border-collapse: collapse; font-size: 9pt }
th { background: #e2ebf1; color: #00395d; text-align: left; font-size: 8.5pt; padding: 3pt }
td { padding: 2pt 3pt } tr:nth-child(even) td { background: #f5f8fa } td.r, th.r { text-align: right }
.chart { display: flex; align-items: flex-end; height: 32mm; border-bottom: 1px solid #d6dce1 }
.bar { flex: 1; margin: 0 2mm; background: #007a99 } footer { font-size: 7.2pt; color: #62686e; margin-top: 20pt }
.demo { background: #fff3cd; border: 1px solid #e6b450; color: #7a4800; font-size: 8.5pt; padding: 3pt }
</style></head><body>
<h1>{{.S.Org.Name}}</h1><div class="small">Registered charity no. {{.S.Org.CharityNumber}}<br>{{range .S.Org.Address}}{{.}}, {{end}}<br>{{.S.Org.Website}} · {{.S.Org.Email}}</div>
<p>{{.S.Donor.Name}}<br>{{range .S.Donor.Address}}{{.}}<br>{{end}}</p><p style="text-align:right">{{.S.IssuedOn}}</p>
<h2 style="font-size:14pt">Your impact statement — {{.S.PeriodLabel}}</h2>
<p>{{.S.Greeting}}</p>{{range .S.Paragraphs}}<p>{{.}}</p>{{end}}
<h2>Your gifts</h2><table><tr><th>Date</th><th>Type</th><th>Designation</th><th>Gift Aid</th><th class="r">Amount</th></tr>
{{range .S.Gifts}}<tr><td>{{.Date}}</td><td>{{if .Recurring}}Monthly{{else}}One-off{{end}}</td><td>{{or .Designation "—"}}</td><td>{{if .GiftAid}}Yes{{end}}</td><td class="r">{{.Amount}}</td></tr>{{end}}</table>
<h2>Refunds</h2><table><tr><th>Date</th><th>Refund</th><th class="r">Amount</th></tr>{{range .S.Refunds}}<tr><td>{{.Date}}</td><td>Refund of your gift of {{.GiftDate}}</td><td class="r">-{{.Amount}}</td></tr>{{end}}</table>
<h2>Your total giving this period</h2><table><tr><th>Currency</th><th class="r">Gross</th><th class="r">Refunded</th><th class="r">Net</th></tr>{{range .S.Totals}}<tr><td>{{.Currency}}</td><td class="r">{{.Gross}}</td><td class="r">{{.Refunded}}</td><td class="r">{{.Net}}</td></tr>{{end}}</table>
{{with .S.GiftAid}}<p>{{.Note}}</p>{{end}}
{{if .S.Chart}}<h2>Your giving over time</h2><div class="chart">{{range .S.Chart.Bars}}<div class="bar" style="height:{{pct .Amount $.Peak}}%"></div>{{end}}</div>{{end}}
{{with .S.Impact}}<h2>{{.Title}}</h2><table><tr><th></th><th class="r">This period</th><th class="r">Cumulative</th></tr>{{range .Metrics}}<tr><td>{{.Label}}</td><td class="r">{{.Period}}</td><td class="r">{{.Cumulative}} since {{.CumulativeSince}}</td></tr>{{end}}</table>
<p class="demo">† Demonstration figure, invented for this demo — not a real result.</p><p>{{.Narrative}}</p><p class="small">Source: {{.Source}}</p>{{end}}
{{range .S.SignOff}}{{.}}<br>{{end}}
<footer>{{range .S.Footer}}{{.}}<br>{{end}}<b>Verification code {{.Code}}</b></footer></body></html>`))
