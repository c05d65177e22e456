package letter

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"strings"
)

// WebFont is one block of the letter's typeface as a TrueType file, for a
// web page's @font-face: the supporter pages are set in the letter's own
// Noto Sans, and a browser fetches only the blocks whose characters a page
// shows (UnicodeRange).
type WebFont struct {
	// File is the block and style, "latin1-regular.ttf".
	File string
	Bold bool
	TTF  []byte
	// UnicodeRange is the CSS unicode-range of the block, "U+20-7E,U+A0-FF".
	UnicodeRange string
}

// WebFonts returns every block of the typeface in both styles.
func WebFonts() ([]WebFont, error) {
	fs, err := loadFonts()
	if err != nil {
		return nil, err
	}
	manifest, err := cutFonts.ReadFile("fonts/cut/blocks.txt")
	if err != nil {
		return nil, fmt.Errorf("web fonts: %w", err)
	}
	var out []WebFont
	for i, name := range strings.Fields(string(manifest)) {
		var runes []rune
		for r := rune(0); r < 0x10000; r++ {
			if b, _, ok := fs.lookup(r); ok && b == i {
				runes = append(runes, r)
			}
		}
		for st, sn := range styleNames {
			zr, err := zlib.NewReader(bytes.NewReader(fs.blocks[i].z[st]))
			if err != nil {
				return nil, fmt.Errorf("web fonts: %s: %w", name, err)
			}
			ttf, err := io.ReadAll(zr)
			if err != nil {
				return nil, fmt.Errorf("web fonts: %s: %w", name, err)
			}
			out = append(out, WebFont{File: name + "-" + sn.file + ".ttf", Bold: st == bold, TTF: ttf, UnicodeRange: unicodeRange(runes)})
		}
	}
	return out, nil
}

// unicodeRange writes sorted runes as a CSS unicode-range.
func unicodeRange(runes []rune) string {
	var parts []string
	for i := 0; i < len(runes); {
		j := i
		for j+1 < len(runes) && runes[j+1] == runes[j]+1 {
			j++
		}
		if i == j {
			parts = append(parts, fmt.Sprintf("U+%X", runes[i]))
		} else {
			parts = append(parts, fmt.Sprintf("U+%X-%X", runes[i], runes[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}
