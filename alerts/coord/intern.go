package coord

// interner maps account ids to small integers, so actions and edges hold
// 4 bytes per account instead of a string, and an edge's key is one uint64.
// An id is freed (and reused) when nothing refers to it any more: held
// actions and edges each hold a reference, so the table is bounded by the
// state, not by the accounts ever seen.
type interner struct {
	ids     map[string]uint32
	names   []string
	handles []string
	tweets  []int // tweets observed while the id was live
	refs    []int32
	free    []uint32
}

func newInterner() interner { return interner{ids: map[string]uint32{}} }

// acquire returns name's id with one more reference, and records its latest
// handle.
func (in *interner) acquire(name, handle string) uint32 {
	id, ok := in.ids[name]
	if !ok {
		if n := len(in.free); n > 0 {
			id = in.free[n-1]
			in.free = in.free[:n-1]
			in.names[id], in.handles[id], in.tweets[id], in.refs[id] = name, "", 0, 0
		} else {
			id = uint32(len(in.names))
			in.names = append(in.names, name)
			in.handles = append(in.handles, "")
			in.tweets = append(in.tweets, 0)
			in.refs = append(in.refs, 0)
		}
		in.ids[name] = id
	}
	if handle != "" {
		in.handles[id] = handle
	}
	in.tweets[id]++
	in.refs[id]++
	return id
}

func (in *interner) ref(id uint32) { in.refs[id]++ }

func (in *interner) release(id uint32) {
	in.refs[id]--
	if in.refs[id] > 0 {
		return
	}
	delete(in.ids, in.names[id])
	in.names[id], in.handles[id] = "", ""
	in.free = append(in.free, id)
}

func (in *interner) live() int { return len(in.ids) }
