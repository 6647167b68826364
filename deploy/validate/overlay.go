package validate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// OverlayDir holds the kustomize overlays of the SASL/TLS path. Their objects exist only after
// `kustomize build` (inline patches over eventing/, k8s/kafka-only and k8s/jobs), so checking
// the files alone would miss a patch that no longer applies or one that produces an invalid
// object: they are rendered and the result is checked like the committed manifests.
const OverlayDir = "k8s/sasl"

// Kafka SASL Secret: the one Secret every Kafka client of the SASL overlays reads, in the
// format of Knative's Kafka auth Secrets.
const (
	KafkaSASLSecret   = "tweetflow-kafka-sasl"
	KafkaSASLTemplate = "k8s/secrets/kafka-sasl.template.yaml"
)

// knativeAuthKeys are the keys eventing-kafka-broker reads from a Broker's auth Secret
// (auth.secret.ref.name) for protocol SASL_SSL with a cluster CA.
var knativeAuthKeys = []string{"protocol", "sasl.mechanism", "user", "password", "ca.crt"}

// Render runs `kustomize build` on dir (absolute) in process.
func Render(dir string) ([]byte, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, err
	}
	return m.AsYaml()
}

// overlayDirs lists the kustomizations under OverlayDir (sorted).
func overlayDirs(root string) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(root, OverlayDir, "*", "kustomization.yaml"))
	if err != nil {
		return nil, err
	}
	var dirs []string
	for _, m := range matches {
		dirs = append(dirs, relTo(root, filepath.Dir(m)))
	}
	slices.Sort(dirs)
	return dirs, nil
}

