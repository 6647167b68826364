package validate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	"sigs.k8s.io/yaml"

	"github.com/tweetflow/tweetflow/event"
	tfmodel "github.com/tweetflow/tweetflow/model"
)

// Repository layout, relative to the root.
const (
	EventingDir    = "eventing"
	K8sDir         = "k8s"
	SchemaDir      = "k8s/schemas"
	SecretsDir     = "k8s/secrets"
	FunctionsDir   = "functions"
	TemplatesDir   = "deploy/templates"
	AggregatorFunc = "func.yaml"
	// AlertsFunc is the alert engine's function apart from the aggregators (functions/alerts).
	AlertsFunc = "functions/alerts/func.yaml"
)

// Options says where the repository is and which kubeconform to run.
type Options struct {
	Root        string // repository root
	Kubeconform string // kubeconform binary
}

// Manifests holds what CheckRepo read, for the cross-checks.
type Manifests struct {
	Docs      []Document
	Files     []string // repository-relative manifest files
	Functions map[string]*Function
}

// CheckRepo validates every manifest under eventing/ and k8s/, the kustomizations, the
// func.yaml files and the templates deploy-model.sh renders, and the agreement between them.
// The error is for failures to run the checks (unreadable files, kubeconform missing); the
// problems are what is wrong with the manifests.
func CheckRepo(ctx context.Context, opt Options) ([]Problem, error) {
	m, probs, err := loadManifests(opt.Root)
	if err != nil {
		return nil, err
	}
	fctx, err := featureContextFrom(ctx, m.Docs)
	if err != nil {
		return nil, err
	}
	for _, d := range m.Docs {
		kp, ok := CheckKnative(fctx, d)
		probs = append(probs, kp...)
		if !ok && isKnativeGroup(d.APIVersion) && !hasSchema(opt.Root, d) {
			probs = append(probs, d.problem("apiVersion", "no Go type and no schema in %s for %s", SchemaDir, d.APIVersion))
		}
	}
	abs := make([]string, len(m.Files))
	for i, f := range m.Files {
		abs[i] = filepath.Join(opt.Root, f)
	}
	kp, err := Kubeconform(ctx, opt.Kubeconform, opt.Root, filepath.Join(opt.Root, SchemaDir), abs, m.Docs)
	if err != nil {
		return nil, err
	}
	probs = append(probs, kp...)
	kz, err := checkKustomizations(opt.Root, m.Files)
	if err != nil {
		return nil, err
	}
	probs = append(probs, kz...)
	probs = append(probs, checkTriggerTypes(m.Docs)...)
	probs = append(probs, checkServiceVisibility(m.Docs)...)
	probs = append(probs, checkDelivery(m.Docs)...)
	probs = append(probs, checkRerunJobs(m.Docs)...)
	probs = append(probs, checkScaledObjects(m.Docs)...)
	probs = append(probs, checkAlertingAggregators(m.Docs, m.Functions)...)
	probs = append(probs, checkKafkaRefs(m.Docs)...)
	secrets, err := secretTemplates(opt.Root)
	if err != nil {
		return nil, err
	}
	probs = append(probs, checkSecretRefs(m.Docs, secrets)...)
	probs = append(probs, checkNetworkPolicies(m.Docs, m.Functions)...)
	ops, err := checkOverlays(ctx, fctx, opt, m.Docs)
	if err != nil {
		return nil, err
	}
	probs = append(probs, ops...)

	fps, err := checkFunctions(fctx, opt.Root, m)
	if err != nil {
		return nil, err
	}
	probs = append(probs, fps...)

	tps, err := checkTemplates(fctx, opt, m)
	if err != nil {
		return nil, err
	}
	probs = append(probs, tps...)
	sortProblems(probs)
	return probs, nil
}

func sortProblems(p []Problem) {
	sort.SliceStable(p, func(i, j int) bool {
		if p[i].File != p[j].File {
			return p[i].File < p[j].File
		}
		return p[i].Line < p[j].Line
	})
}

