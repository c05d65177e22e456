package main

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net/mail"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"impactd/internal/auth"
	"impactd/internal/console"
	"impactd/internal/store"
)

func staffCommand(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "staff", Short: "Manage staff console accounts"}
	var email, roleFlag, name string
	add := &cobra.Command{
		Use:   "add --email EMAIL --role viewer|operator|admin [--name NAME]",
		Short: "Create a staff account; the password is read from the first line of standard input, or generated and printed once",
		Long: "add creates a staff console account. Pipe a password of at least 12 characters to it\n" +
			"(echo \"$PASSWORD\" | impactd staff add …); with nothing on standard input a random password\n" +
			"is generated and printed once. Only a bcrypt hash is stored.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			role, err := auth.ParseRole(roleFlag)
			if err != nil {
				return fmt.Errorf("--role: %w", err)
			}
			addr, err := mail.ParseAddress(email)
			if err != nil {
				return fmt.Errorf("--email %q: not an email address", email)
			}
			password, err := readPassword(cmd.InOrStdin())
			if err != nil {
				return err
			}
			generated := password == ""
			if generated {
				var b [18]byte
				_, _ = rand.Read(b[:])
				password = base64.RawURLEncoding.EncodeToString(b[:])
			}
			hash, err := console.HashPassword(password)
			if err != nil {
				return err
			}
			a, err := open(cmd.Context(), getenv, stderr)
			if err != nil {
				return err
			}
			defer a.Close()
			now := a.Clock.Now().Unix()
			s := &store.Staff{Email: console.NormaliseEmail(addr.Address), Name: name, Role: string(role), PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
			err = a.Store.InTx(cmd.Context(), func(tx *store.Tx) error {
				if err := tx.CreateStaff(cmd.Context(), s); err != nil {
					return err
				}
				return tx.Audit(cmd.Context(), &store.AuditEntry{Actor: actor(), Action: "staff.add", Subject: s.ID,
					Detail: string(role) + " " + s.Email, CreatedAt: now})
			})
			if err != nil {
				return fmt.Errorf("staff add: %w", err)
			}
			fmt.Fprintf(stdout, "staff %s (%s) added: %s\n", s.ID, role, s.Email)
			if generated {
				fmt.Fprintf(stdout, "password (shown once): %s\n", password)
			}
			return nil
		},
	}
	add.Flags().StringVar(&email, "email", "", "the staff member's email address, used to sign in (required)")
	add.Flags().StringVar(&roleFlag, "role", "", "viewer, operator or admin (required)")
	add.Flags().StringVar(&name, "name", "", "the staff member's name")
	_ = add.MarkFlagRequired("email")
	_ = add.MarkFlagRequired("role")
	cmd.AddCommand(add)
	return cmd
}

// readPassword reads the first line of r; "" when r is a terminal or empty.
func readPassword(r io.Reader) (string, error) {
	if f, ok := r.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			return "", nil // a terminal: generate rather than echo a typed password
		}
	}
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("read password: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}
