package validate

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Function mirrors func.yaml as knative.dev/func v0.44.0 reads it (pkg/functions/function.go,
// function_options.go, function_envs.go and schema/func_yaml-schema.json at tag v0.44.0),
// plus the fields later func releases up to v0.50 (the func of Knative 1.23) write back into
// the file after a build or deploy (deployer at the top and in deploy, registryInsecure,
// deploy.imagePullSecret, deploy.managementDisabled): strict-decoding into it rejects any field
// func would not know, and accepts a func.yaml that func itself rewrote. Fields func fills in at
// build or deploy time (image, registry, deploy.image...) are accepted for the same reason.
type Function struct {
	SpecVersion string `json:"specVersion"`
	Name        string `json:"name,omitempty"`
	Domain      string `json:"domain,omitempty"`
	Runtime     string `json:"runtime,omitempty"`
	Registry    string `json:"registry,omitempty"`
	// RegistryInsecure and Deployer are written by func v0.50.
	RegistryInsecure bool       `json:"registryInsecure,omitempty"`
	Deployer         string     `json:"deployer,omitempty"`
	Image            string     `json:"image,omitempty"`
	Namespace        string     `json:"namespace,omitempty"`
	Created          *time.Time `json:"created"`
	Invoke           string     `json:"invoke,omitempty"`
	Build            FuncBuild  `json:"build,omitempty"`
	Run              FuncRun    `json:"run,omitempty"`
	Deploy           FuncDeploy `json:"deploy,omitempty"`
}

// FuncBuild is func's BuildSpec.
type FuncBuild struct {
	Git           FuncGit           `json:"git,omitempty"`
	BuilderImages map[string]string `json:"builderImages,omitempty"`
	Buildpacks    []string          `json:"buildpacks,omitempty"`
	Builder       string            `json:"builder,omitempty"`
	BuildEnvs     []FuncEnv         `json:"buildEnvs,omitempty"`
	PVCSize       string            `json:"pvcSize,omitempty"`
}

// FuncGit is func's Git.
type FuncGit struct {
	URL        string `json:"url,omitempty"`
	Revision   string `json:"revision,omitempty"`
	ContextDir string `json:"contextDir,omitempty"`
}

// FuncRun is func's RunSpec.
type FuncRun struct {
	Volumes      []FuncVolume `json:"volumes,omitempty"`
	Envs         []FuncEnv    `json:"envs,omitempty"`
	StartTimeout *int64       `json:"startTimeout,omitempty"`
}

// FuncEnv is func's Env: a value, or a reference such as {{ secret:name:key }}.
type FuncEnv struct {
	Name  *string `json:"name,omitempty"`
	Value *string `json:"value,omitempty"`
}

// FuncVolume is func's Volume (exactly one source).
type FuncVolume struct {
	Secret                *string       `json:"secret,omitempty"`
	ConfigMap             *string       `json:"configMap,omitempty"`
	PersistentVolumeClaim *FuncPVC      `json:"persistentVolumeClaim,omitempty"`
	EmptyDir              *FuncEmptyDir `json:"emptyDir,omitempty"`
	Path                  *string       `json:"path,omitempty"`
}

// FuncPVC is func's PersistentVolumeClaim volume source.
type FuncPVC struct {
	ClaimName *string `json:"claimName,omitempty"`
	ReadOnly  bool    `json:"readOnly,omitempty"`
}

// FuncEmptyDir is func's EmptyDir volume source.
type FuncEmptyDir struct {
	Medium    string  `json:"medium,omitempty"`
	SizeLimit *string `json:"sizeLimit,omitempty"`
}

// FuncDeploy is func's DeploySpec.
type FuncDeploy struct {
	Namespace          string             `json:"namespace,omitempty"`
	Image              string             `json:"image,omitempty"`
	Annotations        map[string]string  `json:"annotations,omitempty"`
	Options            FuncOptions        `json:"options,omitempty"`
	Labels             []FuncLabel        `json:"labels,omitempty"`
	HealthEndpoints    FuncHealth         `json:"healthEndpoints,omitempty"`
	ServiceAccountName string             `json:"serviceAccountName,omitempty"`
	Subscriptions      []FuncSubscription `json:"subscriptions,omitempty"`
	// Written by func v0.50: the deployer used (knative, raw, keda), the pull secret and
	// whether func manages the Service.
	Deployer           string `json:"deployer,omitempty"`
	ImagePullSecret    string `json:"imagePullSecret,omitempty"`
	ManagementDisabled bool   `json:"managementDisabled,omitempty"`
}

// FuncLabel is func's Label.
type FuncLabel struct {
	Key   *string `json:"key"`
	Value *string `json:"value,omitempty"`
}

// FuncHealth is func's HealthEndpoints.
type FuncHealth struct {
	Liveness  string `json:"liveness,omitempty"`
	Readiness string `json:"readiness,omitempty"`
}

// FuncSubscription is func's KnativeSubscription: one Trigger on broker Source.
type FuncSubscription struct {
	Source  string            `json:"source"`
	Filters map[string]string `json:"filters,omitempty"`
}

// FuncOptions is func's Options.
type FuncOptions struct {
	Scale     *FuncScale     `json:"scale,omitempty"`
	Resources *FuncResources `json:"resources,omitempty"`
}

// FuncScale is func's ScaleOptions; func turns it into autoscaling.knative.dev annotations.
type FuncScale struct {
	Min         *int64   `json:"min,omitempty"`
	Max         *int64   `json:"max,omitempty"`
	Metric      *string  `json:"metric,omitempty"`
	Target      *float64 `json:"target,omitempty"`
	Utilization *float64 `json:"utilization,omitempty"`
}

// FuncResources is func's ResourcesOptions.
type FuncResources struct {
	Requests *FuncRequests `json:"requests,omitempty"`
	Limits   *FuncLimits   `json:"limits,omitempty"`
}

// FuncRequests is func's ResourcesRequestsOptions.
type FuncRequests struct {
	CPU    *string `json:"cpu,omitempty"`
	Memory *string `json:"memory,omitempty"`
}

// FuncLimits is func's ResourcesLimitsOptions; Concurrency becomes containerConcurrency.
type FuncLimits struct {
	CPU         *string `json:"cpu,omitempty"`
	Memory      *string `json:"memory,omitempty"`
	Concurrency *int64  `json:"concurrency,omitempty"`
}

// Patterns from func v0.44's schema.
var (
	funcNameRE  = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	envNameRE   = regexp.MustCompile(`^[-._a-zA-Z][-._a-zA-Z0-9]*$`)
	quantityRE  = regexp.MustCompile(`^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$`)
	labelKeyRE  = regexp.MustCompile(`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`)
	labelValRE  = regexp.MustCompile(`^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`)
	envRefRE    = regexp.MustCompile(`^{{\s*(\w+)\s*:`)
	lastSpecVer = "0.36.0" // func v0.44.0's LastSpecVersion(): its newest migration
)

// ParseFunction strict-decodes a func.yaml and checks it against func v0.44's schema rules
// (required fields, patterns, enums, minimums, and validateOptions). It does not apply
// tweetflow's own rules; CheckFunction does.
func ParseFunction(file string, data []byte) (*Function, []Problem) {
	d := Document{File: file, Line: 1, Raw: data, Kind: "func.yaml"}
	var f Function
	unknown, err := strictDecode(data, &f)
	if probs := decodeProblems(d, unknown, err); len(probs) > 0 {
		return nil, probs
	}
	d.Name = f.Name
	var out []Problem
	p := func(field, format string, args ...any) { out = append(out, d.problem(field, format, args...)) }
	if f.SpecVersion == "" {
		p("specVersion", "required")
	} else if f.SpecVersion != lastSpecVer {
		p("specVersion", "is %q; func v0.44 writes %q and would migrate (rewrite) the file", f.SpecVersion, lastSpecVer)
	}
	if f.Created == nil {
		p("created", "required (RFC 3339 time)")
	}
	if f.Name == "" {
		p("name", "required: it is the Knative Service's name")
	} else if !funcNameRE.MatchString(f.Name) {
		p("name", "%q does not match %s", f.Name, funcNameRE)
	}
	switch f.Invoke {
	case "", "http", "cloudevent":
	default:
		p("invoke", "%q is not one of http, cloudevent", f.Invoke)
	}
	switch f.Build.Builder {
	case "", "pack", "s2i", "host":
	default:
		p("build.builder", "%q is not one of pack, s2i, host", f.Build.Builder)
	}
	checkEnvs := func(field string, envs []FuncEnv) {
		for i, e := range envs {
			at := fmt.Sprintf("%s[%d]", field, i)
			if e.Name == nil && e.Value == nil {
				p(at, "needs a name, a value, or both")
			}
			if e.Name != nil && !envNameRE.MatchString(*e.Name) {
				p(at+".name", "%q does not match %s", *e.Name, envNameRE)
			}
			if e.Value != nil {
				if m := envRefRE.FindStringSubmatch(*e.Value); m != nil {
					switch m[1] {
					case "env", "secret", "configMap":
					default:
						p(at+".value", "reference kind %q is not one of env, secret, configMap", m[1])
					}
				}
			}
		}
	}
	checkEnvs("build.buildEnvs", f.Build.BuildEnvs)
	checkEnvs("run.envs", f.Run.Envs)
	for i, v := range f.Run.Volumes {
		at := fmt.Sprintf("run.volumes[%d]", i)
		n := 0
		for _, set := range []bool{v.Secret != nil, v.ConfigMap != nil, v.PersistentVolumeClaim != nil, v.EmptyDir != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			p(at, "needs exactly one of secret, configMap, persistentVolumeClaim, emptyDir (has %d)", n)
		}
		if v.Path == nil || !strings.HasPrefix(*v.Path, "/") {
			p(at+".path", "required: an absolute mount path")
		}
	}
	for i, l := range f.Deploy.Labels {
		at := fmt.Sprintf("deploy.labels[%d]", i)
		if l.Key == nil || !labelKeyRE.MatchString(*l.Key) {
			p(at+".key", "required and must be a label key")
		}
		if l.Value != nil && !labelValRE.MatchString(*l.Value) {
			p(at+".value", "%q is not a label value", *l.Value)
		}
	}
	for i, s := range f.Deploy.Subscriptions {
		if s.Source == "" {
			p(fmt.Sprintf("deploy.subscriptions[%d].source", i), "required: the Broker's name")
		}
	}
	if s := f.Deploy.Options.Scale; s != nil {
		if s.Min != nil && *s.Min < 0 {
			p("deploy.options.scale.min", "%d is negative", *s.Min)
		}
		if s.Max != nil && *s.Max < 0 {
			p("deploy.options.scale.max", "%d is negative", *s.Max)
		}
		if s.Min != nil && s.Max != nil && *s.Max < *s.Min {
			p("deploy.options.scale.max", "%d is less than min %d", *s.Max, *s.Min)
		}
		if s.Metric != nil && *s.Metric != "concurrency" && *s.Metric != "rps" {
			p("deploy.options.scale.metric", "%q is not one of concurrency, rps", *s.Metric)
		}
		if s.Target != nil && *s.Target < 0.01 {
			p("deploy.options.scale.target", "%g is below func's minimum 0.01", *s.Target)
		}
		if s.Utilization != nil && (*s.Utilization < 1 || *s.Utilization > 100) {
			p("deploy.options.scale.utilization", "%g is not in [1, 100]", *s.Utilization)
		}
	}
	if r := f.Deploy.Options.Resources; r != nil {
		q := func(field string, v *string) {
			if v != nil && !quantityRE.MatchString(*v) {
				p(field, "%q is not a quantity", *v)
			}
		}
		if r.Requests != nil {
			q("deploy.options.resources.requests.cpu", r.Requests.CPU)
			q("deploy.options.resources.requests.memory", r.Requests.Memory)
		}
		if r.Limits != nil {
			q("deploy.options.resources.limits.cpu", r.Limits.CPU)
			q("deploy.options.resources.limits.memory", r.Limits.Memory)
			if r.Limits.Concurrency != nil && *r.Limits.Concurrency < 0 {
				p("deploy.options.resources.limits.concurrency", "%d is negative", *r.Limits.Concurrency)
			}
		}
	}
	return &f, out
}

// Env returns the value of the run env named name, and whether it is set.
func (f *Function) Env(name string) (string, bool) {
	for _, e := range f.Run.Envs {
		if e.Name != nil && *e.Name == name && e.Value != nil {
			return *e.Value, true
		}
	}
	return "", false
}

// Label returns the value of the deploy label with the given key, and whether it is set.
func (f *Function) Label(key string) (string, bool) {
	for _, l := range f.Deploy.Labels {
		if l.Key != nil && *l.Key == key && l.Value != nil {
			return *l.Value, true
		}
	}
	return "", false
}
