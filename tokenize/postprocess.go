package tokenize

import (
	"encoding/json"
	"fmt"
)

// postProcessor adds the special tokens around one sequence ([CLS] ... [SEP], <s> ... </s>) and
// assigns type ids. Pairs of sequences are not needed for classifying one tweet.
type postProcessor struct {
	prefix, prefixTypes []int64
	suffix, suffixTypes []int64
	seqType             int64
}

func (p postProcessor) added() int { return len(p.prefix) + len(p.suffix) }

func (p postProcessor) process(content []int64) Encoding {
	n := len(p.prefix) + len(content) + len(p.suffix)
	buf := make([]int64, 3*n)
	e := Encoding{IDs: buf[:0:n], AttentionMask: buf[n : 2*n : 2*n], TypeIDs: buf[2*n : 2*n : 3*n]}
	e.IDs = append(append(append(e.IDs, p.prefix...), content...), p.suffix...)
	for i := range e.AttentionMask {
		e.AttentionMask[i] = 1
	}
	e.TypeIDs = append(e.TypeIDs, p.prefixTypes...)
	for range content {
		e.TypeIDs = append(e.TypeIDs, p.seqType)
	}
	e.TypeIDs = append(e.TypeIDs, p.suffixTypes...)
	return e
}

// tokenPair is ["[CLS]", 101], as BertProcessing and RobertaProcessing write it.
type tokenPair struct {
	token string
	id    int64
}

func (t *tokenPair) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil || len(raw) != 2 {
		return fmt.Errorf("want [token, id], got %s", b)
	}
	if err := json.Unmarshal(raw[0], &t.token); err != nil {
		return fmt.Errorf("want [token, id], got %s", b)
	}
	if err := json.Unmarshal(raw[1], &t.id); err != nil {
		return fmt.Errorf("want [token, id], got %s", b)
	}
	return nil
}

func parsePostProcessor(raw json.RawMessage) (postProcessor, error) {
	typ, err := typeOf(raw)
	if err != nil {
		return postProcessor{}, err
	}
	switch typ {
	case "", "ByteLevel":
		return postProcessor{}, nil
	case "BertProcessing", "RobertaProcessing":
		var c struct {
			Sep *tokenPair `json:"sep"`
			Cls *tokenPair `json:"cls"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return postProcessor{}, fmt.Errorf("%s: %w", typ, err)
		}
		if c.Sep == nil || c.Cls == nil {
			return postProcessor{}, fmt.Errorf("%s: sep and cls are required", typ)
		}
		return postProcessor{prefix: []int64{c.Cls.id}, prefixTypes: []int64{0}, suffix: []int64{c.Sep.id}, suffixTypes: []int64{0}}, nil
	case "TemplateProcessing":
		var c struct {
			Single []struct {
				SpecialToken *struct {
					ID     string `json:"id"`
					TypeID int64  `json:"type_id"`
				} `json:"SpecialToken"`
				Sequence *struct {
					ID     string `json:"id"`
					TypeID int64  `json:"type_id"`
				} `json:"Sequence"`
			} `json:"single"`
			SpecialTokens map[string]struct {
				IDs []int64 `json:"ids"`
			} `json:"special_tokens"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return postProcessor{}, fmt.Errorf("TemplateProcessing: %w", err)
		}
		var p postProcessor
		seen := false
		for i, item := range c.Single {
			switch {
			case item.Sequence != nil:
				if seen {
					return p, fmt.Errorf("TemplateProcessing: single[%d]: a second sequence", i)
				}
				seen, p.seqType = true, item.Sequence.TypeID
			case item.SpecialToken != nil:
				st, ok := c.SpecialTokens[item.SpecialToken.ID]
				if !ok {
					return p, fmt.Errorf("TemplateProcessing: single[%d]: special token %q is not in special_tokens", i, item.SpecialToken.ID)
				}
				for _, id := range st.IDs {
					if seen {
						p.suffix, p.suffixTypes = append(p.suffix, id), append(p.suffixTypes, item.SpecialToken.TypeID)
					} else {
						p.prefix, p.prefixTypes = append(p.prefix, id), append(p.prefixTypes, item.SpecialToken.TypeID)
					}
				}
			default:
				return p, fmt.Errorf("TemplateProcessing: single[%d]: neither SpecialToken nor Sequence", i)
			}
		}
		if !seen {
			return p, fmt.Errorf("TemplateProcessing: single: no Sequence")
		}
		return p, nil
	case "Sequence":
		var c struct {
			Processors []json.RawMessage `json:"processors"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return postProcessor{}, fmt.Errorf("Sequence: %w", err)
		}
		var out postProcessor
		for i, r := range c.Processors {
			p, err := parsePostProcessor(r)
			if err != nil {
				return postProcessor{}, fmt.Errorf("Sequence: processors[%d]: %w", i, err)
			}
			if p.added() == 0 {
				continue
			}
			if out.added() > 0 {
				return postProcessor{}, fmt.Errorf("Sequence: processors[%d]: more than one processor adds special tokens", i)
			}
			out = p
		}
		return out, nil
	}
	return postProcessor{}, fmt.Errorf("type %q is not supported", typ)
}
