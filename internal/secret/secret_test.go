package secret_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/syncd/syncd/internal/secret"
)

const value = "correct-horse-battery-staple"

func TestSecretNeverPrints(t *testing.T) {
	s := secret.New(value)
	type holder struct {
		Password secret.Value `json:"password"`
	}
	h := holder{s}
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(&logs), zap.DebugLevel))
	log.Info("x", zap.Any("holder", h), zap.Stringer("s", s), zap.Any("s2", s))

	for name, out := range map[string]string{
		"%v": fmt.Sprintf("%v", s), "%s": fmt.Sprintf("%s", s), "%#v": fmt.Sprintf("%#v", h), "%+v": fmt.Sprintf("%+v", h),
		"json": string(b), "zap": logs.String(),
	} {
		if strings.Contains(out, value) {
			t.Errorf("%s printed the secret: %s", name, out)
		}
	}
	if s.Reveal() != value || s.IsZero() || !secret.New("").IsZero() || secret.New("").String() != "" {
		t.Error("Reveal/IsZero/empty String wrong")
	}
	var back secret.Value
	if err := back.UnmarshalText([]byte("from-env")); err != nil || back.Reveal() != "from-env" {
		t.Errorf("UnmarshalText: %v %q", err, back.Reveal())
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, path, want, err string
	}{
		{"ok", write("ok", value+"\r\n", 0o600), value, ""},
		{"group may read", write("grp", value, 0o640), value, ""},
		{"others may read", write("o", value, 0o644), "", "by others"},
		{"others may write", write("w", value, 0o602), "", "by others"},
		{"group may write", write("gw", value, 0o660), "", "writable by its group"},
		{"group may only write", write("gwo", value, 0o620), "", "writable by its group"},
		{"empty", write("e", "\n", 0o600), "", "empty"},
		{"huge", write("h", strings.Repeat("x", 65<<10), 0o600), "", "larger than 64 KiB"},
		{"device", "/dev/null", "", "not a regular file"},
		{"missing", filepath.Join(dir, "nope"), "", "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := secret.ReadFile(tt.path)
			if tt.err == "" {
				if err != nil || got.Reveal() != tt.want {
					t.Fatalf("ReadFile = %q, %v", got.Reveal(), err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) || strings.Contains(err.Error(), value) {
				t.Fatalf("err = %v, want %q without the secret", err, tt.err)
			}
		})
	}
}
