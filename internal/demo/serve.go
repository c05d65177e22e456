package demo

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"impactd/internal/app"
	"impactd/internal/auth"
	"impactd/internal/console"
	"impactd/internal/domain"
	"impactd/internal/links"
	"impactd/internal/store"
)

// StaffEmail is the demo's staff console account.
const StaffEmail = "demo-staff@example.org"

// PasswordFile is where, inside the demo's directory, the demo staff
// account's password is kept (readable by its owner only), so that every
// `impactd demo --serve` can print it while the database keeps only its hash.
const PasswordFile = "console-password"

// Visit is what a person needs to look at a served demo.
type Visit struct {
	ConsoleURL   string
	Email        string
	Password     string
	PasswordFile string
	StatementURL string // one supporter's statement page, from a letter that was emailed
	VerifyURL    string // /verify with that letter's code filled in
	Code         string
}

// PrepareVisit makes sure the demo in dir has its staff account — created
// once, an admin, with a random password kept in dir/console-password — and
// picks one emailed letter to show. The statement link is signed with the
// App's key, so the App must be the demo's (SecretKey).
func PrepareVisit(ctx context.Context, a *app.App, dir string) (*Visit, error) {
	if a.Links == nil {
		return nil, errors.New("demo: no IMPACTD_SECRET_KEY, so no supporter link can be signed")
	}
	base := strings.TrimSuffix(a.Config.BaseURL, "/")
	v := &Visit{ConsoleURL: base + "/console", Email: StaffEmail, PasswordFile: filepath.Join(dir, PasswordFile)}
	var err error
	if v.Password, err = staffAccount(ctx, a, v.PasswordFile); err != nil {
		return nil, fmt.Errorf("demo: staff account: %w", err)
	}
	st, err := a.Store.NewestSentStatement(ctx)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	v.StatementURL = links.StatementURL(base, a.Links, st.ID, a.Clock.Now().Add(a.Config.StatementLinkTTL))
	v.Code = domain.VerificationCode(st.ContentHash)
	v.VerifyURL = base + "/verify?code=" + v.Code
	return v, nil
}

// staffAccount returns the demo account's password, creating the account
// (and the password file) the first time. If the file has gone, a new
// password replaces the old one.
func staffAccount(ctx context.Context, a *app.App, file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	password := strings.TrimSpace(string(b))
	existing, err := a.Store.StaffByEmail(ctx, StaffEmail)
	if err != nil && domain.ErrorCode(err) != domain.ENOTFOUND {
		return "", err
	}
	if existing != nil && password != "" {
		return password, nil
	}
	var raw [15]byte
	_, _ = rand.Read(raw[:])
	password = base64.RawURLEncoding.EncodeToString(raw[:])
	hash, err := console.HashPassword(password)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(file, []byte(password+"\n"), 0o600); err != nil {
		return "", err
	}
	now := a.Clock.Now().Unix()
	return password, a.Store.InTx(ctx, func(tx *store.Tx) error {
		if existing != nil {
			if err := tx.SetStaffPassword(ctx, existing.ID, hash, now); err != nil {
				return err
			}
			return tx.Audit(ctx, &store.AuditEntry{Actor: "impactd demo", Action: "staff.password", Subject: existing.ID,
				Reason: "the demo's password file was missing", CreatedAt: now})
		}
		s := &store.Staff{Email: StaffEmail, Name: "Demo staff", Role: string(auth.Admin), PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
		if err := tx.CreateStaff(ctx, s); err != nil {
			return err
		}
		return tx.Audit(ctx, &store.AuditEntry{Actor: "impactd demo", Action: "staff.add", Subject: s.ID,
			Detail: string(auth.Admin) + " " + s.Email, Reason: "demo staff account", CreatedAt: now})
	})
}
