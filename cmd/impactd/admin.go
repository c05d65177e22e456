package main

import (
	"errors"
	"fmt"
	"io"
	"os/user"
	"strings"

	"github.com/spf13/cobra"

	"impactd/internal/auth"
	"impactd/internal/store"
)

// actor names who ran a command, for the audit log.
func actor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	return "cli"
}

func tokenCommand(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Manage API tokens"}
	var roleFlag, name string
	create := &cobra.Command{
		Use:   "create --role viewer|operator|admin [--name NAME]",
		Short: "Create an API token; it is shown once and stored only as a hash",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			role, err := auth.ParseRole(roleFlag)
			if err != nil {
				return fmt.Errorf("--role: %w", err)
			}
			a, err := open(cmd.Context(), getenv, stderr)
			if err != nil {
				return err
			}
			defer a.Close()
			token := auth.NewToken()
			t := &store.APIToken{Hash: auth.HashToken(token), Role: string(role), Name: name, CreatedAt: a.Clock.Now().Unix()}
			err = a.Store.InTx(cmd.Context(), func(tx *store.Tx) error {
				if err := tx.CreateToken(cmd.Context(), t); err != nil {
					return err
				}
				return tx.Audit(cmd.Context(), &store.AuditEntry{Actor: actor(), Action: "token.create", Subject: t.ID,
					Detail: string(role) + " " + name, CreatedAt: t.CreatedAt})
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s\n", token)
			fmt.Fprintf(stderr, "token %s (%s) created; it is shown only this once\n", t.ID, role)
			return nil
		},
	}
	create.Flags().StringVar(&roleFlag, "role", "", "viewer, operator or admin (required)")
	create.Flags().StringVar(&name, "name", "", "what the token is for")
	_ = create.MarkFlagRequired("role")
	cmd.AddCommand(create)
	return cmd
}

func donorCommand(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "donor", Short: "Merge and erase donors"}
	var reason string
	// audited runs change and its audit entry in one transaction: a change
	// staff cannot account for never lands.
	audited := func(cmd *cobra.Command, entry store.AuditEntry, change func(tx *store.Tx, now int64) error) error {
		if strings.TrimSpace(reason) == "" {
			return errors.New("--reason is required: it is recorded in the audit log")
		}
		a, err := open(cmd.Context(), getenv, stderr)
		if err != nil {
			return err
		}
		defer a.Close()
		now := a.Clock.Now().Unix()
		entry.Actor, entry.Reason, entry.CreatedAt = actor(), reason, now
		return a.Store.Audited(cmd.Context(), entry, func(tx *store.Tx) error { return change(tx, now) })
	}
	merge := &cobra.Command{
		Use:   "merge KEEP_ID OTHER_ID --reason \"…\"",
		Short: "Merge donor OTHER into KEEP: gifts, customers, emails and statements move to KEEP",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			err := audited(cmd, store.AuditEntry{Action: "donor.merge", Subject: args[0], Detail: "merged " + args[1]},
				func(tx *store.Tx, now int64) error { return tx.MergeDonors(cmd.Context(), args[0], args[1], now) })
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "merged %s into %s\n", args[1], args[0])
			return nil
		},
	}
	erase := &cobra.Command{
		Use:   "erase DONOR_ID --reason \"…\"",
		Short: "Erase a donor's personal data (amounts are kept for the accounts; no further letters)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			err := audited(cmd, store.AuditEntry{Action: "donor.erase", Subject: args[0]},
				func(tx *store.Tx, now int64) error { return tx.EraseDonor(cmd.Context(), args[0], now) })
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "erased %s\n", args[0])
			return nil
		},
	}
	for _, c := range []*cobra.Command{merge, erase} {
		c.Flags().StringVar(&reason, "reason", "", "why (required; recorded in the audit log)")
	}
	cmd.AddCommand(merge, erase)
	return cmd
}
