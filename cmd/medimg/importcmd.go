package main

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/medimg/medimg/dicomweb"
	"github.com/medimg/medimg/dicomweb/part10"
	"github.com/medimg/medimg/migrations"
	"github.com/medimg/medimg/queries"
)

const importUsage = `Usage:
  medimg import [flags] PATH…

Stores every DICOM Part 10 file under the PATHs: folders are walked recursively, ZIP archives
(whatever their name) are read entry by entry, and DICOM media (a CD or USB stick) is imported by walking its folder (the DICOMDIR
itself is skipped: the files it references are found by the walk). Files without "DICM" at offset
128 are skipped and counted as not DICOM.

By default the files go straight into the configured stores (--database, --blobs) through the same
path as STOW-RS: the same checks, the blob and then the index row, the database deciding between
duplicates, so it is safe while a server runs on the same stores. With --to URL they are sent to a
server instead, several per STOW-RS request, with --token or --user; a 401 or 403 stops the import.

Progress goes to stderr: a bar on a terminal, a line every second otherwise.

An instance already stored is counted as "already stored" and left alone, so running the same
command again after an interruption (Ctrl-C) or a failure imports only the rest. The exit status is
non-zero when any file failed.

Flags:
`

// runImport is "medimg import".
func runImport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("medimg import", flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.Usage = func() { fmt.Fprint(fset.Output(), importUsage); fset.PrintDefaults() }
	cfg, finish := configFlags(fset, getenv)
	to := fset.String("to", "", "send the files to this DICOMweb server (STOW-RS), e.g. https://pacs.example.org/dicomweb, instead of the local stores")
	token := fset.String("token", "", "with --to: a bearer token")
	user := fset.String("user", "", "with --to: USER:PASSWORD for HTTP Basic authentication")
	jobs := fset.Int("jobs", runtime.NumCPU(), "how many files (with --to: requests) are stored at a time")
	batch := fset.Int("batch", 16, "with --to: files per STOW-RS request")
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		fset.Usage()
		if len(args) == 0 {
			return errors.New("medimg import: want at least one PATH")
		}
		return nil
	}
	_, paths, err := parseInterleaved(fset, "import", args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err == nil {
		err = finish()
	}
	switch {
	case err != nil:
		return err
	case len(paths) == 0:
		return errors.New("medimg import: want at least one PATH")
	case *jobs < 1:
		return fmt.Errorf("medimg import: --jobs %d: want at least 1", *jobs)
	case *batch < 1:
		return fmt.Errorf("medimg import: --batch %d: want at least 1", *batch)
	case *to == "" && (*token != "" || *user != ""):
		return errors.New("medimg import: --token and --user go with --to")
	case *token != "" && *user != "":
		return errors.New("medimg import: --token or --user, not both")
	case *user != "" && !strings.Contains(*user, ":"):
		return errors.New("medimg import: --user: want USER:PASSWORD")
	}

	imp := &importer{paths: paths, jobs: *jobs, progress: stderr, bar: isTerminal(stderr), every: time.Second}
	if *to != "" {
		imp.remote = newSTOWClient(*to, *token, *user, *batch, *jobs)
	} else {
		store, err := queries.Open(ctx, cfg.database, migrations.For)
		if err != nil {
			return err
		}
		defer store.Close()
		log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		blobs, err := openBlobs(ctx, cfg.blobs, log)
		if err != nil {
			return err
		}
		// Always reject: an import never replaces what is stored, which is what makes it resumable.
		imp.dw, err = dicomweb.New(dicomweb.Config{OnDuplicate: dicomweb.OnDuplicateReject}, store, blobs, log, prometheus.NewRegistry())
		if err != nil {
			return err
		}
		imp.index = store
	}
	sum, err := imp.run(ctx)
	sum.report(stdout)
	if err != nil {
		return err
	}
	if len(sum.failed) > 0 {
		return fmt.Errorf("medimg import: %d of %d files failed", len(sum.failed), sum.total)
	}
	return nil
}

// importer stores the files under paths, locally (dw, index) or on a remote server.
type importer struct {
	paths    []string
	jobs     int
	dw       *dicomweb.Service
	index    *queries.Store
	remote   *stowClient
	progress io.Writer
	bar      bool          // draw a progress bar on progress (a terminal), not lines
	every    time.Duration // between progress lines
}

