package deploy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/syncd/syncd/config"
	"github.com/syncd/syncd/internal/metrics"
	"github.com/syncd/syncd/internal/testenv"
)

// obj is a decoded YAML or JSON object.
type obj = map[string]any

// at walks a decoded document: at(o, "spec", "template", 0, "name").
func at(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(obj)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func str(v any, path ...any) string { s, _ := at(v, path...).(string); return s }
func list(v any, path ...any) []any { l, _ := at(v, path...).([]any); return l }

// manifests reads every document of every YAML file in deploy/kubernetes.
func manifests(t *testing.T) map[string][]obj {
	t.Helper()
	files, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in deploy/kubernetes: %v", err)
	}
	out := map[string][]obj{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var doc obj
			err := dec.Decode(&doc)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if doc == nil {
				continue
			}
			if str(doc, "apiVersion") == "" || str(doc, "kind") == "" || str(doc, "metadata", "name") == "" {
				t.Errorf("%s: document without apiVersion, kind or metadata.name", f)
			}
			out[filepath.Base(f)] = append(out[filepath.Base(f)], doc)
		}
	}
	return out
}

func find(t *testing.T, all map[string][]obj, kind, name string) obj {
	t.Helper()
	for _, docs := range all {
		for _, d := range docs {
			if str(d, "kind") == kind && str(d, "metadata", "name") == name {
				return d
			}
		}
	}
	return nil
}

func TestManifestKinds(t *testing.T) {
	t.Parallel()
	all := manifests(t)
	want := map[string][]string{
		"cronjob.yaml":        {"CronJob"},
		"deployment.yaml":     {"Deployment", "Service"},
		"configmap.yaml":      {"ConfigMap"},
		"secret.example.yaml": {"Secret"},
	}
	for file, kinds := range want {
		var got []string
		for _, d := range all[file] {
			got = append(got, str(d, "kind"))
		}
		if !slices.Equal(got, kinds) {
			t.Errorf("%s kinds = %v, want %v", file, got, kinds)
		}
	}
}

// podSpecs returns the pod specs of the CronJob and the Deployment.
func podSpecs(t *testing.T, all map[string][]obj) map[string]obj {
	t.Helper()
	cj := find(t, all, "CronJob", "syncd")
	dep := find(t, all, "Deployment", "syncd")
	if cj == nil || dep == nil {
		t.Fatal("CronJob syncd or Deployment syncd missing")
	}
	specs := map[string]obj{}
	specs["CronJob"], _ = at(cj, "spec", "jobTemplate", "spec", "template", "spec").(obj)
	specs["Deployment"], _ = at(dep, "spec", "template", "spec").(obj)
	for k, v := range specs {
		if v == nil {
			t.Fatalf("%s has no pod spec", k)
		}
	}
	return specs
}

func container(t *testing.T, spec obj) obj {
	t.Helper()
	cs := list(spec, "containers")
	if len(cs) != 1 {
		t.Fatalf("want one container, got %d", len(cs))
	}
	return cs[0].(obj)
}

func TestPodSecurity(t *testing.T) {
	t.Parallel()
	all := manifests(t)
	var images []string
	for kind, spec := range podSpecs(t, all) {
		t.Run(kind, func(t *testing.T) {
			if at(spec, "securityContext", "runAsNonRoot") != true {
				t.Error("pod securityContext.runAsNonRoot is not true")
			}
			if u, _ := at(spec, "securityContext", "runAsUser").(int); u == 0 {
				t.Error("pod securityContext.runAsUser is root or unset")
			}
			if str(spec, "securityContext", "seccompProfile", "type") != "RuntimeDefault" {
				t.Error("pod seccompProfile is not RuntimeDefault")
			}
			if at(spec, "automountServiceAccountToken") != false {
				t.Error("the service account token is mounted (syncd does not talk to the API server)")
			}
			c := container(t, spec)
			sc := at(c, "securityContext")
			if at(sc, "readOnlyRootFilesystem") != true {
				t.Error("readOnlyRootFilesystem is not true")
			}
			if at(sc, "allowPrivilegeEscalation") != false {
				t.Error("allowPrivilegeEscalation is not false")
			}
			if !slices.Contains(list(sc, "capabilities", "drop"), any("ALL")) {
				t.Error("capabilities.drop lacks ALL")
			}
			if len(list(sc, "capabilities", "add")) > 0 {
				t.Error("capabilities are added")
			}
			if at(c, "resources", "limits", "memory") == nil {
				t.Error("no memory limit")
			}
			images = append(images, str(c, "image"))
		})
	}
	if len(images) == 2 && (images[0] != images[1] || images[0] == "" || !strings.Contains(images[0], "syncd")) {
		t.Errorf("images = %v, want the same syncd image in both", images)
	}
}