// checkOverlays renders every overlay and checks the result: the Knative Go types, kubeconform,
// the ScaledObject rules, the Kafka names against the Strimzi objects of base (the committed
// manifests), and every Secret reference against the committed Secret templates.
func checkOverlays(ctx context.Context, fctx context.Context, opt Options, base []Document) ([]Problem, error) {
	dirs, err := overlayDirs(opt.Root)
	if err != nil {
		return nil, err
	}
	secrets, err := secretTemplates(opt.Root)
	if err != nil {
		return nil, err
	}
	var strimzi []Document
	for _, d := range base {
		if d.APIVersion == "kafka.strimzi.io/v1" {
			strimzi = append(strimzi, d)
		}
	}
	tmp, err := os.MkdirTemp("", "tweetflow-overlays-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	var probs []Problem
	for _, dir := range dirs {
		label := dir + " (kustomize build)"
		out, err := Render(filepath.Join(opt.Root, dir))
		if err != nil {
			probs = append(probs, Problem{File: dir + "/kustomization.yaml", Msg: "kustomize build: " + err.Error()})
			continue
		}
		docs, ps := SplitDocuments(label, out)
		probs = append(probs, ps...)
		for _, d := range docs {
			kp, _ := CheckKnative(fctx, d)
			probs = append(probs, kp...)
		}
		file := filepath.Join(tmp, strings.ReplaceAll(dir, "/", "_")+".yaml")
		if err := os.WriteFile(file, out, 0o644); err != nil {
			return nil, err
		}
		kdocs := slices.Clone(docs)
		for i := range kdocs {
			kdocs[i].File = filepath.Base(file)
		}
		kp, err := Kubeconform(ctx, opt.Kubeconform, tmp, filepath.Join(opt.Root, SchemaDir), []string{file}, kdocs)
		if err != nil {
			return nil, err
		}
		for _, p := range kp {
			p.File = label
			probs = append(probs, p)
		}
		probs = append(probs, checkScaledObjects(docs)...)
		probs = append(probs, withoutStrimziFiles(kafkaRefs(append(slices.Clone(strimzi), docs...), true), label)...)
		probs = append(probs, checkSecretRefs(docs, secrets)...)
		probs = append(probs, checkSASLClients(docs)...)
	}
	return probs, nil
}

// withoutStrimziFiles keeps the problems found in the rendered overlay, not the ones about the
// base's Strimzi objects (CheckRepo reports those once).
func withoutStrimziFiles(probs []Problem, label string) []Problem {
	var out []Problem
	for _, p := range probs {
		if p.File == label {
			out = append(out, p)
		}
	}
	return out
}

// secretTemplates reads the Secret templates under SecretsDir: name -> the keys the Secret has.
func secretTemplates(root string) (map[string][]string, error) {
	files, err := filepath.Glob(filepath.Join(root, SecretsDir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		docs, _ := SplitDocuments(relTo(root, f), data)
		for _, d := range docs {
			if d.APIVersion != "v1" || d.Kind != "Secret" {
				continue
			}
			var s struct {
				Data       map[string]string `json:"data"`
				StringData map[string]string `json:"stringData"`
			}
			if err := yaml.Unmarshal(d.Raw, &s); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", d.File, d.Line, err)
			}
			var keys []string
			for k := range s.Data {
				keys = append(keys, k)
			}
			for k := range s.StringData {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			out[d.Name] = keys
		}
	}
	return out, nil
}

// secretRef is one use of a Secret key found in an object.
type secretRef struct {
	name, key, field string
}

// secretRefsOf walks an object and returns every Secret key it names: secretKeyRef (env and
// KafkaSource spec.net), secret volumes' items, KEDA secretTargetRef, and a Kafka Broker
// config's auth.secret.ref.name (which needs every key of knativeAuthKeys).
func secretRefsOf(d Document) []secretRef {
	var obj any
	if yaml.Unmarshal(d.Raw, &obj) != nil {
		return nil
	}
	var refs []secretRef
	var walk func(v any, path string)
	walk = func(v any, path string) {
		switch v := v.(type) {
		case map[string]any:
			if r, ok := v["secretKeyRef"].(map[string]any); ok {
				name, _ := r["name"].(string)
				key, _ := r["key"].(string)
				refs = append(refs, secretRef{name, key, join(path, "secretKeyRef")})
			}
			if s, ok := v["secret"].(map[string]any); ok {
				name, _ := s["secretName"].(string)
				items, _ := s["items"].([]any)
				for i, it := range items {
					m, _ := it.(map[string]any)
					key, _ := m["key"].(string)
					refs = append(refs, secretRef{name, key, fmt.Sprintf("%s.items[%d]", join(path, "secret"), i)})
				}
			}
			if ts, ok := v["secretTargetRef"].([]any); ok {
				for i, t := range ts {
					m, _ := t.(map[string]any)
					name, _ := m["name"].(string)
					key, _ := m["key"].(string)
					refs = append(refs, secretRef{name, key, fmt.Sprintf("%s[%d]", join(path, "secretTargetRef"), i)})
				}
			}
			for k, c := range v {
				if k == "secretKeyRef" || k == "secretTargetRef" {
					continue
				}
				walk(c, join(path, k))
			}
		case []any:
			for i, c := range v {
				walk(c, fmt.Sprintf("%s[%d]", path, i))
			}
		}
	}
	walk(obj, "")
	if d.APIVersion == "v1" && d.Kind == "ConfigMap" {
		if m, ok := obj.(map[string]any); ok {
			data, _ := m["data"].(map[string]any)
			if name, ok := data["auth.secret.ref.name"].(string); ok {
				for _, k := range knativeAuthKeys {
					refs = append(refs, secretRef{name, k, "data.auth.secret.ref.name"})
				}
			}
		}
	}
	return refs
}

// checkSecretRefs checks that every key an object reads from a Secret that has a committed
// template (k8s/secrets) is a key of that template: a Secret is created by hand from it, so a
// key spelled differently in one consumer (ca.crt vs ca, user vs username) fails only on a
// cluster, as a pod stuck in CreateContainerConfigError or a source that never connects.
// Secrets without a template (made by ECK or Strimzi) are not checked here.
func checkSecretRefs(docs []Document, templates map[string][]string) []Problem {
	var probs []Problem
	for _, d := range docs {
		for _, r := range secretRefsOf(d) {
			keys, ok := templates[r.name]
			if !ok {
				continue
			}
			if !slices.Contains(keys, r.key) {
				probs = append(probs, d.problem(r.field, "Secret %s has no key %q (its template in %s has %s)", r.name, r.key, SecretsDir, strings.Join(keys, ", ")))
			}
		}
	}
	return probs
}

// checkSASLClients checks that every Kafka client in a SASL overlay carries credentials: a
// patch whose target matches nothing is silently skipped by kustomize, and a client without
// them only fails on the cluster (SASL authentication failed, or a TLS handshake to a plain
// listener).
func checkSASLClients(docs []Document) []Problem {
	var probs []Problem
	auths := map[string]bool{}
	configMaps := map[string]map[string]string{}
	for _, d := range docs {
		switch {
		case d.Kind == "TriggerAuthentication" && d.APIVersion == "keda.sh/v1alpha1":
			auths[d.Name] = true
		case d.Kind == "ConfigMap" && d.APIVersion == "v1":
			var cm corev1.ConfigMap
			if yaml.Unmarshal(d.Raw, &cm) == nil {
				configMaps[d.Name] = cm.Data
			}
		}
	}
	for _, d := range docs {
		switch {
		case d.Kind == "KafkaSource":
			var s struct {
				Spec struct {
					Net struct {
						SASL struct {
							Enable   bool      `json:"enable"`
							User     secretSel `json:"user"`
							Password secretSel `json:"password"`
							Type     secretSel `json:"type"`
						} `json:"sasl"`
						TLS struct {
							Enable bool      `json:"enable"`
							CACert secretSel `json:"caCert"`
						} `json:"tls"`
					} `json:"net"`
				} `json:"spec"`
			}
			if yaml.Unmarshal(d.Raw, &s) != nil {
				continue
			}
			n := s.Spec.Net
			if !n.SASL.Enable || !n.TLS.Enable || n.SASL.User.SecretKeyRef == nil || n.SASL.Password.SecretKeyRef == nil || n.SASL.Type.SecretKeyRef == nil || n.TLS.CACert.SecretKeyRef == nil {
				probs = append(probs, d.problem("spec.net", "a KafkaSource in a SASL overlay needs sasl (enable, user, password, type) and tls (enable, caCert) from the Secret %s", KafkaSASLSecret))
			}
		case d.Kind == "ConfigMap" && d.APIVersion == "v1":
			data := configMaps[d.Name]
			if _, ok := data["bootstrap.servers"]; ok && data["auth.secret.ref.name"] == "" {
				probs = append(probs, d.problem("data.auth.secret.ref.name", "a Kafka Broker config in a SASL overlay needs auth.secret.ref.name (the Secret %s)", KafkaSASLSecret))
			}
		case d.Kind == "ScaledObject":
			kafkaTriggers(d, func(i int, tr scaledTrigger) {
				at := fmt.Sprintf("spec.triggers[%d]", i)
				if tr.AuthenticationRef == nil || !auths[tr.AuthenticationRef.Name] {
					probs = append(probs, d.problem(at+".authenticationRef", "a kafka trigger in a SASL overlay needs authenticationRef to a TriggerAuthentication of the overlay"))
				}
				if tr.Metadata["sasl"] != "scram_sha512" || tr.Metadata["tls"] != "enable" {
					probs = append(probs, d.problem(at+".metadata", "a kafka trigger in a SASL overlay needs sasl: scram_sha512 and tls: enable (KEDA's spelling), have sasl %q, tls %q", tr.Metadata["sasl"], tr.Metadata["tls"]))
				}
			})
		case (d.Kind == "Deployment" && d.APIVersion == "apps/v1") || (d.Kind == "Job" && d.APIVersion == "batch/v1"):
			var w struct {
				Spec struct {
					Template corev1.PodTemplateSpec `json:"template"`
				} `json:"spec"`
			}
			if yaml.Unmarshal(d.Raw, &w) != nil {
				continue
			}
			for i, c := range w.Spec.Template.Spec.Containers {
				probs = append(probs, checkSASLContainer(d, fmt.Sprintf("spec.template.spec.containers[%d]", i), c, configMaps)...)
			}
		}
	}
	return probs
}

// secretSel is the {secretKeyRef: ...} wrapper of KafkaSource spec.net.
type secretSel struct {
	SecretKeyRef *corev1.SecretKeySelector `json:"secretKeyRef"`
}

// checkSASLContainer checks a container that talks to Kafka (KAFKA_BROKERS in its env or in a
// ConfigMap it reads with envFrom): TLS on, the CA file on a mounted path, and the SASL
// mechanism, user and password from a Secret (cmd/tweetflow reads $KAFKA_*).
func checkSASLContainer(d Document, at string, c corev1.Container, configMaps map[string]map[string]string) []Problem {
	env := map[string]string{}
	fromSecret := map[string]bool{}
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef != nil {
			for k, v := range configMaps[ef.ConfigMapRef.Name] {
				env[k] = v
			}
		}
	}
	for _, e := range c.Env {
		env[e.Name] = e.Value
		fromSecret[e.Name] = e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil
	}
	if _, ok := env["KAFKA_BROKERS"]; !ok {
		return nil
	}
	var probs []Problem
	if env["KAFKA_TLS"] != "true" {
		probs = append(probs, d.problem(at+".env", "KAFKA_TLS is %q, not \"true\": the SASL listener is TLS", env["KAFKA_TLS"]))
	}
	ca := env["KAFKA_TLS_CA"]
	mounted := false
	for _, m := range c.VolumeMounts {
		if ca != "" && strings.HasPrefix(ca, strings.TrimSuffix(m.MountPath, "/")+"/") {
			mounted = true
		}
	}
	if !mounted {
		probs = append(probs, d.problem(at+".env", "KAFKA_TLS_CA %q is not a file under one of the container's volumeMounts (the cluster CA from the Secret %s)", ca, KafkaSASLSecret))
	}
	for _, k := range []string{"KAFKA_SASL_MECHANISM", "KAFKA_SASL_USER", "KAFKA_SASL_PASSWORD"} {
		if !fromSecret[k] {
			probs = append(probs, d.problem(at+".env", "%s does not come from a Secret (valueFrom.secretKeyRef)", k))
		}
	}
	return probs
}
