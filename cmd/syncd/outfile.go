package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// checkOutputs refuses, before any run, a --report or --out path that
// writeFile would refuse after it.
func checkOutputs(f syncFlags) error {
	for flag, path := range map[string]string{"--report": f.reportFile, "--out": f.outFile} {
		if path == "" {
			continue
		}
		if err := checkOutputPath(path); err != nil {
			return fmt.Errorf("%s: %w", flag, err)
		}
	}
	return nil
}

// checkOutputPath accepts a path that does not exist yet or names a
// regular file. A symbolic link is refused, not followed: whoever planted
// it would choose which file syncd overwrites.
func checkOutputPath(path string) error {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return err
	case fi.Mode()&os.ModeSymlink != 0:
		return fmt.Errorf("%s is a symbolic link: syncd never writes through one (name the file itself)", path)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file", path)
	}
	return nil
}

// writeFile writes a report or plan file whole or not at all: into a new
// temporary file beside path (created exclusively, mode 0600, so no link
// is followed), synced, then renamed over path. A reader never sees half
// a file, and a failed write leaves the old one as it was.
func writeFile(path string, write func(io.Writer) error) (err error) {
	if err := checkOutputPath(path); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<16)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