// isTerminal says whether w is a terminal, where a progress bar redrawn in place is readable; in a
// log file or a pipe it would be thousands of carriage returns, so those get plain lines.
// It is a variable for the test of the bar.
var isTerminal = func(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// source is one file to import: a file on disk or a ZIP entry.
type source struct {
	name string // for messages: the path, or ZIP!entry
	size int64
	open func() (io.ReadCloser, error)
}

// importOutcome is what became of one file.
type importOutcome int

const (
	importStored importOutcome = iota
	importAlready
	importNotDICOM
	importDICOMDIR
	importFailed
)

// importSummary is what an import did.
type importSummary struct {
	total, totalBytes   int64 // found by the counting walk
	stored, storedBytes int64
	already, notDICOM   int64
	dicomdirs           int64
	failed              []failure
	elapsed             time.Duration
	interrupted         bool
	stopped             string // why the run stopped early, when it did
}

// run counts the files with a quick walk (for the time left), then stores them with i.jobs
// workers fed by a second walk. A cancelled ctx stops both and is returned.
func (i *importer) run(ctx context.Context) (*importSummary, error) {
	sum := &importSummary{}
	// stop ends the run early with a cause: a server refusing the credential refuses every file.
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	begin := time.Now()
	defer func() { sum.elapsed = time.Since(begin) }()
	closeZips, err := walkSources(i.paths, func(s source) error {
		sum.total++
		sum.totalBytes += s.size
		return ctx.Err()
	})
	closeZips()
	if err != nil {
		return sum, err
	}
	var (
		mu       sync.Mutex
		done     atomic.Int64
		doneSize atomic.Int64
		work     = make(chan source)
		wg       sync.WaitGroup
	)
	var bar *progressbar.ProgressBar
	if i.bar {
		bar = newImportBar(i.progress, sum)
	}
	record := func(s source, outcome importOutcome, reason string) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case ctx.Err() != nil && outcome == importFailed:
			return // not a failure of this file: the run was stopped
		case outcome == importStored:
			sum.stored++
			sum.storedBytes += s.size
		case outcome == importAlready:
			sum.already++
		case outcome == importNotDICOM:
			sum.notDICOM++
		case outcome == importDICOMDIR:
			sum.dicomdirs++
		case outcome == importFailed:
			sum.failed = append(sum.failed, failure{s.name, reason})
			if bar != nil {
				_ = bar.Clear() // the line goes above the bar, which the next Add redraws
			}
			fmt.Fprintf(i.progress, "failed %s: %s\n", s.name, reason)
		}
		done.Add(1)
		doneSize.Add(s.size)
		if bar != nil {
			bar.Describe(fmt.Sprintf("%d/%d files", done.Load(), sum.total))
			_ = bar.Add64(s.size) // writes to the terminal; nothing to do when it cannot
		}
	}
	for range i.jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i.remote != nil {
				i.remote.work(ctx, work, record, stop)
				return
			}
			for s := range work {
				outcome, reason := i.storeLocal(ctx, s)
				record(s, outcome, reason)
			}
		}()
	}
	stopProgress := func() {
		_ = bar.Finish()
		fmt.Fprintln(i.progress)
	}
	if bar == nil {
		stopProgress = i.showProgress(sum, &done, &doneSize)
	}
	closeZips, walkErr := walkSources(i.paths, func(s source) error {
		select {
		case work <- s:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	close(work)
	wg.Wait()
	closeZips()
	stopProgress()
	if ctx.Err() != nil {
		var refused *refusedError
		if errors.As(context.Cause(ctx), &refused) {
			sum.stopped = refused.Error()
			return sum, fmt.Errorf("medimg import: stopped: %w", refused)
		}
		sum.interrupted = true
		return sum, fmt.Errorf("medimg import: interrupted: %w", ctx.Err())
	}
	return sum, walkErr
}

// storeLocal stores one file through the STOW path, unless its header says it is not DICOM, a
// DICOMDIR, or an instance the index already has.
func (i *importer) storeLocal(ctx context.Context, s source) (importOutcome, string) {
	rc, err := s.open()
	if err != nil {
		return importFailed, err.Error()
	}
	defer rc.Close()
	h, r, outcome, err := peekHeader(rc)
	if err != nil {
		return importFailed, err.Error()
	}
	if outcome != importStored {
		return outcome, ""
	}
	if h != nil && h.MediaStorageSOPInstanceUID != "" {
		if exists, err := i.index.InstanceExists(ctx, h.MediaStorageSOPInstanceUID); err != nil {
			return importFailed, err.Error()
		} else if exists {
			return importAlready, ""
		}
	}
	res, err := i.dw.StoreFile(ctx, r)
	switch {
	case err != nil:
		return importFailed, "reading: " + err.Error()
	case res.Stored:
		return importStored, ""
	case res.Duplicate:
		return importAlready, ""
	default:
		return importFailed, res.Message
	}
}

// peekLength is how much of a file is read to find its meta group: real ones are a few hundred
// bytes.
const peekLength = 64 << 10

// mediaStorageDirectory is the SOP Class of a DICOMDIR (PS3.4 Annex B.5).
const mediaStorageDirectory = "1.2.840.10008.1.3.10"

// peekHeader reads the start of r: importNotDICOM when there is no "DICM" at 128, importDICOMDIR
// for a DICOMDIR, otherwise importStored with the meta group's header (nil when it could not be
// read: the store says why) and a reader of the whole file.
func peekHeader(r io.Reader) (*part10.Header, io.Reader, importOutcome, error) {
	buf := make([]byte, peekLength)
	n, err := io.ReadFull(r, buf)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, nil, importFailed, fmt.Errorf("reading: %w", err)
	}
	buf = buf[:n]
	if n < part10.PreambleLength || string(buf[128:132]) != "DICM" {
		return nil, nil, importNotDICOM, nil
	}
	h, _ := part10.Read(bytes.NewReader(buf), int64(n))
	if h != nil && h.MediaStorageSOPClassUID == mediaStorageDirectory {
		return nil, nil, importDICOMDIR, nil
	}
	return h, io.MultiReader(bytes.NewReader(buf), r), importStored, nil
}

// walkSources calls fn for every file under paths, in order: files of folders recursively, and
// the entries of ZIP files (found by their signature, whatever their name), read as streams. The ZIP files stay
// open, for the entries handed out, until the returned closer is called (also after an error).
func walkSources(paths []string, fn func(source) error) (closeZips func(), err error) {
	var zips []io.Closer
	closeZips = func() {
		for _, z := range zips {
			z.Close()
		}
	}
	for _, root := range paths {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !d.Type().IsRegular() {
				return nil
			}
			if isZip(path) {
				zr, err := zip.OpenReader(path)
				if err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
				zips = append(zips, zr)
				return walkZip(path, &zr.Reader, fn)
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			return fn(source{name: path, size: info.Size(), open: func() (io.ReadCloser, error) { return os.Open(path) }})
		})
		if err != nil {
			return closeZips, err
		}
	}
	return closeZips, nil
}

