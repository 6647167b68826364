package scorer

import (
	"errors"
	"fmt"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"
)

// TensorInfo describes a graph input or output.
type TensorInfo struct {
	Name string
	// ElemType is the ONNX TensorProto.DataType (1 float, 7 int64), 0 if the
	// value is not a tensor.
	ElemType int
	// Dims holds each dimension's fixed size, or -1 for a symbolic or
	// unknown one.
	Dims []int64
}

// GraphInfo is what Load checks in an ONNX file before starting a session.
type GraphInfo struct {
	Inputs, Outputs []TensorInfo
	Metadata        map[string]string
	// GatherRows maps a graph input to the rows of the initializer a Gather
	// node indexes with it (a transformer's input_ids -> its word
	// embedding's vocabulary size): the largest id the graph accepts, where
	// the file says so. Absent when no Gather reads the input directly.
	GatherRows map[string]int64
}

// ONNX element types the spec's tensors must have.
const (
	onnxFloat  = 1
	onnxString = 8
	onnxInt64  = 7
)

func elemTypeName(t int) string {
	switch t {
	case 0:
		return "not a tensor"
	case onnxFloat:
		return "float"
	case onnxInt64:
		return "int64"
	case onnxString:
		return "string"
	}
	return fmt.Sprintf("ONNX type %d", t)
}

// ReadGraphInfo decodes the graph inputs, outputs and metadata_props of an
// ONNX ModelProto (onnx/onnx.proto3 field numbers). Reading them here, rather
// than through ONNX Runtime's helpers, avoids building two extra sessions per
// load (each helper call creates one) and keeps Load within its time budget.
// Initializers listed among the inputs (IR < 4 style) are left out.
func ReadGraphInfo(b []byte) (*GraphInfo, error) {
	info := &GraphInfo{Metadata: map[string]string{}, GatherRows: map[string]int64{}}
	var graph []byte
	sawGraph := false
	err := walk(b, func(num protowire.Number, typ protowire.Type, v []byte) error {
		switch {
		case num == 7 && typ == protowire.BytesType:
			graph, sawGraph = v, true
		case num == 14 && typ == protowire.BytesType:
			var k, val string
			if err := walk(v, func(n protowire.Number, t protowire.Type, x []byte) error {
				if t == protowire.BytesType && n == 1 {
					k = string(x)
				} else if t == protowire.BytesType && n == 2 {
					val = string(x)
				}
				return nil
			}); err != nil {
				return fmt.Errorf("metadata_props: %w", err)
			}
			info.Metadata[k] = val
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ModelProto: %w", err)
	}
	if !sawGraph {
		return nil, errors.New("ModelProto: no graph")
	}
	var initializers []string
	rows := map[string]int64{}     // initializer name -> dims[0]
	gathers := map[string]string{} // Gather indices -> data
	err = walk(graph, func(num protowire.Number, typ protowire.Type, v []byte) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 1: // node: NodeProto, input = 1, op_type = 4
			var ins []string
			var op string
			if err := walk(v, func(n protowire.Number, t protowire.Type, x []byte) error {
				if t == protowire.BytesType && n == 1 {
					ins = append(ins, string(x))
				} else if t == protowire.BytesType && n == 4 {
					op = string(x)
				}
				return nil
			}); err != nil {
				return fmt.Errorf("node: %w", err)
			}
			if op == "Gather" && len(ins) == 2 {
				gathers[ins[1]] = ins[0]
			}
		case 5: // initializer: TensorProto, dims = 1, name = 8
			var name string
			dim0 := int64(-1)
			err := walk(v, func(n protowire.Number, t protowire.Type, x []byte) error {
				switch {
				case n == 8 && t == protowire.BytesType:
					name = string(x)
				case n == 1 && t == protowire.VarintType && dim0 < 0:
					d, _ := protowire.ConsumeVarint(x)
					dim0 = int64(d)
				case n == 1 && t == protowire.BytesType && dim0 < 0: // packed
					d, m := protowire.ConsumeVarint(x)
					if m < 0 {
						return fmt.Errorf("dims: %w", protowire.ParseError(m))
					}
					dim0 = int64(d)
				}
				return nil
			})
			if err != nil {
				return err
			}
			initializers = append(initializers, name)
			if dim0 >= 0 {
				rows[name] = dim0
			}
			return nil
		case 11, 12:
			ti, err := readValueInfo(v)
			if err != nil {
				return err
			}
			if num == 11 {
				info.Inputs = append(info.Inputs, ti)
			} else {
				info.Outputs = append(info.Outputs, ti)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("GraphProto: %w", err)
	}
	info.Inputs = slices.DeleteFunc(info.Inputs, func(t TensorInfo) bool { return slices.Contains(initializers, t.Name) })
	for _, in := range info.Inputs {
		if r, ok := rows[gathers[in.Name]]; ok {
			info.GatherRows[in.Name] = r
		}
	}
	return info, nil
}

func readValueInfo(b []byte) (TensorInfo, error) {
	var ti TensorInfo
	err := walk(b, func(num protowire.Number, typ protowire.Type, v []byte) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 1:
			ti.Name = string(v)
		case 2: // TypeProto; tensor_type = 1
			return walk(v, func(n protowire.Number, t protowire.Type, tensor []byte) error {
				if n != 1 || t != protowire.BytesType {
					return nil
				}
				return walk(tensor, func(n protowire.Number, t protowire.Type, x []byte) error {
					switch {
					case n == 1 && t == protowire.VarintType:
						val, _ := protowire.ConsumeVarint(x)
						ti.ElemType = int(val)
					case n == 2 && t == protowire.BytesType: // TensorShapeProto; dim = 1
						return walk(x, func(n protowire.Number, t protowire.Type, dim []byte) error {
							if n != 1 || t != protowire.BytesType {
								return nil
							}
							size := int64(-1)
							err := walk(dim, func(n protowire.Number, t protowire.Type, d []byte) error {
								if n == 1 && t == protowire.VarintType {
									val, _ := protowire.ConsumeVarint(d)
									size = int64(val)
								}
								return nil
							})
							ti.Dims = append(ti.Dims, size)
							return err
						})
					}
					return nil
				})
			})
		}
		return nil
	})
	if err != nil {
		return ti, fmt.Errorf("ValueInfoProto %q: %w", ti.Name, err)
	}
	return ti, nil
}

// walk calls fn for each field of a protobuf message. For varint fields v
// holds the varint's encoding; for bytes fields, the payload. Groups and
// malformed input are errors.
func walk(b []byte, fn func(num protowire.Number, typ protowire.Type, v []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("bad tag: %w", protowire.ParseError(n))
		}
		b = b[n:]
		var v []byte
		switch typ {
		case protowire.BytesType:
			x, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return fmt.Errorf("field %d: %w", num, protowire.ParseError(m))
			}
			v, n = x, m
		default:
			m := protowire.ConsumeFieldValue(num, typ, b)
			if m < 0 {
				return fmt.Errorf("field %d: %w", num, protowire.ParseError(m))
			}
			v, n = b[:m], m
		}
		if err := fn(num, typ, v); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}
