package validate

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Namespace is where tweetflow's functions, aggregators and Kafka-only consumers run.
const Namespace = "tweetflow"

// knativeServiceLabel is the label Knative Serving puts on every pod of a Knative Service
// (value: the Service's name).
const knativeServiceLabel = "serving.knative.dev/service"

// functionSourceNamespaces are the namespaces whose pods connect to a Knative Service's pods:
// Serving's activator and autoscaler (knative-serving) and the networking layer's gateway
// (Kourier's kourier-system, or Istio's istio-system). The eventing data plane posts to the
// cluster-local address, which leads through these, never to the pod itself.
func functionSourceNamespaces() []string {
	return []string{"knative-serving", "kourier-system", "istio-system"}
}

// netTarget is a set of pods that must be isolated: who must be selected, and what may reach it.
type netTarget struct {
	where     Document // where to report a missing policy
	namespace string
	labels    map[string]string
	knative   bool  // Knative Service pods (sources: functionSourceNamespaces); else Kafka-only consumers
	ports     []int // Kafka-only: the container ports that may be admitted (metrics)
}

// checkNetworkPolicies checks that the pods of every Knative Service tweetflow deploys (each
// func.yaml, and a model added later) and of every Kafka-only Deployment are selected by an
// Ingress NetworkPolicy, and that those policies admit nothing wider than they need: Knative
// pods only from functionSourceNamespaces, Kafka-only pods only on their metrics port, and
// never every source (an empty from), a whole namespace's pods by podSelector alone, or an
// ipBlock.
func checkNetworkPolicies(docs []Document, functions map[string]*Function) []Problem {
	var policies []Document
	var parsed []networkingv1.NetworkPolicy
	for d, np := range decoded[networkingv1.NetworkPolicy](docs, "networking.k8s.io/v1", "NetworkPolicy") {
		policies = append(policies, d)
		parsed = append(parsed, *np)
	}
	var targets []netTarget
	for _, file := range slices.Sorted(maps.Keys(functions)) {
		f := functions[file]
		ns := f.Namespace
		if ns == "" {
			ns = Namespace
		}
		targets = append(targets, netTarget{
			where:     Document{File: file, Line: 1, Kind: "func.yaml", Name: f.Name},
			namespace: ns, labels: map[string]string{knativeServiceLabel: f.Name}, knative: true,
		})
	}
	// A model added later by scripts/deploy-model.sh: its pods get the same label.
	targets = append(targets, netTarget{
		where:     Document{File: TemplatesDir + "/func.yaml.tmpl", Line: 1, Kind: "func.yaml", Name: FunctionName("sample_model")},
		namespace: Namespace, labels: map[string]string{knativeServiceLabel: FunctionName("sample_model")}, knative: true,
	})
	for d, dep := range decoded[appsv1.Deployment](docs, "apps/v1", "Deployment") {
		if d.Namespace != Namespace {
			continue
		}
		var ports []int
		for _, c := range dep.Spec.Template.Spec.Containers {
			for _, p := range c.Ports {
				if p.Name == "metrics" {
					ports = append(ports, int(p.ContainerPort))
				}
			}
		}
		targets = append(targets, netTarget{where: d, namespace: Namespace, labels: dep.Spec.Template.Labels, ports: ports})
	}

	var probs []Problem
	reported := map[string]bool{} // one report per policy rule
	for _, t := range targets {
		selected := false
		for i, np := range parsed {
			if np.Namespace != t.namespace || !isIngressPolicy(np) {
				continue
			}
			sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
			if err != nil || !sel.Matches(labels.Set(t.labels)) {
				continue
			}
			selected = true
			for _, p := range checkIngressRules(policies[i], np, t) {
				if !reported[p.String()] {
					reported[p.String()] = true
					probs = append(probs, p)
				}
			}
		}
		if !selected {
			probs = append(probs, t.where.problem("", "no Ingress NetworkPolicy in namespace %s selects its pods (labels %v): any pod in the cluster can connect to them (see k8s/network)", t.namespace, t.labels))
		}
	}
	return probs
}

func isIngressPolicy(np networkingv1.NetworkPolicy) bool {
	if len(np.Spec.PolicyTypes) == 0 {
		return true // Ingress is implied
	}
	return slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress)
}

// checkIngressRules checks one policy's rules for the pods of t.
func checkIngressRules(d Document, np networkingv1.NetworkPolicy, t netTarget) []Problem {
	var probs []Problem
	for i, r := range np.Spec.Ingress {
		at := fmt.Sprintf("spec.ingress[%d]", i)
		if len(r.From) == 0 {
			probs = append(probs, d.problem(at+".from", "empty: admits every source to pods labelled %v", t.labels))
		}
		for j, peer := range r.From {
			pat := fmt.Sprintf("%s.from[%d]", at, j)
			switch {
			case peer.IPBlock != nil:
				probs = append(probs, d.problem(pat+".ipBlock", "admits addresses, not the Knative or monitoring namespaces"))
			case peer.NamespaceSelector == nil:
				probs = append(probs, d.problem(pat+".podSelector", "without a namespaceSelector it admits pods of %s itself (the Jobs, Elasticsearch, any pod run there)", t.namespace))
			default:
				ns := peer.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"]
				if ns == "" || len(peer.NamespaceSelector.MatchExpressions) > 0 || len(peer.NamespaceSelector.MatchLabels) != 1 {
					probs = append(probs, d.problem(pat+".namespaceSelector", "select one namespace by kubernetes.io/metadata.name (other labels can be set by anyone who may label a namespace)"))
				} else if t.knative && !slices.Contains(functionSourceNamespaces(), ns) {
					probs = append(probs, d.problem(pat+".namespaceSelector", "admits namespace %q to Knative function pods: only %s connect to them", ns, strings.Join(functionSourceNamespaces(), ", ")))
				}
			}
		}
		if !t.knative {
			if len(r.Ports) == 0 {
				probs = append(probs, d.problem(at+".ports", "empty: admits every port of the Kafka-only consumers, which serve only metrics (%v)", t.ports))
			}
			for k, p := range r.Ports {
				if p.Port == nil || !slices.Contains(t.ports, p.Port.IntValue()) {
					probs = append(probs, d.problem(fmt.Sprintf("%s.ports[%d]", at, k), "not a metrics port of the pods it selects (%v)", t.ports))
				}
			}
		}
	}
	return probs
}