// isZip says whether the file at path starts with a ZIP local file header ("PK\x03\x04") or is an
// empty archive ("PK\x05\x06"). A DICOM file starts with its 128-byte preamble, which may be
// anything, so a DICOM file whose preamble looks like a ZIP header is checked for "DICM" first.
func isZip(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false // the walk reports the file when it opens it
	}
	defer f.Close()
	head := make([]byte, part10.PreambleLength) // 128 bytes and "DICM"
	n, _ := io.ReadFull(f, head)
	if n == len(head) && string(head[128:]) == "DICM" {
		return false
	}
	head = head[:n]
	return bytes.HasPrefix(head, []byte("PK\x03\x04")) || bytes.HasPrefix(head, []byte("PK\x05\x06"))
}

// walkZip calls fn for every file in the ZIP archive zr, read from path.
func walkZip(path string, zr *zip.Reader, fn func(source) error) error {
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		if err := fn(source{name: path + "!" + f.Name, size: int64(f.UncompressedSize64), open: f.Open}); err != nil {
			return err
		}
	}
	return nil
}

// showProgress prints a line every i.every until the returned function is called, which prints
// the last one.
func (i *importer) showProgress(sum *importSummary, done, doneSize *atomic.Int64) (stop func()) {
	begin := time.Now()
	line := func() {
		elapsed := max(time.Since(begin).Seconds(), 0.001)
		rate := float64(doneSize.Load()) / elapsed
		fmt.Fprintf(i.progress, "imported %d/%d files (%s of %s, %s/s, %.0f files/s, eta %s)\n", done.Load(), sum.total,
			formatBytes(doneSize.Load()), formatBytes(sum.totalBytes), formatBytes(int64(rate)), float64(done.Load())/elapsed, eta(sum.totalBytes-doneSize.Load(), rate))
	}
	return everyUntilStopped(i.every, line)
}

// newImportBar is the terminal's progress: files done of all found, bytes, rate and time left,
// redrawn in place at most ten times a second.
func newImportBar(w io.Writer, sum *importSummary) *progressbar.ProgressBar {
	return progressbar.NewOptions64(sum.totalBytes,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(fmt.Sprintf("0/%d files", sum.total)),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionShowTotalBytes(true),
		progressbar.OptionUseIECUnits(true), // as the summary
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetRenderBlankState(true),
	)
}

// report prints the summary.
func (s *importSummary) report(w io.Writer) {
	fmt.Fprintf(w, "%d files (%s) in %s: %d stored (%s), %d already stored, %d not DICOM, %d failed",
		s.total, formatBytes(s.totalBytes), s.elapsed.Round(time.Millisecond), s.stored, formatBytes(s.storedBytes), s.already, s.notDICOM, len(s.failed))
	if s.dicomdirs > 0 {
		fmt.Fprintf(w, ", %d DICOMDIR skipped (the files it lists are imported by the folder walk)", s.dicomdirs)
	}
	fmt.Fprintln(w)
	reportFailures(w, s.failed)
	switch {
	case s.stopped != "":
		fmt.Fprintf(w, "Stopped early: %s; the files left were not sent. Fix that and run the same command again.\n", s.stopped)
	case s.interrupted:
		fmt.Fprintln(w, "Interrupted. Run the same command again to import the rest.")
	case len(s.failed) > 0:
		fmt.Fprintln(w, "Not every file was imported: fix the failures above and run the same command again.")
	}
}
