package validate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
)

// placeholderImage stands for the digest reference given to `func deploy --image`.
const placeholderImage = "registry.invalid/tweetflow@sha256:0000000000000000000000000000000000000000000000000000000000000000"

// Annotation keys func v0.44 sets from deploy.options.scale (knative.dev/serving's
// autoscaling package; written out so this package does not import the autoscaler).
const (
	annMinScale    = "autoscaling.knative.dev/min-scale"
	annMaxScale    = "autoscaling.knative.dev/max-scale"
	annMetric      = "autoscaling.knative.dev/metric"
	annTarget      = "autoscaling.knative.dev/target"
	annUtilization = "autoscaling.knative.dev/target-utilization-percentage"
)

var secretRefRE = regexp.MustCompile(`^{{\s*(secret|configMap)\s*:\s*([-._a-zA-Z0-9]+)\s*:\s*([-._a-zA-Z0-9]+)\s*}}$`)

// FuncService builds the Knative Service that func v0.44 would deploy from f
// (pkg/knative/deployer.go: generateNewService, setServiceOptions, processEnvs,
// processVolumes), with a placeholder image digest.
func FuncService(f *Function) (*servingv1.Service, error) {
	nonRoot, noEscalation := true, false
	c := corev1.Container{
		Image: placeholderImage,
		SecurityContext: &corev1.SecurityContext{
			RunAsNonRoot:             &nonRoot,
			AllowPrivilegeEscalation: &noEscalation,
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
	}
	if p := f.Deploy.HealthEndpoints.Liveness; p != "" {
		c.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: p}}}
	}
	if p := f.Deploy.HealthEndpoints.Readiness; p != "" {
		c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: p}}}
	}
	for _, e := range f.Run.Envs {
		if e.Name == nil || e.Value == nil {
			continue // whole-Secret/ConfigMap envFrom: nothing to check here
		}
		ev := corev1.EnvVar{Name: *e.Name}
		if m := secretRefRE.FindStringSubmatch(*e.Value); m != nil {
			if m[1] == "secret" {
				ev.ValueFrom = &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: m[2]}, Key: m[3]}}
			} else {
				ev.ValueFrom = &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: m[2]}, Key: m[3]}}
			}
		} else {
			ev.Value = *e.Value
		}
		c.Env = append(c.Env, ev)
	}
	var volumes []corev1.Volume
	for i, v := range f.Run.Volumes {
		name := fmt.Sprintf("volume-%d", i)
		var src corev1.VolumeSource
		switch {
		case v.Secret != nil:
			name = "secret-" + *v.Secret
			src.Secret = &corev1.SecretVolumeSource{SecretName: *v.Secret}
		case v.ConfigMap != nil:
			name = "config-map-" + *v.ConfigMap
			src.ConfigMap = &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: *v.ConfigMap}}
		case v.EmptyDir != nil:
			src.EmptyDir = &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMedium(v.EmptyDir.Medium)}
		case v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName != nil:
			src.PersistentVolumeClaim = &corev1.PersistentVolumeClaimVolumeSource{ClaimName: *v.PersistentVolumeClaim.ClaimName, ReadOnly: v.PersistentVolumeClaim.ReadOnly}
		default:
			continue // ParseFunction reports it
		}
		volumes = append(volumes, corev1.Volume{Name: name, VolumeSource: src})
		if v.Path != nil {
			c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: name, MountPath: *v.Path})
		}
	}
	ann := map[string]string{}
	for k, v := range f.Deploy.Annotations {
		ann[k] = v
	}
	rev := map[string]string{}
	for k, v := range ann {
		rev[k] = v
	}
	var cc *int64
	if s := f.Deploy.Options.Scale; s != nil {
		if s.Min != nil {
			rev[annMinScale] = fmt.Sprintf("%d", *s.Min)
		}
		if s.Max != nil {
			rev[annMaxScale] = fmt.Sprintf("%d", *s.Max)
		}
		if s.Metric != nil {
			rev[annMetric] = *s.Metric
		}
		if s.Target != nil {
			rev[annTarget] = fmt.Sprintf("%f", *s.Target)
		}
		if s.Utilization != nil {
			rev[annUtilization] = fmt.Sprintf("%f", *s.Utilization)
		}
	}
	if r := f.Deploy.Options.Resources; r != nil {
		// list parses the cpu and memory quantities under field (either may be unset).
		list := func(field string, cpu, memory *string) (corev1.ResourceList, error) {
			l := corev1.ResourceList{}
			for _, q := range []struct {
				name corev1.ResourceName
				v    *string
			}{{corev1.ResourceCPU, cpu}, {corev1.ResourceMemory, memory}} {
				if q.v == nil {
					continue
				}
				v, err := resource.ParseQuantity(*q.v)
				if err != nil {
					return nil, fmt.Errorf("%s.%s: %w", field, q.name, err)
				}
				l[q.name] = v
			}
			return l, nil
		}
		var err error
		if r.Requests != nil {
			if c.Resources.Requests, err = list("deploy.options.resources.requests", r.Requests.CPU, r.Requests.Memory); err != nil {
				return nil, err
			}
		}
		if r.Limits != nil {
			if c.Resources.Limits, err = list("deploy.options.resources.limits", r.Limits.CPU, r.Limits.Memory); err != nil {
				return nil, err
			}
			cc = r.Limits.Concurrency
		}
	}
	var labels map[string]string
	for _, l := range f.Deploy.Labels {
		if l.Key != nil && l.Value != nil {
			if labels == nil {
				labels = map[string]string{}
			}
			labels[*l.Key] = *l.Value
		}
	}
	ns := f.Namespace
	if ns == "" {
		ns = f.Deploy.Namespace
	}
	svc := &servingv1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "serving.knative.dev/v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: f.Name, Namespace: ns, Labels: labels, Annotations: ann},
		Spec: servingv1.ServiceSpec{ConfigurationSpec: servingv1.ConfigurationSpec{Template: servingv1.RevisionTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Annotations: rev},
			Spec: servingv1.RevisionSpec{
				ContainerConcurrency: cc,
				PodSpec: corev1.PodSpec{
					Containers:         []corev1.Container{c},
					ServiceAccountName: f.Deploy.ServiceAccountName,
					Volumes:            volumes,
				},
			},
		}}},
	}
	return svc, nil
}