// TestReferencesExist checks that every ConfigMap, Secret and key the pods
// use is defined in deploy/kubernetes, and every mounted file the config
// names is mounted.
func TestReferencesExist(t *testing.T) {
	t.Parallel()
	all := manifests(t)
	keys := func(kind, name string) []string {
		d := find(t, all, kind, name)
		if d == nil {
			t.Errorf("%s %q is referenced but not defined in deploy/kubernetes", kind, name)
			return nil
		}
		var ks []string
		for _, f := range []string{"data", "stringData"} {
			m, _ := at(d, f).(obj)
			for k := range m {
				ks = append(ks, k)
			}
		}
		return ks
	}
	checkKey := func(kind, name, key string) {
		if ks := keys(kind, name); ks != nil && !slices.Contains(ks, key) {
			t.Errorf("%s %q has no key %q (has %v)", kind, name, key, ks)
		}
	}
	for kind, spec := range podSpecs(t, all) {
		volumes := map[string]obj{}
		for _, v := range list(spec, "volumes") {
			vo := v.(obj)
			volumes[str(vo, "name")] = vo
			if cm := str(vo, "configMap", "name"); cm != "" {
				keys("ConfigMap", cm)
				for _, it := range list(vo, "configMap", "items") {
					checkKey("ConfigMap", cm, str(it, "key"))
				}
			}
			if s := str(vo, "secret", "secretName"); s != "" {
				keys("Secret", s)
				for _, it := range list(vo, "secret", "items") {
					checkKey("Secret", s, str(it, "key"))
				}
				if mode, ok := at(vo, "secret", "defaultMode").(int); !ok || mode&0o004 != 0 {
					t.Errorf("%s: secret volume %s: defaultMode %o is world-readable or unset (syncd refuses such secret files)", kind, str(vo, "name"), mode)
				}
			}
		}
		c := container(t, spec)
		for _, e := range list(c, "env") {
			if r := at(e, "valueFrom", "secretKeyRef"); r != nil {
				checkKey("Secret", str(r, "name"), str(r, "key"))
			}
			if r := at(e, "valueFrom", "configMapKeyRef"); r != nil {
				checkKey("ConfigMap", str(r, "name"), str(r, "key"))
			}
		}
		for _, e := range list(c, "envFrom") {
			if n := str(e, "secretRef", "name"); n != "" {
				keys("Secret", n)
			}
			if n := str(e, "configMapRef", "name"); n != "" {
				keys("ConfigMap", n)
			}
		}
		mounts := map[string]bool{}
		for _, m := range list(c, "volumeMounts") {
			if volumes[str(m, "name")] == nil {
				t.Errorf("%s: volumeMount %s names no volume", kind, str(m, "name"))
			}
			mounts[str(m, "mountPath")] = true
		}
		args := list(c, "args")
		i := slices.Index(args, any("--config"))
		if i < 0 || i+1 >= len(args) || !mounts[args[i+1].(string)] {
			t.Errorf("%s: args %v: --config file is not mounted", kind, args)
		}
		// Secret files the config names must be mounted.
		for _, f := range configSecretFiles(t, all) {
			if !mounts[filepath.Dir(f)] {
				t.Errorf("%s: secret file %s: its directory is not mounted", kind, f)
			}
		}
	}
}

