package train

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"
)

// Graph is the linear hashed-feature classifier as an ONNX graph:
//
//	probabilities = Softmax(Σ_f values[n, f] · table[indices[n, f]] + bias)
//
// The weighted sum over features is a batched MatMul of values as [batch, 1,
// features] with the gathered rows [batch, features, classes]: the same sum as
// Mul + ReduceSum, but ONNX Runtime runs it about twice as fast (measured at
// batch 64: 176k vs 84k tweets per CPU-second for 250 features, 2^18 buckets).
//
// indices int64 [batch, features], values float32 [batch, features] (0 for
// padding), table float32 [buckets, classes], probabilities [batch, classes].
type Graph struct {
	Table   []float32 // row-major [Buckets][Classes]
	Bias    []float32 // [Classes]
	Buckets int
	Classes int
	// Tensor names.
	Indices, Values, Output string
	// Metadata is written as the model's metadata_props.
	Metadata map[string]string
	// DocString describes the model.
	DocString string
}

// ONNX enum values and field numbers (onnx/onnx.proto3). Only what this graph
// needs is written, with protowire, so no generated ONNX package is needed.
const (
	irVersion = 8 // ONNX 1.10+, ORT >= 1.10
	opset     = 13

	dtFloat = 1
	dtInt64 = 7

	attrFloat = 1
	attrInt   = 2
)

// MarshalONNX encodes g as an ONNX ModelProto.
func MarshalONNX(g Graph) ([]byte, error) {
	if g.Buckets <= 0 || g.Classes < 2 || len(g.Table) != g.Buckets*g.Classes || len(g.Bias) != g.Classes {
		return nil, fmt.Errorf("onnx: inconsistent graph: buckets %d, classes %d, table %d, bias %d",
			g.Buckets, g.Classes, len(g.Table), len(g.Bias))
	}
	if g.Indices == "" || g.Values == "" || g.Output == "" {
		return nil, fmt.Errorf("onnx: tensor names must be set")
	}
	var graph []byte
	// Nodes.
	graph = msg(graph, 1, node("gather", "Gather", []string{"table", g.Indices}, []string{"rows"}, intAttr("axis", 0)))
	graph = msg(graph, 1, node("unsqueeze", "Unsqueeze", []string{g.Values, "axis1"}, []string{"weights"}))
	graph = msg(graph, 1, node("matmul", "MatMul", []string{"weights", "rows"}, []string{"summed3"}))
	graph = msg(graph, 1, node("squeeze", "Squeeze", []string{"summed3", "axis1"}, []string{"summed"}))
	graph = msg(graph, 1, node("bias", "Add", []string{"summed", "bias"}, []string{"logits"}))
	graph = msg(graph, 1, node("softmax", "Softmax", []string{"logits"}, []string{g.Output}, intAttr("axis", -1)))
	graph = protowire.AppendTag(graph, 2, protowire.BytesType)
	graph = protowire.AppendString(graph, "tweetflow_linear")
	// Initializers.
	graph = msg(graph, 5, floatTensor("table", []int64{int64(g.Buckets), int64(g.Classes)}, g.Table))
	graph = msg(graph, 5, floatTensor("bias", []int64{int64(g.Classes)}, g.Bias))
	graph = msg(graph, 5, int64Tensor("axis1", []int64{1}, []int64{1}))
	// Inputs and output.
	graph = msg(graph, 11, valueInfo(g.Indices, dtInt64, dimParam("batch"), dimParam("features")))
	graph = msg(graph, 11, valueInfo(g.Values, dtFloat, dimParam("batch"), dimParam("features")))
	graph = msg(graph, 12, valueInfo(g.Output, dtFloat, dimParam("batch"), dimValue(int64(g.Classes))))

	var m []byte
	m = protowire.AppendTag(m, 1, protowire.VarintType)
	m = protowire.AppendVarint(m, irVersion)
	m = str(m, 2, "tweetflow")
	m = str(m, 3, "1")
	if g.DocString != "" {
		m = str(m, 6, g.DocString)
	}
	m = msg(m, 7, graph)
	var op []byte
	op = str(op, 1, "")
	op = protowire.AppendTag(op, 2, protowire.VarintType)
	op = protowire.AppendVarint(op, opset)
	m = msg(m, 8, op)
	for _, k := range sortedKeys(g.Metadata) {
		var kv []byte
		kv = str(kv, 1, k)
		kv = str(kv, 2, g.Metadata[k])
		m = msg(m, 14, kv)
	}
	return m, nil
}

func msg(b []byte, field protowire.Number, m []byte) []byte {
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendBytes(b, m)
}

func str(b []byte, field protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func node(name, op string, in, out []string, attrs ...[]byte) []byte {
	var n []byte
	for _, s := range in {
		n = str(n, 1, s)
	}
	for _, s := range out {
		n = str(n, 2, s)
	}
	n = str(n, 3, name)
	n = str(n, 4, op)
	for _, a := range attrs {
		n = msg(n, 5, a)
	}
	return n
}

func intAttr(name string, v int64) []byte {
	var a []byte
	a = str(a, 1, name)
	a = protowire.AppendTag(a, 3, protowire.VarintType)
	a = protowire.AppendVarint(a, uint64(v))
	a = protowire.AppendTag(a, 20, protowire.VarintType)
	return protowire.AppendVarint(a, attrInt)
}

func floatTensor(name string, dims []int64, data []float32) []byte {
	raw := make([]byte, 4*len(data)) // raw_data is little-endian
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return tensor(name, dims, dtFloat, raw)
}

func int64Tensor(name string, dims []int64, data []int64) []byte {
	raw := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	return tensor(name, dims, dtInt64, raw)
}

// tensor is a TensorProto: dims (1), data_type (2), name (8), raw_data (9).
func tensor(name string, dims []int64, dataType uint64, raw []byte) []byte {
	var t []byte
	for _, d := range dims {
		t = protowire.AppendTag(t, 1, protowire.VarintType)
		t = protowire.AppendVarint(t, uint64(d))
	}
	t = protowire.AppendTag(t, 2, protowire.VarintType)
	t = protowire.AppendVarint(t, dataType)
	t = str(t, 8, name)
	return msg(t, 9, raw)
}

type dim []byte

func dimParam(name string) dim { return dim(str(nil, 2, name)) }

func dimValue(v int64) dim {
	b := protowire.AppendTag(nil, 1, protowire.VarintType)
	return dim(protowire.AppendVarint(b, uint64(v)))
}

func valueInfo(name string, elem int, dims ...dim) []byte {
	var shape []byte
	for _, d := range dims {
		shape = msg(shape, 1, d)
	}
	var tensor []byte
	tensor = protowire.AppendTag(tensor, 1, protowire.VarintType)
	tensor = protowire.AppendVarint(tensor, uint64(elem))
	tensor = msg(tensor, 2, shape)
	typ := msg(nil, 1, tensor)
	var v []byte
	v = str(v, 1, name)
	return msg(v, 2, typ)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
