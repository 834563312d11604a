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

// planHead is what a saved plan records of the run that made it: `apply`
// runs under the same modes, or its plan could never match.
type planHead struct {
	Version int
	Full    bool // made with --full: a complete read
	Verify  bool // made with --verify: managed users read back, drift in the plan
}

// readPlan reads a plan saved by `syncd plan --out`: its head and each
// job's name, status and plan digest. It streams: the operations a plan
// lists (a million for a million-user initial sync, half a gigabyte of
// JSON) are read one at a time and dropped, never held together.
func readPlan(r io.Reader) (head planHead, jobs []planJob, err error) {
	lim := &valueLimit{r: bufio.NewReaderSize(r, 1<<16), max: maxPlanValue}
	dec := json.NewDecoder(lim)
	if err := delim(dec, '{'); err != nil {
		return head, nil, err
	}
	for dec.More() {
		lim.reset()
		key, err := dec.Token()
		if err != nil {
			return head, nil, err
		}
		switch key {
		case "version":
			err = dec.Decode(&head.Version)
		case "full":
			err = dec.Decode(&head.Full)
		case "verify":
			err = dec.Decode(&head.Verify)
		case "jobs":
			jobs, err = readPlanJobs(dec, lim)
		default:
			err = skipValue(dec, lim)
		}
		if err != nil {
			return head, nil, fmt.Errorf("%s: %w", key, err)
		}
	}
	if err := delim(dec, '}'); err != nil {
		return head, nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return head, nil, errors.New("data after the plan")
	}
	return head, jobs, nil
}

func readPlanJobs(dec *json.Decoder, lim *valueLimit) ([]planJob, error) {
	var jobs []planJob
	if t, err := dec.Token(); err != nil || t == nil {
		return nil, err // null: no jobs
	} else if t != json.Delim('[') {
		return nil, fmt.Errorf("want a list, got %v", t)
	}
	for dec.More() {
		lim.reset()
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
				err = skipValue(dec, lim)
			}
			if err != nil {
				return nil, fmt.Errorf("job %d: %s: %w", len(jobs)+1, key, err)
			}
		}
		if err := delim(dec, '}'); err != nil {
			return nil, err
		}
		jobs = append(jobs, j)
		lim.reset()
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
func skipValue(dec *json.Decoder, lim *valueLimit) error {
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
		lim.reset()
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

// maxPlanValue bounds one element of a saved plan (an operation, a reject,
// a scalar) and the white space before it: a plan is streamed element by
// element, and one huge or padded element would otherwise be held whole
// (a 100 MB padded plan cost 348 MB to refuse).
const maxPlanValue = 8 << 20

// errPlanValueTooLarge is a plan element over maxPlanValue.
var errPlanValueTooLarge = fmt.Errorf("an element larger than %d MiB (padded, or not a plan)", maxPlanValue>>20)

// valueLimit fails a read once more than max bytes came through since the
// last reset; the plan reader resets it at each element.
type valueLimit struct {
	r   io.Reader
	n   int64
	max int64
}

func (l *valueLimit) reset() { l.n = 0 }

func (l *valueLimit) Read(p []byte) (int, error) {
	room := l.max + 1 - l.n
	if room <= 0 {
		return 0, errPlanValueTooLarge
	}
	// Never hand over more than the room left: json.Decoder looks at an
	// error only once its buffer holds no whole value.
	if int64(len(p)) > room {
		p = p[:room]
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	return n, err
}
