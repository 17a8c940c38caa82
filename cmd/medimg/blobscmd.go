package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/medimg/medimg/migrations"
	"github.com/medimg/medimg/queries"
	"github.com/medimg/medimg/storage"
)

const blobsUsage = `Usage:
  medimg blobs copy --to STORE [--from STORE] [--jobs N] [flags]

Copies every file the index (--database, MEDIMG_DATABASE) references from one blob store to
another, e.g. from file:data/blobs to s3://bucket?region=eu-west-1, under the same keys. Each copy
is checked against the index: its SHA-256 while it is read, its size once it is stored. Files no
instance references are not copied. An object already at the destination with the indexed size is
left alone, so running the command again after an interruption (Ctrl-C) finishes the rest.

Flags:
`

// runBlobs is "medimg blobs copy".
func runBlobs(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("medimg blobs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), blobsUsage); fs.PrintDefaults() }
	cfg, finish := configFlags(fs, getenv)
	from := fs.String("from", "", "copy: the store to copy from, file:DIR or s3://… (default: --blobs)")
	to := fs.String("to", "", "copy: the store to copy to, file:DIR or s3://BUCKET[/PREFIX][?region=R&endpoint=URL&path-style=true]")
	jobs := fs.Int("jobs", 4, "copy: how many files are copied at a time")
	action, rest, help, err := parseSubcommand(fs, finish, args, "copy")
	if help || err != nil {
		return err
	}
	if action != "copy" {
		return fmt.Errorf("medimg blobs %s: want copy", action)
	}
	if len(rest) > 0 {
		return fmt.Errorf("medimg blobs copy: unexpected arguments %q", rest)
	}
	if *from == "" {
		*from = cfg.blobs
	}
	switch {
	case *to == "":
		return errors.New("medimg blobs copy: --to is required, e.g. --to 's3://bucket?region=eu-west-1'")
	case *to == *from:
		return fmt.Errorf("medimg blobs copy: --from and --to are both %q", *to)
	case *jobs < 1:
		return fmt.Errorf("medimg blobs copy: --jobs %d: want at least 1", *jobs)
	}

	index, err := queries.Open(ctx, cfg.database, migrations.For)
	if err != nil {
		return err
	}
	defer index.Close()
	log := slog.New(slog.NewTextHandler(stderr, nil))
	src, err := openBlobs(ctx, *from, log)
	if err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	dst, err := openBlobs(ctx, *to, log)
	if err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	c := &blobCopy{index: index, src: src, dst: dst, jobs: *jobs, progress: stderr, every: time.Second}
	sum, err := c.run(ctx)
	sum.report(stdout, *from, *to)
	if err != nil {
		return err
	}
	if len(sum.failed) > 0 {
		return fmt.Errorf("medimg blobs copy: %d of %d files failed", len(sum.failed), sum.total)
	}
	return nil
}

// blobCopy copies the files of the index from src to dst.
type blobCopy struct {
	index    *queries.Store
	src, dst storage.Store
	jobs     int
	progress io.Writer     // periodic progress lines
	every    time.Duration // between progress lines
}

// copySummary is what a copy did.
type copySummary struct {
	total, totalBytes     int64 // in the index when the copy began
	copied, copiedBytes   int64
	already, alreadyBytes int64
	gone                  int64 // deleted from the index during the copy
	failed                []failure
	interrupted           bool
}

// copyOutcome is what became of one file.
type copyOutcome int

const (
	outcomeCopied copyOutcome = iota
	outcomeAlready
	outcomeGone
)

// run copies every file with c.jobs workers fed by one walk of the index. A cancelled ctx stops
// the walk and the copies in flight (an unfinished upload leaves nothing at the destination) and
// is returned.
func (c *blobCopy) run(ctx context.Context) (*copySummary, error) {
	sum := &copySummary{}
	var err error
	if sum.total, sum.totalBytes, err = c.index.CountBlobs(ctx); err != nil {
		return sum, err
	}
	var (
		mu       sync.Mutex
		done     atomic.Int64 // files finished, however
		doneSize atomic.Int64 // their bytes, by the index
		sent     atomic.Int64 // bytes actually copied
		work     = make(chan queries.Blob)
		wg       sync.WaitGroup
	)
	for range c.jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range work {
				outcome, err := c.copyOne(ctx, b)
				mu.Lock()
				switch {
				case ctx.Err() != nil:
					mu.Unlock()
					continue // not a failure of this file: the run was stopped
				case err != nil:
					sum.failed = append(sum.failed, failure{b.Key, err.Error()})
					fmt.Fprintf(c.progress, "failed %s: %v\n", b.Key, err)
				case outcome == outcomeCopied:
					sum.copied++
					sum.copiedBytes += b.Size
					sent.Add(b.Size)
				case outcome == outcomeAlready:
					sum.already++
					sum.alreadyBytes += b.Size
				case outcome == outcomeGone:
					sum.gone++
				}
				mu.Unlock()
				done.Add(1)
				doneSize.Add(b.Size)
			}
		}()
	}
	stopProgress := c.showProgress(sum, &done, &doneSize, &sent)
	walkErr := c.index.EachBlob(ctx, func(b queries.Blob) error {
		select {
		case work <- b:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	close(work)
	wg.Wait()
	stopProgress()
	if ctx.Err() != nil {
		sum.interrupted = true
		return sum, fmt.Errorf("medimg blobs copy: interrupted: %w", ctx.Err())
	}
	return sum, walkErr
}

// copyOne copies one file unless the destination already has it, checking the bytes read against
// the index's SHA-256 before they are committed, and the stored size after.
func (c *blobCopy) copyOne(ctx context.Context, b queries.Blob) (copyOutcome, error) {
	info, err := c.dst.Stat(ctx, b.Key)
	switch {
	case err == nil && info.Size == b.Size:
		return outcomeAlready, nil
	case err != nil && !errors.Is(err, storage.ErrNotFound):
		return 0, fmt.Errorf("checking the destination: %w", err)
	}
	r, err := c.src.Open(ctx, b.Key, 0, -1)
	if errors.Is(err, storage.ErrNotFound) {
		// Deleted since the walk read it: nothing to copy. Otherwise the source lost it.
		if used, uerr := c.index.BlobKeyInUse(ctx, b.Key); uerr == nil && !used {
			return outcomeGone, nil
		}
		return 0, errors.New("missing from the source store")
	}
	if err != nil {
		return 0, fmt.Errorf("reading the source: %w", err)
	}
	defer r.Close()
	up, err := c.dst.NewUpload(ctx)
	if err != nil {
		return 0, fmt.Errorf("writing the destination: %w", err)
	}
	defer up.Abort()
	h := sha256.New()
	n, err := io.Copy(up, io.TeeReader(r, h))
	if err != nil {
		return 0, fmt.Errorf("copying: %w", err)
	}
	if n != b.Size {
		return 0, fmt.Errorf("the source holds %d bytes, the index says %d", n, b.Size)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(sum, b.SHA256) {
		return 0, fmt.Errorf("the source's SHA-256 is %s, the index says %s", sum, b.SHA256)
	}
	if err := up.Commit(ctx, b.Key); err != nil {
		return 0, fmt.Errorf("writing the destination: %w", err)
	}
	if info, err := c.dst.Stat(ctx, b.Key); err != nil {
		return 0, fmt.Errorf("checking the copy: %w", err)
	} else if info.Size != b.Size {
		return 0, fmt.Errorf("the copy holds %d bytes, the index says %d", info.Size, b.Size)
	}
	return outcomeCopied, nil
}

// showProgress prints a line every c.every until the returned function is called, which prints
// the last one.
func (c *blobCopy) showProgress(sum *copySummary, done, doneSize, sent *atomic.Int64) (stop func()) {
	begin := time.Now()
	line := func() {
		elapsed := time.Since(begin).Seconds()
		rate := float64(sent.Load()) / max(elapsed, 0.001)
		fmt.Fprintf(c.progress, "copied %d/%d (%s of %s, %s/s, eta %s)\n", done.Load(), sum.total,
			formatBytes(doneSize.Load()), formatBytes(sum.totalBytes), formatBytes(int64(rate)), eta(sum.totalBytes-doneSize.Load(), rate))
	}
	return everyUntilStopped(c.every, line)
}

// report prints the summary and, when everything is at the destination, how to switch over.
func (s *copySummary) report(w io.Writer, from, to string) {
	fmt.Fprintf(w, "%d files in the index (%s): %d copied (%s), %d already there, %d failed",
		s.total, formatBytes(s.totalBytes), s.copied, formatBytes(s.copiedBytes), s.already, len(s.failed))
	if s.gone > 0 {
		fmt.Fprintf(w, ", %d deleted during the copy", s.gone)
	}
	fmt.Fprintln(w)
	reportFailures(w, s.failed)
	switch {
	case s.interrupted:
		fmt.Fprintln(w, "Interrupted. Run the same command again to copy the rest.")
	case len(s.failed) > 0:
		fmt.Fprintln(w, "Not every file was copied: fix the failures above and run the same command again.")
	default:
		fmt.Fprintf(w, `Every file the index references is in %s, under the same keys. To switch over:
  1. stop the servers (or at least stop storing), and run this command again to copy what was
     stored meanwhile;
  2. restart them with --blobs '%s' (MEDIMG_BLOBS), the same --database;
  3. keep %s until the server has been checked on the new store.
`, to, to, from)
	}
}

// formatBytes writes n in binary units: 512 B, 1.5 MiB.
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