// loadManifests reads every YAML file under eventing/ and k8s/ except the schemas and the
// kustomization files, and every func.yaml.
func loadManifests(root string) (*Manifests, []Problem, error) {
	m := &Manifests{Functions: map[string]*Function{}}
	var probs []Problem
	for _, dir := range []string{EventingDir, K8sDir} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, de fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel := relTo(root, path)
			if de.IsDir() {
				if rel == SchemaDir {
					return filepath.SkipDir
				}
				return nil
			}
			if !isYAML(rel) || isKustomization(rel) {
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			docs, ps := SplitDocuments(rel, data)
			m.Files = append(m.Files, rel)
			m.Docs = append(m.Docs, docs...)
			probs = append(probs, ps...)
			return nil
		})
		if err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", dir, err)
		}
	}
	funcFiles, err := filepath.Glob(filepath.Join(root, FunctionsDir, "*", "func.yaml"))
	if err != nil {
		return nil, nil, err
	}
	if _, err := os.Stat(filepath.Join(root, AggregatorFunc)); err == nil {
		funcFiles = append(funcFiles, filepath.Join(root, AggregatorFunc))
	}
	for _, path := range funcFiles {
		rel := relTo(root, path)
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, nil, err
		}
		f, ps := ParseFunction(rel, data)
		probs = append(probs, ps...)
		if f != nil {
			m.Functions[rel] = f
		}
	}
	return m, probs, nil
}

