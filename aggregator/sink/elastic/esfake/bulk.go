package esfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"time"
)

// bulkMeta is the metadata of one bulk action line (docs-bulk.html#bulk-api-request-body).
type bulkMeta struct {
	Index           string `json:"_index"`
	ID              string `json:"_id"`
	Routing         string `json:"routing"`
	RetryOnConflict *int   `json:"retry_on_conflict"`
	IfSeqNo         *int64 `json:"if_seq_no"`
	IfPrimaryTerm   *int64 `json:"if_primary_term"`
	RequireAlias    bool   `json:"require_alias"`
	Version         *int64 `json:"version"`
	VersionType     string `json:"version_type"`
	Pipeline        string `json:"pipeline"`
}

// updateBody is the body line of an update action (docs-update.html#docs-update-api-request-body).
type updateBody struct {
	Doc            map[string]any `json:"doc"`
	DocAsUpsert    bool           `json:"doc_as_upsert"`
	Upsert         map[string]any `json:"upsert"`
	DetectNoop     *bool          `json:"detect_noop"`
	Script         any            `json:"script"`
	ScriptedUpsert bool           `json:"scripted_upsert"`
	Source         any            `json:"_source"`
}

type bulkOp struct {
	action string
	meta   bulkMeta
	source map[string]any // index, create
	update *updateBody
	// parseErr is a per-item error found while parsing (a bad source line).
	parseErr *esError
}

type shards struct {
	Total      int `json:"total"`
	Successful int `json:"successful"`
	Failed     int `json:"failed"`
}

// bulkItem is one entry of the bulk response's items
// (docs-bulk.html#bulk-api-response-body).
type bulkItem struct {
	Index       string         `json:"_index"`
	ID          string         `json:"_id"`
	Version     int64          `json:"_version,omitempty"`
	Result      string         `json:"result,omitempty"`
	Shards      *shards        `json:"_shards,omitempty"`
	SeqNo       *int64         `json:"_seq_no,omitempty"`
	PrimaryTerm int64          `json:"_primary_term,omitempty"`
	Status      int            `json:"status"`
	Error       map[string]any `json:"error,omitempty"`
}

// parseBulk splits the NDJSON body into operations. A malformed action line
// fails the whole request, as Elasticsearch does; the body must end with a
// newline (docs-bulk.html: "The final line of data must end with a newline
// character \n").
func parseBulk(defaultIndex string, body []byte) ([]bulkOp, *esError) {
	if len(body) == 0 {
		return nil, errf(400, "action_request_validation_exception", "Validation Failed: 1: no requests added;")
	}
	if body[len(body)-1] != '\n' {
		return nil, errf(400, "illegal_argument_exception", "The bulk request must be terminated by a newline [\\n]")
	}
	var ops []bulkOp
	lineNo := 0
	next := func() []byte {
		for len(body) > 0 {
			i := bytes.IndexByte(body, '\n')
			line := body[:i]
			body = body[i+1:]
			lineNo++
			if len(bytes.TrimSpace(line)) > 0 {
				return line
			}
		}
		return nil
	}
	for {
		line := next()
		if line == nil {
			break
		}
		// One decode per action line; unknown actions and unknown metadata
		// parameters are refused, as Elasticsearch does.
		var action struct {
			Index, Create, Update, Delete *bulkMeta
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&action); err != nil {
			return nil, errf(400, "illegal_argument_exception", "Malformed action/metadata line [%d], expected one of [create], [delete], [index] or [update] with known parameters: %v", lineNo, err)
		}
		var op bulkOp
		n := 0
		for _, a := range [...]struct {
			name string
			m    *bulkMeta
		}{{"index", action.Index}, {"create", action.Create}, {"update", action.Update}, {"delete", action.Delete}} {
			if a.m != nil {
				op.action, op.meta = a.name, *a.m
				n++
			}
		}
		if n != 1 {
			return nil, errf(400, "illegal_argument_exception", "Malformed action/metadata line [%d], expected exactly one action", lineNo)
		}
		if op.meta.Index == "" {
			op.meta.Index = defaultIndex
		}
		if op.meta.Index == "" {
			return nil, errf(400, "action_request_validation_exception", "Validation Failed: 1: index is missing;")
		}
		if len(op.meta.ID) > 512 {
			// BulkRequest.validate merges every item's validation, so one
			// long _id fails the whole request, not its item.
			return nil, errf(400, "action_request_validation_exception", "Validation Failed: 1: id [%s] is too long, must be no longer than 512 bytes but was: %d;", op.meta.ID, len(op.meta.ID))
		}
		if op.action == "delete" {
			if op.meta.ID == "" {
				return nil, errf(400, "action_request_validation_exception", "Validation Failed: 1: id is missing;")
			}
			ops = append(ops, op)
			continue
		}
		src := next()
		if src == nil {
			return nil, errf(400, "illegal_argument_exception", "The bulk request must be terminated by a newline [\\n]")
		}
		if op.action == "update" {
			if op.meta.ID == "" {
				return nil, errf(400, "action_request_validation_exception", "Validation Failed: 1: id is missing;")
			}
			var ub updateBody
			dec := json.NewDecoder(bytes.NewReader(src))
			dec.UseNumber()
			dec.DisallowUnknownFields()
			if err := dec.Decode(&ub); err != nil {
				return nil, errf(400, "x_content_parse_exception", "[1:2] [UpdateRequest] failed to parse line [%d]: %v", lineNo, err)
			}
			op.update = &ub
		} else {
			dec := json.NewDecoder(bytes.NewReader(src))
			dec.UseNumber()
			if err := dec.Decode(&op.source); err != nil || op.source == nil {
				op.parseErr = &esError{Status: 400, Type: "document_parsing_exception", Reason: fmt.Sprintf("[1:1] failed to parse: line [%d]: not a JSON object", lineNo)}
			}
		}
		ops = append(ops, op)
	}
	if len(ops) == 0 {
		return nil, errf(400, "action_request_validation_exception", "Validation Failed: 1: no requests added;")
	}
	return ops, nil
}

