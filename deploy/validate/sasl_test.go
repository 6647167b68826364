package validate

import (
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// fakeKubectl answers what scripts/kafka-sasl.sh asks of Strimzi's objects and records every
// call (one line each, in $LOG) and the Secret it creates (KEY=base64(value) lines in $CREATED).
const fakeKubectl = `#!/usr/bin/env bash
set -euo pipefail
echo "$*" >>"$LOG"
args=" $* "
case $args in
  *" get kafkauser/"*"status.username"*) printf tweetflow-user ;;
  *" get kafkauser/"*"status.secret"*) printf tweetflow ;;
  *" get secret/tweetflow "*) printf '%s' "$(printf s3cret-pw | base64 -w0)" ;;
  *" get secret/tweetflow-cluster-ca-cert "*) printf '%s' "$(printf -- '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' | base64 -w0)" ;;
  *" create secret generic "*)
    for a in "$@"; do
      case $a in
        --from-literal=*) kv=${a#--from-literal=}; echo "${kv%%=*}=$(printf '%s' "${kv#*=}" | base64 -w0)" >>"$CREATED" ;;
        --from-file=*) kv=${a#--from-file=}; echo "${kv%%=*}=$(base64 -w0 <"${kv#*=}")" >>"$CREATED" ;;
      esac
    done
    echo "kind: Secret" ;;
esac
`

// TestKafkaSASLScript runs scripts/kafka-sasl.sh against a fake kubectl and checks that the
// Secret it writes has exactly the keys (and the fixed values) of the committed template, which
// is what make validate checks every consumer against, that the password and CA come from
// Strimzi's Secrets without appearing on a command line, and that the overlay is applied after
// the Secret exists (#14 break 7).
func TestKafkaSASLScript(t *testing.T) {
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := readTemplate(t, filepath.Join(root, KafkaSASLTemplate))
	for _, mode := range []string{"knative", "kafka-only", "jobs"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			kubectl := filepath.Join(dir, "kubectl")
			if err := os.WriteFile(kubectl, []byte(fakeKubectl), 0o755); err != nil {
				t.Fatal(err)
			}
			log, created := filepath.Join(dir, "log"), filepath.Join(dir, "created")
			cmd := exec.Command("bash", filepath.Join(root, "scripts", "kafka-sasl.sh"), mode)
			cmd.Env = append(os.Environ(), "KUBECTL="+kubectl, "LOG="+log, "CREATED="+created)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("kafka-sasl.sh %s: %v\n%s", mode, err, out)
			}
			got := map[string]string{}
			data, err := os.ReadFile(created)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range strings.Fields(string(data)) {
				k, v, _ := strings.Cut(l, "=")
				b, err := base64.StdEncoding.DecodeString(v)
				if err != nil {
					t.Fatalf("%s: %v", l, err)
				}
				got[k] = string(b)
			}
			var keys []string
			for k := range got {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if want := sortedKeys(tmpl); !slices.Equal(keys, want) {
				t.Errorf("the script's Secret has keys %q, the template %s has %q", keys, KafkaSASLTemplate, want)
			}
			for _, k := range []string{"protocol", "sasl.mechanism"} {
				if got[k] != tmpl[k] {
					t.Errorf("%s = %q, the template says %q", k, got[k], tmpl[k])
				}
			}
			if got["user"] != "tweetflow-user" || got["password"] != "s3cret-pw" || !strings.Contains(got["ca.crt"], "BEGIN CERTIFICATE") {
				t.Errorf("user %q, password %q, ca.crt %q: want Strimzi's status.username, the user Secret's password and the cluster CA", got["user"], got["password"], got["ca.crt"])
			}
			calls, err := os.ReadFile(log)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(calls), "s3cret-pw") {
				t.Errorf("the password appears on a kubectl command line:\n%s", calls)
			}
			order := []string{"apply -k k8s/sasl/user", "wait kafkauser/tweetflow --for=condition=Ready", "create secret generic " + KafkaSASLSecret, "apply -f ", "apply -k k8s/sasl/" + mode}
			at := 0
			for _, l := range strings.Split(string(calls), "\n") {
				if at < len(order) && strings.Contains(l, order[at]) {
					at++
				}
			}
			if at < len(order) {
				t.Errorf("kubectl calls out of order, %q missing or too early:\n%s", order[at], calls)
			}
		})
	}
	t.Run("unknown mode", func(t *testing.T) {
		cmd := exec.Command("bash", filepath.Join(root, "scripts", "kafka-sasl.sh"), "eventing")
		cmd.Env = append(os.Environ(), "KUBECTL=false")
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "usage") {
			t.Errorf("kafka-sasl.sh eventing: %v, %s; want exit 2 and the usage", err, out)
		}
	})
}

// readTemplate returns a Secret template's stringData.
func readTemplate(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		StringData map[string]string `json:"stringData"`
	}
	if err := yaml.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	return s.StringData
}
