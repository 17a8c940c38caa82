package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/term"

	"github.com/medimg/medimg/internal/httperr"
	"github.com/medimg/medimg/migrations"
	"github.com/medimg/medimg/queries"
	"github.com/medimg/medimg/users"
)

const userUsage = `Usage:
  medimg user add [flags] USERNAME      create a user; the password is read from standard input
  medimg user passwd [flags] USERNAME   set a user's password (read from standard input) and end their sessions
  medimg user list [flags]              list the users

They act on the configured database (--database, MEDIMG_DATABASE) directly, also while a server
runs on it: for scripting, and to recover a locked-out admin. On a terminal the password is asked
for without echo; otherwise the first line of standard input is the password.

Flags:
`

// runUser is "medimg user add|passwd|list".
func runUser(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("medimg user", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), userUsage); fs.PrintDefaults() }
	cfg, finish := configFlags(fs, getenv)
	role := fs.String("role", "reader", "add: the role (sender, reader, editor, admin)")
	email := fs.String("email", "", "add: the user's email address")
	action, names, help, err := parseSubcommand(fs, finish, args, "add, passwd or list")
	if help || err != nil {
		return err
	}
	want := map[string]int{"add": 1, "passwd": 1, "list": 0}
	n, ok := want[action]
	if !ok {
		return fmt.Errorf("medimg user %s: want add, passwd or list", action)
	}
	if len(names) != n {
		return fmt.Errorf("medimg user %s: want %d username argument(s), got %d", action, n, len(names))
	}

	store, err := queries.Open(ctx, cfg.database, migrations.For)
	if err != nil {
		return err
	}
	defer store.Close()
	us, err := users.New(users.Config{Local: true, TokenTTL: cfg.tokenTTL}, store, slog.New(slog.NewTextHandler(stderr, nil)), prometheus.NewRegistry())
	if err != nil {
		return err
	}
	defer us.Close(context.WithoutCancel(ctx))

	switch action {
	case "list":
		return listUsers(ctx, store, stdout)
	case "add":
		password, err := readPassword(stdin, stderr)
		if err != nil {
			return err
		}
		u, err := us.CreateUser(ctx, users.NewUser{Username: &names[0], Password: &password, Email: email, Role: role})
		if err != nil {
			return commandError(err)
		}
		us.RecordCommand(users.ActionUserCreated, u.Username)
		fmt.Fprintf(stdout, "created user %s (id %d, role %s)\n", u.Username, u.ID, u.Role)
	case "passwd":
		u, err := store.GetUserByUsername(ctx, names[0])
		if err != nil {
			return fmt.Errorf("no user %s", names[0])
		}
		password, err := readPassword(stdin, stderr)
		if err != nil {
			return err
		}
		if err := us.SetPassword(ctx, u.ID, password); err != nil {
			return commandError(err)
		}
		us.RecordCommand(users.ActionUserChanged, u.Username)
		fmt.Fprintf(stdout, "password of %s changed; their sessions are ended\n", u.Username)
	}
	return nil
}

// parseSubcommand parses "ACTION [flags] [ARGS]" of a subcommand whose flags (the server's
// configuration and its own) are on fs: no action prints the usage and is an error, -h prints it
// (help), and the configuration is finished once the flags are read.
func parseSubcommand(fs *flag.FlagSet, finish func() error, args []string, actions string) (action string, positional []string, help bool, err error) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fs.Usage()
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			return "", nil, true, nil
		}
		return "", nil, false, fmt.Errorf("%s: want %s", fs.Name(), actions)
	}
	action, positional, err = parseInterleaved(fs, args[0], args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return "", nil, true, nil
	}
	if err == nil {
		err = finish()
	}
	return action, positional, false, err
}

// parseInterleaved parses flags placed before and after the positional arguments.
func parseInterleaved(fs *flag.FlagSet, action string, args []string) (string, []string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return "", nil, err
		}
		if fs.NArg() == 0 {
			return action, positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// readPassword asks for a password on a terminal (twice, without echo), or reads the first line of
// a pipe.
func readPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		p1, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprint(stderr, "\nAgain: ")
		p2, err2 := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err = errors.Join(err, err2); err != nil {
			return "", fmt.Errorf("reading the password: %w", err)
		}
		if string(p1) != string(p2) {
			return "", errors.New("the passwords differ")
		}
		return string(p1), nil
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("reading the password from standard input: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// commandError says what was wrong in a way that reads well on a terminal.
func commandError(err error) error {
	var e *httperr.Error
	if !errors.As(err, &e) || e.Status >= 500 {
		return err
	}
	msg := e.Message
	for _, f := range e.Fields {
		msg += fmt.Sprintf("\n  %s: %s", f.Field, f.Message)
	}
	return errors.New(msg)
}

func listUsers(ctx context.Context, store *queries.Store, stdout io.Writer) error {
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tUSERNAME\tROLE\tACTIVE\tEMAIL")
	for offset := 0; ; offset += 1000 {
		list, err := store.ListUsers(ctx, 1000, offset)
		if err != nil {
			return err
		}
		for _, u := range list {
			fmt.Fprintf(w, "%d\t%s\t%s\t%t\t%s\n", u.ID, u.Username, u.Role, u.Active, u.Email)
		}
		if len(list) < 1000 {
			return w.Flush()
		}
	}
}