// bulk handles POST /_bulk and /{index}/_bulk (docs-bulk.html): one
// response item per action, in request order; errors is true when any item
// failed; ?refresh makes the writes visible to search before answering.
func (s *Server) bulk(defaultIndex string, body []byte, q url.Values) (any, int, *esError) {
	start := time.Now()
	if defaultIndex != "" {
		if err := ValidateIndexName(defaultIndex); err != nil {
			return nil, 0, invalidIndexName(defaultIndex, err)
		}
	}
	ops, perr := parseBulk(defaultIndex, body)
	if perr != nil {
		return nil, 0, perr
	}
	items := make([]map[string]*bulkItem, len(ops))
	anyErr := false

	s.mu.Lock()
	s.stats.BulkRequests++
	s.stats.BulkItems += len(ops)
	touched := map[*index]bool{}
	for i := range ops {
		op := &ops[i]
		it := s.applyOp(op)
		if it.Error != nil {
			anyErr = true
			s.stats.FailedItems++
		}
		if ix := s.indices[op.meta.Index]; ix != nil {
			touched[ix] = true
		}
		items[i] = map[string]*bulkItem{op.action: it}
	}
	if boolParam(q, "refresh") {
		for ix := range touched {
			ix.refresh()
		}
	}
	s.mu.Unlock()
	return map[string]any{"took": time.Since(start).Milliseconds(), "errors": anyErr, "items": items}, 200, nil
}

func itemError(it *bulkItem, e *esError) *bulkItem {
	it.Status = e.Status
	if e.Index == "" {
		e.Index = it.Index
	}
	it.Error = e.object()
	if it.ID != "" {
		// Per-item errors carry the shard as well (docs-bulk.html example).
		it.Error["shard"] = "0"
	}
	return it
}

// itemFault is the per-item error for an injected status.
func itemFault(status int, id string) *esError {
	switch status {
	case 429:
		return errf(429, "es_rejected_execution_exception", "rejected execution of primary operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, primary_operation_bytes=1, max_coordinating_and_primary_bytes=1]")
	case 409:
		return errf(409, "version_conflict_engine_exception", "[%s]: version conflict, required seqNo [1], primary term [1]. current document has seqNo [2] and primary term [1]", id)
	case 503:
		return errf(503, "unavailable_shards_exception", "[tweetflow][0] primary shard is not active Timeout: [1m]")
	case 400:
		return errf(400, "document_parsing_exception", "[1:2] failed to parse: document %s refused (injected)", id)
	case 403:
		// An operator's write block (index.blocks.write); the flood-stage
		// disk block answers 429 since 7.x.
		return errf(403, "cluster_block_exception", "index [tweetflow] blocked by: [FORBIDDEN/8/index write (api)];")
	}
	return errf(status, "exception", "injected failure with status %d", status)
}

