package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// planJob is what `syncd apply` needs of one job in a saved plan.
type planJob struct {
	Job, Status, PlanDigest string
	// RevertOf is the run a revert plan (`syncd revert --out`) undoes.
	RevertOf int64
}

// readPlan reads a plan saved by `syncd plan --out`: its version and each
// job's name, status and plan digest. It streams: the operations a plan
// lists (a million for a million-user initial sync, half a gigabyte of
// JSON) are read one at a time and dropped, never held together.
func readPlan(r io.Reader) (version int, jobs []planJob, err error) {
	dec := json.NewDecoder(bufio.NewReaderSize(r, 1<<16))
	if err := delim(dec, '{'); err != nil {
		return 0, nil, err
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return 0, nil, err
		}
		switch key {
		case "version":
			err = dec.Decode(&version)
		case "jobs":
			jobs, err = readPlanJobs(dec)
		default:
			err = skipValue(dec)
		}
		if err != nil {
			return 0, nil, fmt.Errorf("%s: %w", key, err)
		}
	}
	if err := delim(dec, '}'); err != nil {
		return 0, nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return 0, nil, errors.New("data after the plan")
	}
	return version, jobs, nil
}

func readPlanJobs(dec *json.Decoder) ([]planJob, error) {
	var jobs []planJob
	if t, err := dec.Token(); err != nil || t == nil {
		return nil, err // null: no jobs
	} else if t != json.Delim('[') {
		return nil, fmt.Errorf("want a list, got %v", t)
	}
	for dec.More() {
		var j planJob
		if err := delim(dec, '{'); err != nil {
			return nil, err
		}
		for dec.More() {
			key, err := dec.Token()
			if err != nil {
				return nil, err
			}
			switch key {
			case "job":
				err = dec.Decode(&j.Job)
			case "status":
				err = dec.Decode(&j.Status)
			case "plan_digest":
				err = dec.Decode(&j.PlanDigest)
			case "revert_of":
				err = dec.Decode(&j.RevertOf)
			default:
				err = skipValue(dec)
			}
			if err != nil {
				return nil, fmt.Errorf("job %d: %s: %w", len(jobs)+1, key, err)
			}
		}
		if err := delim(dec, '}'); err != nil {
			return nil, err
		}
		jobs = append(jobs, j)
	}
	return jobs, delim(dec, ']')
}

// delim reads the next token and checks it is d.
func delim(dec *json.Decoder, d json.Delim) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if t != d {
		return fmt.Errorf("want %q, got %v", d, t)
	}
	return nil
}

// skipValue reads past one value, however large, holding one element of it
// at a time: an object's or a list's elements are decoded (so checked) into
// one reused buffer, which is far faster than walking their tokens.
func skipValue(dec *json.Decoder) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	open, ok := t.(json.Delim)
	if !ok {
		return nil // a scalar: already read
	}
	var raw json.RawMessage
	for dec.More() {
		if open == '{' {
			if _, err := dec.Token(); err != nil { // the key
				return err
			}
		}
		if err := dec.Decode(&raw); err != nil {
			return err
		}
	}
	_, err = dec.Token() // the closing delimiter
	return err
}
