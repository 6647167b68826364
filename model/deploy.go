package model

import (
	"fmt"
	"regexp"
	"strconv"
)

// DeploySpec is model.yaml's optional deploy block: how `make deploy-model`
// sizes the model's Knative function (scripts/deploy-model.sh reads it;
// MEMORY_REQUEST, MEMORY_LIMIT, SCALE_TARGET and CONTAINER_CONCURRENCY in
// the environment override it, and it overrides the size rule). Empty or
// zero fields keep the rule's figure.
type DeploySpec struct {
	// MemoryRequest and MemoryLimit are the container's memory, a whole
	// number of Mi or Gi (the only forms the script renders).
	MemoryRequest string `json:"memory_request,omitempty"`
	MemoryLimit   string `json:"memory_limit,omitempty"`
	// ScaleTarget is the KPA's target of requests in flight per pod.
	ScaleTarget int `json:"scale_target,omitempty"`
	// ContainerConcurrency is the hard limit of requests in flight per pod.
	ContainerConcurrency int `json:"container_concurrency,omitempty"`
}

var memoryQuantity = regexp.MustCompile(`^([1-9][0-9]{0,8})(Mi|Gi)$`)

// mebibytes is a checked memory quantity in MiB.
func mebibytes(q string) (int, bool) {
	m := memoryQuantity.FindStringSubmatch(q)
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return 0, false
	}
	if m[2] == "Gi" {
		n *= 1024
	}
	return n, true
}

// check validates the block; errors name the field.
func (d *DeploySpec) check() error {
	mib := map[string]int{}
	for _, f := range []struct{ field, v string }{{"deploy.memory_request", d.MemoryRequest}, {"deploy.memory_limit", d.MemoryLimit}} {
		if f.v == "" {
			continue
		}
		n, ok := mebibytes(f.v)
		if !ok {
			return fmt.Errorf("field %s: %q is not a whole number of Mi or Gi (like 512Mi or 2Gi)", f.field, f.v)
		}
		mib[f.field] = n
	}
	if r, l := mib["deploy.memory_request"], mib["deploy.memory_limit"]; r > 0 && l > 0 && l < r {
		return fmt.Errorf("field deploy.memory_limit: %s is below deploy.memory_request %s", d.MemoryLimit, d.MemoryRequest)
	}
	for _, f := range []struct {
		field string
		v     int
	}{{"deploy.scale_target", d.ScaleTarget}, {"deploy.container_concurrency", d.ContainerConcurrency}} {
		if f.v < 0 {
			return fmt.Errorf("field %s: %d is negative (omit it for the default)", f.field, f.v)
		}
	}
	if d.ScaleTarget > 0 && d.ContainerConcurrency > 0 && d.ScaleTarget > d.ContainerConcurrency {
		return fmt.Errorf("field deploy.scale_target: %d is above deploy.container_concurrency %d (a pod never holds more than that)", d.ScaleTarget, d.ContainerConcurrency)
	}
	return nil
}