// applyOp applies one action. Caller holds mu.
func (s *Server) applyOp(op *bulkOp) *bulkItem {
	it := &bulkItem{Index: op.meta.Index, ID: op.meta.ID}
	if s.itemFault != nil {
		if st := s.itemFault(op.action, op.meta.Index, op.meta.ID); st != 0 {
			return itemError(it, itemFault(st, op.meta.ID))
		}
	}
	if op.parseErr != nil {
		return itemError(it, op.parseErr)
	}
	ix := s.indices[op.meta.Index]
	if ix == nil {
		if op.meta.RequireAlias {
			return itemError(it, errf(404, "index_not_found_exception", "no such index [%s] and [require_alias] request flag is [true] and [%s] is not an alias", op.meta.Index, op.meta.Index))
		}
		if op.action == "delete" || (op.action == "update" && !op.update.DocAsUpsert && op.update.Upsert == nil) {
			// Deleting or updating in a missing index does not create it.
			return itemError(it, indexNotFound(op.meta.Index))
		}
		// Automatic index creation (docs-index_.html#index-creation),
		// applying matching templates.
		var err *esError
		if ix, err = s.createIndex(op.meta.Index, nil, nil); err != nil {
			return itemError(it, err)
		}
	}
	if op.meta.ID == "" {
		// docs-index_.html: POST without an id auto-generates one.
		ix.seqNo++
		op.meta.ID = fmt.Sprintf("auto%020d", ix.seqNo)
		it.ID = op.meta.ID
	}
	cur := ix.docs[op.meta.ID]
	if op.meta.IfSeqNo != nil || op.meta.IfPrimaryTerm != nil {
		// optimistic-concurrency-control.html.
		if op.meta.IfSeqNo == nil || op.meta.IfPrimaryTerm == nil {
			return itemError(it, errf(400, "action_request_validation_exception", "Validation Failed: 1: ifSeqNo is set, but primary term is [0];"))
		}
		if cur == nil || cur.seqNo != *op.meta.IfSeqNo || *op.meta.IfPrimaryTerm != primaryTerm {
			curSeq, curTerm := int64(-2), int64(0)
			if cur != nil {
				curSeq, curTerm = cur.seqNo, primaryTerm
			}
			return itemError(it, errf(409, "version_conflict_engine_exception", "[%s]: version conflict, required seqNo [%d], primary term [%d]. current document has seqNo [%d] and primary term [%d]", op.meta.ID, *op.meta.IfSeqNo, *op.meta.IfPrimaryTerm, curSeq, curTerm))
		}
	}
	switch op.action {
	case "index", "create":
		if op.action == "create" && cur != nil {
			return itemError(it, errf(409, "version_conflict_engine_exception", "[%s]: version conflict, document already exists (current version [%d])", op.meta.ID, cur.version))
		}
		return s.store(ix, it, cur, op.source)
	case "delete":
		if cur == nil {
			// docs-bulk.html: deleting a missing document is reported with
			// status 404 and result not_found, without an error object.
			ix.seqNo++
			seq := ix.seqNo
			it.Version, it.Result, it.Status, it.SeqNo, it.PrimaryTerm = 1, "not_found", 404, &seq, primaryTerm
			it.Shards = &shards{Total: 2, Successful: 1}
			return it
		}
		delete(ix.docs, op.meta.ID)
		ix.dirty[op.meta.ID] = struct{}{}
		ix.seqNo++
		seq := ix.seqNo
		it.Version, it.Result, it.Status, it.SeqNo, it.PrimaryTerm = cur.version+1, "deleted", 200, &seq, primaryTerm
		it.Shards = &shards{Total: 2, Successful: 1}
		return it
	case "update":
		u := op.update
		if u.Script != nil {
			// The fake cannot run Painless update scripts.
			return itemError(it, errf(400, "illegal_argument_exception", "esfake: update scripts are not emulated"))
		}
		if u.Doc == nil && u.Upsert == nil {
			return itemError(it, errf(400, "action_request_validation_exception", "Validation Failed: 1: script or doc is missing;"))
		}
		if cur == nil {
			// docs-update.html#doc_as_upsert / #upserts.
			switch {
			case u.DocAsUpsert && u.Doc != nil:
				return s.store(ix, it, nil, u.Doc)
			case u.Upsert != nil:
				return s.store(ix, it, nil, u.Upsert)
			}
			return itemError(it, &esError{Status: 404, Type: "document_missing_exception", Reason: "[" + op.meta.ID + "]: document missing", Index: ix.name})
		}
		// docs-update.html#_update_part_of_a_document: the partial doc is
		// merged into the existing one (objects recursively, other values
		// replaced); with detect_noop (the default) an update that changes
		// nothing is a noop.
		if (u.DetectNoop == nil || *u.DetectNoop) && !changes(cur.source, u.Doc) {
			seq := cur.seqNo
			it.Version, it.Result, it.Status, it.SeqNo, it.PrimaryTerm = cur.version, "noop", 200, &seq, primaryTerm
			it.Shards = &shards{}
			return it
		}
		merged := deepCopy(cur.source).(map[string]any)
		mergeDoc(merged, u.Doc)
		return s.store(ix, it, cur, merged)
	}
	return itemError(it, errf(400, "illegal_argument_exception", "unknown action %s", op.action))
}