// configText is the syncd.yaml of the ConfigMap.
func configText(t *testing.T, all map[string][]obj) string {
	t.Helper()
	cm := find(t, all, "ConfigMap", "syncd-config")
	s := str(cm, "data", "syncd.yaml")
	if s == "" {
		t.Fatal("ConfigMap syncd-config has no syncd.yaml")
	}
	return s
}

var secretFileRe = regexp.MustCompile(`(?m)^\s*\w+_file:\s*(\S+)`)

func configSecretFiles(t *testing.T, all map[string][]obj) []string {
	t.Helper()
	var out []string
	for _, m := range secretFileRe.FindAllStringSubmatch(configText(t, all), -1) {
		out = append(out, m[1])
	}
	if len(out) == 0 {
		t.Fatal("the sample config names no secret file")
	}
	return out
}

// TestConfigMapConfigLoads loads the sample config through syncd's own
// config loader, with the secret files the Secret mounts (a temporary
// directory stands in for /etc/syncd/secrets, with the mount's mode 0440).
func TestConfigMapConfigLoads(t *testing.T) {
	t.Parallel()
	all := manifests(t)
	dir := t.TempDir()
	for _, file := range []string{"pingone-client-secret", "ldap-bind-password"} {
		p := filepath.Join(dir, file)
		if err := os.WriteFile(p, []byte("s3cret\n"), 0o440); err != nil {
			t.Fatal(err)
		}
	}
	text := configText(t, all)
	if !strings.Contains(text, "/etc/syncd/secrets/") {
		t.Fatal("the ConfigMap names no secret file under /etc/syncd/secrets, where the Deployment mounts the Secret")
	}
	text = strings.ReplaceAll(text, "/etc/syncd/secrets/", dir+"/")
	lookup := lookuper(map[string]string{"SYNCD_STATE_URL": "postgres://syncd@db.example.com/syncd"})
	cfg, err := config.Parse(context.Background(), strings.NewReader(text), "/etc/syncd", "configmap:syncd.yaml", lookup)
	if err != nil {
		t.Fatalf("the ConfigMap's syncd.yaml does not load: %v", err)
	}
	if len(cfg.Notices) > 0 {
		t.Errorf("loading the ConfigMap's syncd.yaml gives notices: %q", cfg.Notices)
	}
	if strings.HasPrefix(cfg.HTTP.Listen, "127.") || strings.HasPrefix(cfg.HTTP.Listen, "localhost") {
		t.Errorf("http.listen %q is loopback: kubelet probes and Prometheus cannot reach it", cfg.HTTP.Listen)
	}
	dep := find(t, all, "Deployment", "syncd")
	grace, _ := at(dep, "spec", "template", "spec", "terminationGracePeriodSeconds").(int)
	if time.Duration(grace)*time.Second <= cfg.Daemon.ShutdownTimeout {
		t.Errorf("terminationGracePeriodSeconds %d is not above daemon.shutdown_timeout %s", grace, cfg.Daemon.ShutdownTimeout)
	}
	for _, j := range cfg.Jobs {
		if j.Schedule == "" {
			t.Errorf("job %s has no schedule (syncd run needs one)", j.Name)
		}
	}
}

type lookuper map[string]string

func (l lookuper) Lookup(key string) (string, bool) { v, ok := l[key]; return v, ok }

