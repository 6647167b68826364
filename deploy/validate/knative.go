package validate

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	"knative.dev/eventing/pkg/apis/feature"
	sourcesv1 "knative.dev/eventing/pkg/apis/sources/v1"
	"knative.dev/pkg/apis"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
)

// knativeObject is what the Knative webhooks call on an object: defaulting, then validation.
type knativeObject interface {
	apis.Defaultable
	apis.Validatable
}

// newKnativeObject returns an empty upstream Go object for a Knative apiVersion and kind, or
// nil when the kind has no served Go type (KafkaSource: knative.dev/eventing-kafka-broker is
// not on the module proxy), which kubeconform then covers.
func newKnativeObject(apiVersion, kind string) knativeObject {
	switch apiVersion + "/" + kind {
	case "eventing.knative.dev/v1/Broker":
		return &eventingv1.Broker{}
	case "eventing.knative.dev/v1/Trigger":
		return &eventingv1.Trigger{}
	case "sources.knative.dev/v1/SinkBinding":
		return &sourcesv1.SinkBinding{}
	case "sources.knative.dev/v1/ContainerSource":
		return &sourcesv1.ContainerSource{}
	case "sources.knative.dev/v1/PingSource":
		return &sourcesv1.PingSource{}
	case "sources.knative.dev/v1/ApiServerSource":
		return &sourcesv1.ApiServerSource{}
	case "serving.knative.dev/v1/Service":
		return &servingv1.Service{}
	}
	return nil
}

// isKnativeGroup reports whether apiVersion belongs to a group whose objects must have a Go
// type here or be covered by a kubeconform schema.
func isKnativeGroup(apiVersion string) bool {
	group, _, _ := strings.Cut(apiVersion, "/")
	return strings.HasSuffix(group, ".knative.dev")
}

// FeatureContext returns ctx carrying the Knative Eventing feature flags of a config-features
// ConfigMap (nil: the defaults of knative.dev/eventing v0.50.0), as the webhook sees them.
func FeatureContext(ctx context.Context, cm *corev1.ConfigMap) (context.Context, error) {
	data := map[string]string{}
	if cm != nil {
		data = cm.Data
	}
	flags, err := feature.NewFlagsConfigFromMap(data)
	if err != nil {
		return ctx, fmt.Errorf("config-features: %w", err)
	}
	return feature.ToContext(ctx, flags), nil
}

// CheckKnative strict-decodes a Knative document into its upstream type, applies
// SetDefaults and Validate as on creation, and returns the error-level findings. ok is false
// when the kind has no Go type here.
func CheckKnative(ctx context.Context, d Document) (probs []Problem, ok bool) {
	obj := newKnativeObject(d.APIVersion, d.Kind)
	if obj == nil {
		return nil, false
	}
	unknown, err := strictDecode(d.Raw, obj)
	if probs := decodeProblems(d, unknown, err); len(probs) > 0 {
		return probs, true
	}
	return validateKnative(apis.WithinCreate(ctx), d, obj), true
}

func validateKnative(ctx context.Context, d Document, obj knativeObject) []Problem {
	obj.SetDefaults(ctx)
	fe := obj.Validate(ctx).Filter(apis.ErrorLevel)
	if fe == nil {
		return nil
	}
	var out []Problem
	for _, e := range fe.WrappedErrors() {
		msg := e.Message
		if e.Details != "" {
			msg += " (" + e.Details + ")"
		}
		out = append(out, d.problem(strings.Join(e.Paths, ", "), "%s", msg))
	}
	if len(out) == 0 { // defensive: an error without wrapped parts still fails
		out = append(out, d.problem("", "%s", fe.Error()))
	}
	return out
}