// validateFuncService validates, with knative.dev/serving v0.50.0, the Service func would
// deploy: this is where an impossible scale option (a target above the container concurrency,
// min above max, a bad metric for the autoscaler class) or a bad env/volume surfaces.
func validateFuncService(ctx context.Context, file string, f *Function) []Problem {
	d := Document{File: file, Line: 1, Kind: "Service (as func deploy creates it from func.yaml)", Name: f.Name}
	svc, err := FuncService(f)
	if err != nil {
		return []Problem{d.problem("", "%v", err)}
	}
	return validateKnative(apis.WithinCreate(ctx), d, svc)
}

// checkTemplates renders the templates scripts/deploy-model.sh uses for a model name with an
// underscore (the hard case: model names allow "_", Kubernetes names do not) and checks the
// results like committed files: the func.yaml with every func.yaml rule and the Service func
// would create, the Trigger with the Knative types and against the func.yaml.
func checkTemplates(ctx context.Context, opt Options, m *Manifests) ([]Problem, error) {
	const model = "sample_model"
	fn := FunctionName(model)
	render := func(name string) (string, []byte, error) {
		rel := filepath.ToSlash(filepath.Join(TemplatesDir, name))
		data, err := os.ReadFile(filepath.Join(opt.Root, rel))
		if err != nil {
			return rel, nil, fmt.Errorf("read template: %w", err)
		}
		return rel, []byte(RenderTemplate(string(data), model)), nil
	}
	var probs []Problem
	funcRel, funcData, err := render("func.yaml.tmpl")
	if err != nil {
		return nil, err
	}
	trRel, trData, err := render("trigger.yaml.tmpl")
	if err != nil {
		return nil, err
	}
	label := func(ps []Problem, rel string) []Problem {
		for i := range ps {
			ps[i].File = rel + " (rendered for model " + model + ")"
		}
		return ps
	}
	f, ps := ParseFunction(funcRel, funcData)
	probs = append(probs, label(ps, funcRel)...)
	if f == nil {
		return probs, nil
	}
	probs = append(probs, label(CheckFunction(funcRel, f, "dev.tweetflow.tweet.v1", brokers(m.Docs)), funcRel)...)
	probs = append(probs, label(validateFuncService(ctx, funcRel, f), funcRel)...)
	if dir, _ := f.Env("MODEL_DIR"); dir != "/models/"+model || f.Name != fn {
		probs = append(probs, Problem{File: funcRel, Msg: fmt.Sprintf("renders name %q and MODEL_DIR %q for model %q; want %q and %q", f.Name, dir, model, fn, "/models/"+model)})
	}
	docs, ps := SplitDocuments(trRel, trData)
	probs = append(probs, label(ps, trRel)...)
	for _, d := range docs {
		kp, _ := CheckKnative(ctx, d)
		probs = append(probs, label(kp, trRel)...)
	}
	probs = append(probs, label(checkTriggerTypes(docs), trRel)...)
	trs := triggers(docs)
	for i, s := range f.Deploy.Subscriptions {
		probs = append(probs, label(compareTrigger(funcRel, i, f, s, trs[FuncTriggerName(fn, i)]), trRel)...)
	}
	return probs, nil
}

// RenderTemplate fills a deploy/templates file for a model: ${MODEL} is the model name,
// ${FUNCTION} the Knative function name; the sizing scripts/deploy-model.sh derives from the
// model's files and kind (${MEMORY_REQUEST}, ${MEMORY_LIMIT}, ${SCALE_TARGET},
// ${CONTAINER_CONCURRENCY}) gets what it gives a built-in linear model. The script does the
// same with sed.
func RenderTemplate(tmpl, model string) string {
	return strings.NewReplacer("${MODEL}", model, "${FUNCTION}", FunctionName(model),
		"${MEMORY_REQUEST}", "256Mi", "${MEMORY_LIMIT}", "512Mi", "${SCALE_TARGET}", "64", "${CONTAINER_CONCURRENCY}", "256").Replace(tmpl)
}