func TestCronJobPolicy(t *testing.T) {
	t.Parallel()
	all := manifests(t)
	cj := find(t, all, "CronJob", "syncd")
	if str(cj, "spec", "concurrencyPolicy") != "Forbid" {
		t.Error("concurrencyPolicy is not Forbid")
	}
	job := at(cj, "spec", "jobTemplate", "spec")
	if b, ok := at(job, "backoffLimit").(int); !ok || b > 3 {
		t.Errorf("backoffLimit = %v, want a small number", at(job, "backoffLimit"))
	}
	if str(job, "template", "spec", "restartPolicy") != "Never" {
		t.Error("restartPolicy is not Never (podFailurePolicy requires it)")
	}
	c := container(t, at(job, "template", "spec").(obj))
	if args := list(c, "args"); len(args) == 0 || args[0] != "sync" {
		t.Errorf("CronJob args = %v, want sync ...", args)
	}
	action := map[int]string{} // exit code -> action
	for _, r := range list(job, "podFailurePolicy", "rules") {
		codes := at(r, "onExitCodes")
		if codes == nil {
			continue
		}
		if str(codes, "containerName") != str(c, "name") {
			t.Errorf("podFailurePolicy rule names container %q, want %q", str(codes, "containerName"), str(c, "name"))
		}
		if str(codes, "operator") != "In" {
			t.Errorf("podFailurePolicy operator %q, want In", str(codes, "operator"))
		}
		for _, v := range list(codes, "values") {
			action[v.(int)] = str(r, "action")
		}
	}
	for code, want := range map[int]string{2: "FailJob", 3: "FailJob", 1: ""} {
		if action[code] != want {
			t.Errorf("exit code %d: action %q, want %q (%s)", code, action[code], want, map[int]string{
				1: "a failed run is retried", 2: "a config error is not retried", 3: "a safety gate stop is not retried"}[code])
		}
	}
}

func TestDeploymentProbesAndPorts(t *testing.T) {
	t.Parallel()
	all := manifests(t)
	dep := find(t, all, "Deployment", "syncd")
	if r, _ := at(dep, "spec", "replicas").(int); r != 2 {
		t.Errorf("replicas = %v, want 2", at(dep, "spec", "replicas"))
	}
	sel, _ := at(dep, "spec", "selector", "matchLabels").(obj)
	labels, _ := at(dep, "spec", "template", "metadata", "labels").(obj)
	for k, v := range sel {
		if labels[k] != v {
			t.Errorf("selector %s=%v does not match the pod labels", k, v)
		}
	}
	c := container(t, at(dep, "spec", "template", "spec").(obj))
	if args := list(c, "args"); len(args) == 0 || args[0] != "run" {
		t.Errorf("Deployment args = %v, want run ...", args)
	}
	var port int
	for _, p := range list(c, "ports") {
		if str(p, "name") == "metrics" {
			port, _ = at(p, "containerPort").(int)
		}
	}
	if port != 9464 {
		t.Errorf("container port metrics = %d, want 9464", port)
	}
	for probe, path := range map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/readyz"} {
		if got := str(c, probe, "httpGet", "path"); got != path {
			t.Errorf("%s path = %q, want %q", probe, got, path)
		}
		if p := at(c, probe, "httpGet", "port"); p != "metrics" && p != 9464 {
			t.Errorf("%s port = %v, want metrics", probe, p)
		}
	}
	svc := find(t, all, "Service", "syncd-metrics")
	if svc == nil {
		t.Fatal("Service syncd-metrics missing")
	}
	ssel, _ := at(svc, "spec", "selector").(obj)
	for k, v := range ssel {
		if labels[k] != v {
			t.Errorf("Service selector %s=%v does not match the pod labels", k, v)
		}
	}
	if str(svc, "spec", "ports", 0, "name") != "metrics" || str(svc, "spec", "ports", 0, "targetPort") != "metrics" {
		t.Error("Service port is not the named metrics port")
	}
}

func TestSecretExampleHoldsNoRealSecret(t *testing.T) {
	t.Parallel()
	all := manifests(t)
	s := find(t, all, "Secret", "syncd-secrets")
	m, _ := at(s, "stringData").(obj)
	if len(m) == 0 {
		t.Fatal("secret.example.yaml has no stringData")
	}
	for k, v := range m {
		if !strings.Contains(fmt.Sprint(v), "REPLACE_ME") {
			t.Errorf("secret.example.yaml %s holds a value, not a REPLACE_ME placeholder", k)
		}
	}
}

// instruction is one Dockerfile instruction.
type instruction struct {
	cmd, args string
	line      int
}

func parseDockerfile(t *testing.T, path string) []instruction {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	var cur strings.Builder
	start := 0
	for i, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{strings.ToUpper(cmd), strings.TrimSpace(args), start})
		cur.Reset()
	}
	if cur.Len() > 0 {
		t.Fatalf("%s: unterminated continuation at line %d", path, start)
	}
	return out
}