func isYAML(p string) bool { return strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml") }

func isKustomization(p string) bool {
	b := filepath.Base(p)
	return b == "kustomization.yaml" || b == "kustomization.yml"
}

func hasSchema(root string, d Document) bool {
	_, version, _ := strings.Cut(d.APIVersion, "/")
	name := strings.ToLower(d.Kind) + "_" + version + ".json"
	_, err := os.Stat(filepath.Join(root, SchemaDir, name))
	return err == nil
}

// featureContextFrom finds the committed knative-eventing config-features ConfigMap and
// returns a context with its flags (the v0.50.0 defaults when there is none).
func featureContextFrom(ctx context.Context, docs []Document) (context.Context, error) {
	for _, d := range docs {
		if d.APIVersion == "v1" && d.Kind == "ConfigMap" && d.Name == "config-features" && d.Namespace == "knative-eventing" {
			var cm corev1.ConfigMap
			if err := yaml.Unmarshal(d.Raw, &cm); err != nil {
				return nil, fmt.Errorf("%s:%d: config-features: %w", d.File, d.Line, err)
			}
			return FeatureContext(ctx, &cm)
		}
	}
	return FeatureContext(ctx, nil)
}

// kustomization is the part of a kustomization.yaml that is checked: the resources it lists.
type kustomization struct {
	Resources  []string `json:"resources"`
	Components []string `json:"components"`
	Images     []struct {
		Name string `json:"name"`
	} `json:"images"`
}

// ImageComponent is the kustomize Component that sets the tweetflow CLI image once for every
// folder whose Jobs or Deployments run it.
const ImageComponent = "k8s/image"

// checkKustomizations checks that every resource a kustomization.yaml lists exists, and that
// every manifest (except the secret templates) is reachable from some kustomization, since
// `kubectl apply -k` silently skips a file nobody lists.
func checkKustomizations(root string, files []string) ([]Problem, error) {
	var probs []Problem
	listed := map[string]bool{}
	for _, dir := range []string{EventingDir, K8sDir} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, de fs.DirEntry, err error) error {
			if err != nil || de.IsDir() || !isKustomization(path) {
				return err
			}
			rel := relTo(root, path)
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			var k kustomization
			if err := yaml.Unmarshal(data, &k); err != nil {
				probs = append(probs, Problem{File: rel, Msg: "not a kustomization: " + err.Error()})
				return nil
			}
			base := filepath.Dir(rel)
			for _, im := range k.Images {
				if im.Name == "tweetflow" && base != ImageComponent {
					probs = append(probs, Problem{File: rel, Field: "images", Msg: fmt.Sprintf("sets the tweetflow image itself: only %s does, so one setting serves every folder", ImageComponent)})
				}
			}
			usesImage := false
			for _, r := range k.Resources {
				if data, err := os.ReadFile(filepath.Join(root, base, r)); err == nil && strings.Contains(string(data), "image: tweetflow\n") {
					usesImage = true
				}
			}
			if usesImage && base != ImageComponent {
				has := false
				for _, c := range k.Components {
					if filepath.ToSlash(filepath.Join(base, c)) == ImageComponent {
						has = true
					}
				}
				if !has {
					probs = append(probs, Problem{File: rel, Field: "components", Msg: fmt.Sprintf("its resources run image tweetflow but it does not list the component %s: they would keep the placeholder image", ImageComponent)})
				}
			}
			for i, r := range k.Resources {
				target := filepath.ToSlash(filepath.Join(base, r))
				st, err := os.Stat(filepath.Join(root, target))
				switch {
				case err != nil:
					probs = append(probs, Problem{File: rel, Field: fmt.Sprintf("resources[%d]", i), Msg: fmt.Sprintf("%q does not exist", r)})
				case st.IsDir():
					if _, err := os.Stat(filepath.Join(root, target, "kustomization.yaml")); err != nil {
						probs = append(probs, Problem{File: rel, Field: fmt.Sprintf("resources[%d]", i), Msg: fmt.Sprintf("directory %q has no kustomization.yaml", r)})
					}
				default:
					listed[target] = true
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read kustomizations: %w", err)
		}
	}
	for _, f := range files {
		if strings.HasPrefix(f, SecretsDir+"/") {
			continue // templates, applied by hand on purpose
		}
		if !listed[f] {
			probs = append(probs, Problem{File: f, Msg: "not listed in the resources of its folder's kustomization.yaml: `kubectl apply -k` would skip it"})
		}
	}
	return probs, nil
}

// knownTypes are the CloudEvents types of the event contract.
func knownTypes() []string {
	return []string{event.TypeTweet, event.TypeMetadata, event.TypeRecord, event.TypeAlertThreshold, event.TypeAlertAnomaly, event.TypeAlertCoordination}
}

// checkTriggerTypes checks that every Trigger filters on a type of the event contract: a typo
// in a type filter matches nothing, silently.
func checkTriggerTypes(docs []Document) []Problem {
	var probs []Problem
	for d, t := range decoded[eventingv1.Trigger](docs, "eventing.knative.dev/v1", "Trigger") {
		if t.Spec.Filter == nil || t.Spec.Filter.Attributes["type"] == "" {
			probs = append(probs, d.problem("spec.filter.attributes.type", "missing: every tweetflow Trigger filters on an event type (package event)"))
			continue
		}
		if typ := t.Spec.Filter.Attributes["type"]; !slices.Contains(knownTypes(), typ) {
			probs = append(probs, d.problem("spec.filter.attributes.type", "%q is not a type of the event contract (%s)", typ, strings.Join(knownTypes(), ", ")))
		}
	}
	return probs
}

// VisibilityLabel set to VisibilityClusterLocal keeps a Knative Service off the ingress
// (Knative Serving's networking.knative.dev/visibility): the functions are reached only by
// the eventing data plane inside the cluster.
const (
	VisibilityLabel        = "networking.knative.dev/visibility"
	VisibilityClusterLocal = "cluster-local"
)

// checkServiceVisibility checks that every committed Knative Service is cluster-local: the
// functions take events from the Broker only, and a public URL would let anyone post tweets or
// metadata events into the store.
func checkServiceVisibility(docs []Document) []Problem {
	var probs []Problem
	for _, d := range docs {
		if d.Kind != "Service" || d.APIVersion != "serving.knative.dev/v1" {
			continue
		}
		var h struct {
			Metadata struct {
				Labels map[string]string `json:"labels"`
			} `json:"metadata"`
		}
		if yaml.Unmarshal(d.Raw, &h) != nil {
			continue // CheckKnative reports it
		}
		if h.Metadata.Labels[VisibilityLabel] != VisibilityClusterLocal {
			probs = append(probs, d.problem("metadata.labels", "needs %s: %s, or the Service gets a public URL", VisibilityLabel, VisibilityClusterLocal))
		}
	}
	return probs
}

// triggers returns the Triggers of the manifests by name.
func triggers(docs []Document) map[string]triggerDoc {
	out := map[string]triggerDoc{}
	for d, t := range decoded[eventingv1.Trigger](docs, "eventing.knative.dev/v1", "Trigger") {
		out[t.Name] = triggerDoc{d, t}
	}
	return out
}

type triggerDoc struct {
	Document
	T *eventingv1.Trigger
}

func brokers(docs []Document) []string {
	var out []string
	for _, d := range docs {
		if d.Kind == "Broker" && d.APIVersion == "eventing.knative.dev/v1" {
			out = append(out, d.Name)
		}
	}
	return out
}

// FuncTriggerName is the name func v0.44 gives the Trigger of subscription i
// (pkg/knative/deployer.go, createTriggers).
func FuncTriggerName(function string, i int) string {
	return fmt.Sprintf("%s-function-trigger-%d", function, i)
}

// checkFunctions applies tweetflow's rules to every func.yaml: Go, CloudEvents, scale options
// present, subscriptions on an existing Broker filtered on the right event type, a committed
// Trigger that is exactly the one func would create, and a Knative Service (as func would
// create it) that passes serving's validation.
func checkFunctions(ctx context.Context, root string, m *Manifests) ([]Problem, error) {
	var probs []Problem
	trs := triggers(m.Docs)
	brs := brokers(m.Docs)
	claimed := map[string]bool{}
	for _, file := range slices.Sorted(maps.Keys(m.Functions)) {
		f := m.Functions[file]
		want := event.TypeTweet
		switch file {
		case AggregatorFunc:
			want = event.TypeMetadata
		case AlertsFunc:
			want = event.TypeRecord
		}
		probs = append(probs, CheckFunction(file, f, want, brs)...)
		for i, s := range f.Deploy.Subscriptions {
			name := FuncTriggerName(f.Name, i)
			claimed[name] = true
			probs = append(probs, compareTrigger(file, i, f, s, trs[name])...)
		}
		probs = append(probs, validateFuncService(ctx, file, f)...)
		if file != AggregatorFunc && file != AlertsFunc {
			probs = append(probs, checkModelDir(root, file, f)...)
		}
	}
	for name, t := range trs {
		if strings.Contains(name, "-function-trigger-") && !claimed[name] {
			probs = append(probs, t.problem("metadata.name", "named like a func Trigger, but no func.yaml has that subscription: a stale Trigger for a removed function"))
		}
	}
	return probs, nil
}

// CheckFunction applies tweetflow's rules to a parsed func.yaml. wantType is the event type
// its subscriptions must filter on; brokers are the Broker names defined in eventing/.
func CheckFunction(file string, f *Function, wantType string, brokers []string) []Problem {
	d := Document{File: file, Line: 1, Kind: "func.yaml", Name: f.Name}
	var out []Problem
	p := func(field, format string, args ...any) { out = append(out, d.problem(field, format, args...)) }
	if f.Runtime != "go" {
		p("runtime", "is %q, want go", f.Runtime)
	}
	if f.Invoke != "cloudevent" {
		p("invoke", "is %q, want cloudevent (the function receives and replies with CloudEvents)", f.Invoke)
	}
	if f.Namespace == "" {
		p("namespace", "required: the namespace of the Broker (tweetflow)")
	}
	if f.Deploy.HealthEndpoints.Readiness == "" || f.Deploy.HealthEndpoints.Liveness == "" {
		p("deploy.healthEndpoints", "set readiness and liveness (func-go serves /health/readiness and /health/liveness), so no event reaches a pod before its model is loaded")
	}
	if v, ok := f.Env("LISTEN_ADDRESS"); !ok || v != "[::]:8080" {
		p("run.envs", "LISTEN_ADDRESS must be '[::]:8080' (func-go listens on 127.0.0.1 when only PORT is set)")
	}
	s := f.Deploy.Options.Scale
	switch {
	case s == nil:
		p("deploy.options.scale", "required: min, max, metric and target")
	default:
		if s.Min == nil {
			p("deploy.options.scale.min", "required")
		}
		if s.Max == nil || *s.Max == 0 {
			p("deploy.options.scale.max", "required and > 0: an unbounded function can exhaust the cluster")
		}
		if s.Metric == nil {
			p("deploy.options.scale.metric", "required (concurrency or rps)")
		}
		if s.Target == nil {
			p("deploy.options.scale.target", "required")
		}
	}
	if v, ok := f.Label(VisibilityLabel); !ok || v != VisibilityClusterLocal {
		p("deploy.labels", "needs %s: %s, or the Knative Service gets a public URL where anyone can post events to it", VisibilityLabel, VisibilityClusterLocal)
	}
	if len(f.Deploy.Subscriptions) == 0 {
		p("deploy.subscriptions", "required: without one no event reaches the function")
	}
	for i, sub := range f.Deploy.Subscriptions {
		at := fmt.Sprintf("deploy.subscriptions[%d]", i)
		if sub.Source != "" && !slices.Contains(brokers, sub.Source) {
			p(at+".source", "Broker %q is not defined in %s/ (have %s)", sub.Source, EventingDir, strings.Join(brokers, ", "))
		}
		typ, ok := sub.Filters["type"]
		switch {
		case !ok:
			p(at+".filters.type", "missing: want %q", wantType)
		case typ != wantType:
			p(at+".filters.type", "is %q, want %q (package event)", typ, wantType)
		}
		for k := range sub.Filters {
			if !ceAttrName(k) {
				p(at+".filters."+k, "not a CloudEvents attribute name (lowercase letters and digits)")
			}
		}
	}
	return out
}

func ceAttrName(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// compareTrigger checks that the committed Trigger for subscription i is the one func deploy
// would create: same broker, same filter attributes, same subscriber.
func compareTrigger(file string, i int, f *Function, s FuncSubscription, t triggerDoc) []Problem {
	at := fmt.Sprintf("deploy.subscriptions[%d]", i)
	name := FuncTriggerName(f.Name, i)
	if t.T == nil {
		return []Problem{{File: file, Line: 1, Object: "func.yaml " + f.Name, Field: at,
			Msg: fmt.Sprintf("no Trigger %q in %s/: func deploy would create one without the delivery and KEDA settings", name, EventingDir)}}
	}
	var out []Problem
	if t.T.Spec.Broker != s.Source {
		out = append(out, t.problem("spec.broker", "is %q but %s %s.source is %q", t.T.Spec.Broker, file, at, s.Source))
	}
	var attrs map[string]string
	if t.T.Spec.Filter != nil {
		attrs = t.T.Spec.Filter.Attributes
	}
	if !maps.Equal(map[string]string(attrs), s.Filters) {
		out = append(out, t.problem("spec.filter.attributes", "%v differs from %s %s.filters %v", attrs, file, at, s.Filters))
	}
	ref := t.T.Spec.Subscriber.Ref
	if ref == nil || ref.Kind != "Service" || ref.APIVersion != "serving.knative.dev/v1" || ref.Name != f.Name {
		out = append(out, t.problem("spec.subscriber.ref", "must be the Knative Service %q that func deploy creates from %s", f.Name, file))
	}
	return out
}

// checkModelDir checks that a model function's MODEL_DIR names a model folder whose name
// maps to the function name (model names may hold "_", Kubernetes names may not).
func checkModelDir(root, file string, f *Function) []Problem {
	d := Document{File: file, Line: 1, Kind: "func.yaml", Name: f.Name}
	dir, ok := f.Env("MODEL_DIR")
	if !ok {
		return []Problem{d.problem("run.envs", "MODEL_DIR must name the model folder in the image (/models/<model>)")}
	}
	model := strings.TrimPrefix(dir, "/models/")
	if model == dir || !event.ValidModelName(model) {
		return []Problem{d.problem("run.envs", "MODEL_DIR %q is not /models/<model name>", dir)}
	}
	// A Hugging Face folder (config.json) needs no model.yaml, nor a name in it: its model name
	// is then the folder's (package model, NameFromFolder, which keeps a valid model name).
	_, cerr := os.Stat(filepath.Join(root, "models", model, "config.json"))
	hf := cerr == nil
	spec, err := os.ReadFile(filepath.Join(root, "models", model, "model.yaml"))
	if err != nil {
		if hf && errors.Is(err, fs.ErrNotExist) {
			spec = nil
		} else {
			return []Problem{d.problem("run.envs", "MODEL_DIR names model %q, but models/%s/model.yaml does not exist (nor a Hugging Face folder's config.json)", model, model)}
		}
	}
	// The function labels its events with the spec's name; the aggregator and the store know the
	// model by it. A folder copied without renaming the spec would answer as another model.
	var named struct {
		Name string `json:"name"`
	}
	err = yaml.Unmarshal(spec, &named)
	if hf && err == nil && named.Name == "" {
		named.Name = model
	}
	if err != nil || named.Name != model {
		return []Problem{{File: "models/" + model + "/model.yaml", Line: topLevelKeyLine(spec, "name"), Field: "name",
			Msg: fmt.Sprintf("is %q, want %q (the folder name, which %s's MODEL_DIR uses)", named.Name, model, file)}}
	}
	// The whole spec, as the function checks it at start (deploy-model reads its deploy block):
	// a bad field fails here, not in a crash-looping pod.
	if _, err := tfmodel.LoadSpec(filepath.Join(root, "models", model)); err != nil {
		return []Problem{{File: "models/" + model + "/model.yaml", Msg: err.Error()}}
	}
	if FunctionName(model) != f.Name {
		return []Problem{d.problem("name", "is %q; model %q gives function name %q", f.Name, model, FunctionName(model))}
	}
	if want := filepath.ToSlash(filepath.Join(FunctionsDir, f.Name, "func.yaml")); want != file {
		return []Problem{d.problem("name", "function %q lives in %s, not %s", f.Name, file, want)}
	}
	return nil
}

// FunctionName is the Knative name of a model's function: the model name with "_" as "-".
func FunctionName(model string) string { return strings.ReplaceAll(model, "_", "-") }

// topLevelKeyLine returns the 1-based line of a top-level key in a YAML file, or 0.
func topLevelKeyLine(data []byte, key string) int {
	for i, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, key+":") {
			return i + 1
		}
	}
	return 0
}

