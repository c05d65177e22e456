package demo

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"

	"impactd/internal/demo/brand"
)

// Letterhead is the demo's complete letterhead, so that `impactd demo`
// shows the letter a charity would send: a neutral logo drawn here (not the
// organisation's trademark), a charity number, a postal address, contact
// details and a named signatory with a signature. The number, address,
// signatory and signature are invented placeholders, and each says so on
// the letter itself: a demo PDF passed on must not pass for the charity's.
var Letterhead = map[string]string{
	"IMPACTD_ORG_CHARITY_NUMBER": "0000000 (demo placeholder)",
	"IMPACTD_ORG_ADDRESS":        "Demo address, not for post|PO Box 0000|London|SE1 0AA",
	"IMPACTD_ORG_WEBSITE":        "https://example.org",
	"IMPACTD_ORG_EMAIL":          "supporters@example.org",
	"IMPACTD_ORG_SIGNATORY":      "Grace Whitfield",
	"IMPACTD_ORG_SIGNATORY_ROLE": "Head of Supporter Care (demo signatory)",
}

// WriteLetterhead writes the demo's logo and signature into dir and returns
// the settings of the demo letterhead, the two image files included. A
// setting the caller already has (getenv is not empty) is left out, so a
// real letterhead always wins.
func WriteLetterhead(dir string, getenv func(string) string) (map[string]string, error) {
	out := map[string]string{}
	for k, v := range Letterhead {
		if getenv(k) == "" {
			out[k] = v
		}
	}
	for name, img := range map[string]image.Image{"IMPACTD_ORG_LOGO_FILE": brand.Logo(), "IMPACTD_ORG_SIGNATURE_FILE": brand.Signature()} {
		if getenv(name) != "" {
			continue
		}
		if name == "IMPACTD_ORG_SIGNATURE_FILE" && getenv("IMPACTD_ORG_SIGNATORY") != "" {
			continue // someone else's signatory gets no invented signature
		}
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			return nil, fmt.Errorf("demo letterhead: %w", err)
		}
		path := filepath.Join(dir, map[string]string{"IMPACTD_ORG_LOGO_FILE": "demo-logo.png", "IMPACTD_ORG_SIGNATURE_FILE": "demo-signature.png"}[name])
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			return nil, fmt.Errorf("demo letterhead: %w", err)
		}
		out[name] = path
	}
	return out, nil
}