func TestDockerfile(t *testing.T) {
	t.Parallel()
	ins := parseDockerfile(t, "container/Dockerfile")
	var stages [][]instruction
	for _, in := range ins {
		switch {
		case in.cmd == "FROM":
			stages = append(stages, []instruction{in})
		case len(stages) == 0 && in.cmd != "ARG":
			t.Errorf("line %d: %s before the first FROM", in.line, in.cmd)
		case len(stages) > 0:
			stages[len(stages)-1] = append(stages[len(stages)-1], in)
		}
	}
	if len(stages) != 2 {
		t.Fatalf("want 2 stages (build, runtime), got %d", len(stages))
	}
	build, final := stages[0], stages[1]
	if !regexp.MustCompile(`^golang:\S+ AS build$`).MatchString(build[0].args) {
		t.Errorf("build stage FROM %q, want golang:… AS build", build[0].args)
	}
	goMod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goVer := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(goMod)
	var text strings.Builder
	for _, in := range ins {
		text.WriteString(in.cmd + " " + in.args + "\n")
	}
	if goVer == nil || !strings.Contains(text.String(), "ARG GO_VERSION="+string(goVer[1])) {
		t.Errorf("GO_VERSION does not match go.mod's go %s", goVer[1])
	}
	var buildText strings.Builder
	for _, in := range build {
		buildText.WriteString(in.cmd + " " + in.args + "\n")
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-X main.version=", "./cmd/syncd"} {
		if !strings.Contains(buildText.String(), want) {
			t.Errorf("build stage lacks %q", want)
		}
	}
	if _, err := os.Stat("../cmd/syncd"); err != nil {
		t.Errorf("build target ./cmd/syncd: %v", err)
	}
	if !regexp.MustCompile(`^gcr\.io/distroless/static-debian\d+:nonroot$`).MatchString(final[0].args) {
		t.Errorf("runtime FROM %q, want gcr.io/distroless/static-debian12:nonroot", final[0].args)
	}
	got := map[string][]string{}
	for _, in := range final[1:] {
		got[in.cmd] = append(got[in.cmd], in.args)
		if in.cmd == "RUN" {
			t.Errorf("line %d: RUN in the runtime stage (distroless has no shell)", in.line)
		}
	}
	if u := got["USER"]; len(u) != 1 || u[0] == "root" || strings.HasPrefix(u[0], "0") {
		t.Errorf("runtime USER = %v, want one non-root user", u)
	}
	if c := got["COPY"]; len(c) != 1 || !strings.HasPrefix(c[0], "--from=build ") || !strings.HasSuffix(c[0], " /syncd") {
		t.Errorf("runtime COPY = %v, want the binary from build to /syncd", c)
	}
	jsonArgs := func(cmd string) []string {
		v := got[cmd]
		if len(v) != 1 {
			t.Errorf("want one %s, got %v", cmd, v)
			return nil
		}
		var args []string
		if err := json.Unmarshal([]byte(v[0]), &args); err != nil {
			t.Errorf("%s %s is not exec form (JSON): %v", cmd, v[0], err)
		}
		return args
	}
	if e := jsonArgs("ENTRYPOINT"); !slices.Equal(e, []string{"/syncd"}) {
		t.Errorf("ENTRYPOINT = %v, want [/syncd]", e)
	}
	if c := jsonArgs("CMD"); !slices.Equal(c, []string{"sync", "--config", "/etc/syncd/syncd.yaml"}) {
		t.Errorf("CMD = %v", c)
	}
}

// unit parses a systemd unit file into section -> key -> values.
func unit(t *testing.T, path string) map[string]map[string][]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string][]string{}
	section := ""
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
			out[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: not key=value in a section: %q", path, i+1, line)
			}
			out[section][k] = append(out[section][k], v)
		}
	}
	return out
}

const unitPath = "systemd/syncd.service"

