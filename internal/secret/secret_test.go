package secret_test

import (
	"bytes"
	"encoding/json"
	"fmt"
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