// store validates src against the mapping and stores it as the new version.
func (s *Server) store(ix *index, it *bulkItem, cur *doc, src map[string]any) *bulkItem {
	if err := ix.checkSource(it.ID, src); err != nil {
		s.stats.MappingErrors++
		return itemError(it, err)
	}
	ix.seqNo++
	d := &doc{source: src, version: 1, seqNo: ix.seqNo}
	it.Result, it.Status = "created", 201
	if cur != nil {
		d.version = cur.version + 1
		it.Result, it.Status = "updated", 200
	}
	ix.docs[it.ID] = d
	ix.dirty[it.ID] = struct{}{}
	seq := d.seqNo
	it.Version, it.SeqNo, it.PrimaryTerm = d.version, &seq, primaryTerm
	it.Shards = &shards{Total: 2, Successful: 1}
	return it
}

// changes reports whether merging partial into src would change it: the
// noop detection of docs-update.html#_detect_noop_updates, without copying.
func changes(src, partial map[string]any) bool {
	for k, v := range partial {
		cur, ok := src[k]
		if !ok {
			return true
		}
		if pm, isMap := v.(map[string]any); isMap {
			cm, curIsMap := cur.(map[string]any)
			if !curIsMap || changes(cm, pm) {
				return true
			}
			continue
		}
		if !reflect.DeepEqual(cur, v) {
			return true
		}
	}
	return false
}

func mergeDoc(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				mergeDoc(dm, sm)
				continue
			}
			dst[k] = deepCopy(sm)
			continue
		}
		dst[k] = deepCopy(v)
	}
}

// getDoc handles GET /{index}/_doc/{id} (docs-get.html): realtime, from the
// live documents; a missing document is 404 with found:false (not an error
// envelope); a missing index is index_not_found_exception.
func (s *Server) getDoc(name, id string) (any, int, *esError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ix := s.indices[name]
	if ix == nil {
		return nil, 0, indexNotFound(name)
	}
	return docResponse(ix, id)
}

func docResponse(ix *index, id string) (map[string]any, int, *esError) {
	d := ix.docs[id]
	if d == nil {
		return map[string]any{"_index": ix.name, "_id": id, "found": false}, 404, nil
	}
	return map[string]any{"_index": ix.name, "_id": id, "_version": d.version, "_seq_no": d.seqNo, "_primary_term": primaryTerm, "found": true, "_source": deepCopy(d.source)}, 200, nil
}

// mget handles /_mget and /{index}/_mget (docs-multi-get.html).
func (s *Server) mget(defaultIndex string, body []byte) (any, int, *esError) {
	var req struct {
		Docs []struct {
			Index string `json:"_index"`
			ID    string `json:"_id"`
		} `json:"docs"`
		IDs []string `json:"ids"`
	}
	if err := decodeJSON(body, &req); err != nil {
		return nil, 0, err
	}
	for _, id := range req.IDs {
		req.Docs = append(req.Docs, struct {
			Index string `json:"_index"`
			ID    string `json:"_id"`
		}{defaultIndex, id})
	}
	if len(req.Docs) == 0 {
		return nil, 0, errf(400, "action_request_validation_exception", "Validation Failed: 1: no documents to get;")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]any, 0, len(req.Docs))
	for _, d := range req.Docs {
		idx := d.Index
		if idx == "" {
			idx = defaultIndex
		}
		ix := s.indices[idx]
		if ix == nil {
			e := indexNotFound(idx)
			out = append(out, map[string]any{"_index": idx, "_id": d.ID, "error": e.object()})
			continue
		}
		r, _, _ := docResponse(ix, d.ID)
		out = append(out, r)
	}
	return map[string]any{"docs": out}, 200, nil
}