func TestSystemdUnit(t *testing.T) {
	t.Parallel()
	u := unit(t, unitPath)
	svc := u["Service"]
	want := map[string]string{
		"Type":                    "notify",
		"ExecStart":               "/usr/local/bin/syncd run --config /etc/syncd/syncd.yaml",
		"ExecReload":              "/bin/kill -HUP $MAINPID",
		"Restart":                 "on-failure",
		"DynamicUser":             "yes",
		"StateDirectory":          "syncd",
		"ConfigurationDirectory":  "syncd",
		"ProtectSystem":           "strict",
		"ProtectHome":             "yes",
		"NoNewPrivileges":         "yes",
		"PrivateTmp":              "yes",
		"PrivateDevices":          "yes",
		"CapabilityBoundingSet":   "",
		"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
		"ProtectKernelTunables":   "yes",
		"ProtectKernelModules":    "yes",
		"ProtectKernelLogs":       "yes",
		"ProtectControlGroups":    "yes",
		"LockPersonality":         "yes",
		"MemoryDenyWriteExecute":  "yes",
		"RestrictNamespaces":      "yes",
		"RestrictSUIDSGID":        "yes",
	}
	for k, v := range want {
		if got, ok := svc[k]; !ok || got[0] != v {
			t.Errorf("[Service] %s = %v, want %q", k, got, v)
		}
	}
	if !slices.Contains(svc["SystemCallFilter"], "@system-service") {
		t.Errorf("SystemCallFilter = %v, want @system-service", svc["SystemCallFilter"])
	}
	if w := svc["WatchdogSec"]; len(w) != 1 {
		t.Error("WatchdogSec unset")
	}
	stop, _ := strconv.Atoi(firstOr(svc["TimeoutStopSec"], "90"))
	if time.Duration(stop)*time.Second <= 30*time.Second {
		t.Errorf("TimeoutStopSec %ds is not above syncd's default 30s shutdown timeout", stop)
	}
	// The credential the unit loads is the one the environment points at.
	var creds []string
	for _, lc := range svc["LoadCredential"] {
		name, src, _ := strings.Cut(lc, ":")
		if !strings.HasPrefix(src, "/etc/syncd/credentials/") {
			t.Errorf("LoadCredential %s reads %s, want /etc/syncd/credentials/…", name, src)
		}
		creds = append(creds, name)
	}
	found := false
	for _, e := range svc["Environment"] {
		if k, v, _ := strings.Cut(e, "="); k == "SYNCD_PINGONE_CLIENT_SECRET_FILE" {
			found = true
			if !strings.HasPrefix(v, "%d/") || !slices.Contains(creds, strings.TrimPrefix(v, "%d/")) {
				t.Errorf("SYNCD_PINGONE_CLIENT_SECRET_FILE=%s is not a loaded credential (%v)", v, creds)
			}
		}
	}
	if !found {
		t.Error("SYNCD_PINGONE_CLIENT_SECRET_FILE is not set from a credential")
	}
	if u["Install"]["WantedBy"] == nil {
		t.Error("[Install] WantedBy unset")
	}
}

func firstOr(v []string, def string) string {
	if len(v) == 0 {
		return def
	}
	return v[0]
}

// TestSystemdAnalyzeVerify runs systemd-analyze verify on a copy of the unit
// whose ExecStart points at a stub (verify insists the binary exists).
// systemd-analyze exits 0 on unknown keys and bad values; any output fails.
func TestSystemdAnalyzeVerify(t *testing.T) {
	t.Parallel()
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		testenv.Unavailable(t, "systemd-analyze (apt-get install systemd)", err)
	}
	dir := t.TempDir()
	stub := filepath.Join(dir, "syncd")
	if err := os.WriteFile(stub, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	const bin = "ExecStart=/usr/local/bin/syncd "
	if !bytes.Contains(data, []byte(bin)) {
		t.Fatalf("unit lacks %q", bin)
	}
	data = bytes.ReplaceAll(data, []byte(bin), []byte("ExecStart="+stub+" "))
	copyPath := filepath.Join(dir, "syncd.service")
	if err := os.WriteFile(copyPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, sa, "verify", copyPath).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		testenv.Unavailable(t, "promtool (apt-get install -y --no-install-recommends prometheus)", err)
	}
	return p
}