// scaledObject is the part of a KEDA ScaledObject that is cross-checked.
type scaledObject struct {
	Spec struct {
		ScaleTargetRef struct {
			Kind string `json:"kind"`
			Name string `json:"name"`
		} `json:"scaleTargetRef"`
		Triggers []scaledTrigger `json:"triggers"`
	} `json:"spec"`
}

// scaledTrigger is one entry of a ScaledObject's spec.triggers.
type scaledTrigger struct {
	Type              string            `json:"type"`
	Metadata          map[string]string `json:"metadata"`
	AuthenticationRef *struct {
		Name string `json:"name"`
	} `json:"authenticationRef"`
}

// kafkaTriggers calls fn, in order, for each kafka trigger of the
// ScaledObject document d with its index in spec.triggers. A document that
// does not decode has none here: the checks that decode it report that.
func kafkaTriggers(d Document, fn func(i int, tr scaledTrigger)) {
	var so scaledObject
	if yaml.Unmarshal(d.Raw, &so) != nil {
		return
	}
	for i, tr := range so.Spec.Triggers {
		if tr.Type == "kafka" {
			fn(i, tr)
		}
	}
}

// checkScaledObjects checks that every KEDA ScaledObject scales a Deployment defined in the
// manifests, and that its Kafka triggers watch the consumer group and topic that Deployment's
// `tweetflow kafka` command actually uses: a mismatch scales on a lag nobody consumes.
func checkScaledObjects(docs []Document) []Problem {
	deployments := map[string]appsv1.Deployment{}
	for d, dep := range decoded[appsv1.Deployment](docs, "apps/v1", "Deployment") {
		deployments[d.Namespace+"/"+d.Name] = *dep
	}
	var probs []Problem
	for d, so := range decoded[scaledObject](docs, "", "ScaledObject") {
		ref := so.Spec.ScaleTargetRef
		if ref.Kind != "" && ref.Kind != "Deployment" {
			continue
		}
		dep, ok := deployments[d.Namespace+"/"+ref.Name]
		if !ok {
			probs = append(probs, d.problem("spec.scaleTargetRef.name", "no Deployment %q in namespace %q", ref.Name, d.Namespace))
			continue
		}
		var args []string
		for _, c := range dep.Spec.Template.Spec.Containers {
			args = append(args, c.Args...)
		}
		flag := func(names ...string) string {
			for _, a := range args {
				for _, n := range names {
					if v, ok := strings.CutPrefix(a, "--"+n+"="); ok {
						return v
					}
				}
			}
			return ""
		}
		for i, tr := range so.Spec.Triggers {
			if tr.Type != "kafka" {
				continue
			}
			at := fmt.Sprintf("spec.triggers[%d].metadata", i)
			if g := flag("group"); tr.Metadata["consumerGroup"] != g {
				probs = append(probs, d.problem(at+".consumerGroup", "is %q but Deployment %s consumes as group %q (--group)", tr.Metadata["consumerGroup"], ref.Name, g))
			}
			if tr.Metadata["offsetResetPolicy"] != "earliest" {
				probs = append(probs, d.problem(at+".offsetResetPolicy", "must be earliest: the consumers start from the earliest offset, and with latest a new group reports lag 1 and stays at one pod"))
			}
			if topic := flag("in", "topic"); tr.Metadata["topic"] != topic {
				probs = append(probs, d.problem(at+".topic", "is %q but Deployment %s consumes topic %q (--in/--topic)", tr.Metadata["topic"], ref.Name, topic))
			}
		}
	}
	return probs
}

// checkRerunJobs checks that the Kibana import Job, which is re-run after every added model,
// sets ttlSecondsAfterFinished: a finished Job left in place makes the next `kubectl apply` an
// update of its immutable pod template, which the API server refuses.
func checkRerunJobs(docs []Document) []Problem {
	var probs []Problem
	for _, d := range docs {
		if d.Kind != "Job" || d.APIVersion != "batch/v1" || d.Name != "tweetflow-kibana-import" {
			continue
		}
		var j struct {
			Spec struct {
				TTL *int32 `json:"ttlSecondsAfterFinished"`
			} `json:"spec"`
		}
		if yaml.Unmarshal(d.Raw, &j) == nil && j.Spec.TTL == nil {
			probs = append(probs, d.problem("spec.ttlSecondsAfterFinished", "required: the Job is re-run after adding a model, and its pod template is immutable"))
		}
	}
	return probs
}