func TestPrometheusRules(t *testing.T) {
	t.Parallel()
	pt := promtool(t)
	for _, args := range [][]string{
		{"check", "rules", "alerts.yaml"},
		{"test", "rules", "alerts_test.yaml"},
	} {
		// A bound against a hung promtool, not a speed limit: on a loaded
		// 2-core machine the unit tests took over 30 s.
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		cmd := exec.CommandContext(ctx, pt, args...)
		cmd.Dir = "prometheus"
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// exportedMetrics lists every series name internal/metrics exposes, with
// the histogram suffixes.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	m.ObserveRun(metrics.RunResult{Job: "j", Status: metrics.StatusSucceeded, Duration: time.Second,
		Ops: map[string]map[string]int{"create": {"ok": 1}}, Rejects: map[string]int{"source": 1},
		Objects: map[string]int{"active": 1}, GateTripped: true})
	m.RunSkipped("j")
	m.SetJobInterval("j", time.Minute)
	m.Request("op", 200, time.Millisecond)
	m.Retry("op", "429")
	m.RateLimited("op")
	m.LimiterWait(time.Second)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		n := mf.GetName()
		names[n] = true
		if mf.GetType().String() == "HISTOGRAM" {
			names[n+"_bucket"], names[n+"_count"], names[n+"_sum"] = true, true, true
		}
	}
	return names
}

var metricRe = regexp.MustCompile(`\bsyncd_[a-z_]+\b`)

// queriedMetrics returns the syncd_* names in exprs, failing on none.
func queriedMetrics(t *testing.T, what string, exprs []string) map[string]bool {
	t.Helper()
	got := map[string]bool{}
	for _, e := range exprs {
		for _, n := range metricRe.FindAllString(e, -1) {
			got[n] = true
		}
	}
	if len(got) == 0 {
		t.Fatalf("%s queries no syncd metric", what)
	}
	return got
}

func TestDashboardQueriesExistingMetrics(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("grafana/syncd.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash obj
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("grafana/syncd.json is not valid JSON: %v", err)
	}
	if str(dash, "uid") == "" || str(dash, "title") == "" {
		t.Error("dashboard lacks uid or title")
	}
	var exprs []string
	ids := map[float64]bool{}
	var walk func(panels []any)
	walk = func(panels []any) {
		for _, p := range panels {
			id, _ := at(p, "id").(float64)
			if ids[id] {
				t.Errorf("panel id %v repeats", id)
			}
			ids[id] = true
			if str(p, "type") != "row" && len(list(p, "targets")) == 0 {
				t.Errorf("panel %q has no query", str(p, "title"))
			}
			for _, tg := range list(p, "targets") {
				exprs = append(exprs, str(tg, "expr"))
			}
			walk(list(p, "panels"))
		}
	}
	walk(list(dash, "panels"))
	for _, v := range list(dash, "templating", "list") {
		if q, ok := at(v, "query").(obj); ok {
			exprs = append(exprs, str(q, "query"))
		}
	}
	exported := exportedMetrics(t)
	for n := range queriedMetrics(t, "the dashboard", exprs) {
		if !exported[n] {
			t.Errorf("the dashboard queries %s, which internal/metrics does not export", n)
		}
	}
	for _, e := range exprs {
		if regexp.MustCompile(`syncd_\w+\{[^}]*\bjob=`).MatchString(e) {
			t.Errorf("query %q filters syncd series on job: their label is sync_job", e)
		}
	}
}

func TestAlertsQueryExistingMetrics(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("prometheus/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(data, &rules); err != nil {
		t.Fatal(err)
	}
	var exprs []string
	alerts := map[string]bool{}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			exprs = append(exprs, r.Expr)
			alerts[r.Alert] = true
		}
	}
	exported := exportedMetrics(t)
	for n := range queriedMetrics(t, "the alerts", exprs) {
		if !exported[n] {
			t.Errorf("the alerts query %s, which internal/metrics does not export", n)
		}
	}
	for _, a := range []string{"SyncdDown", "SyncdJobStale", "SyncdRejectsRising", "SyncdPingOneRateLimited", "SyncdSafetyGateTripped"} {
		if !alerts[a] {
			t.Errorf("alert %s missing", a)
		}
	}
}
