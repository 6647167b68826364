package export

import (
	"fmt"
	"io"
	"reflect"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/tweetflow/tweetflow/aggregator/sink/sqlite"
)

// RowGroupRows is the default number of tweets in a Parquet row group
// (Options.RowGroupRows): the writer holds one row group in memory, so this
// bounds an export's memory (about 0.3 KB per tweet: ~30 MB) whatever the
// store's size.
const RowGroupRows = 100_000

// parquetEncoder writes the Parquet format (see Parquet). The model columns
// depend on the store, so the row type is a struct built at run time
// (reflect.StructOf): parquet-go keeps a struct's field order, where its
// map-based Group would sort the columns by name.
type parquetEncoder struct {
	out    io.Writer
	models []string
	group  int
	typ    reflect.Type
	w      *parquet.GenericWriter[any]
	row    reflect.Value
}

// The fixed columns' Go types and tags, in fieldColumns order.
var parquetFieldTypes = [len(fieldColumns)]struct {
	typ reflect.Type
	tag string
}{
	{reflect.TypeFor[string](), ""},
	{reflect.TypeFor[*string](), ",optional"},
	{reflect.TypeFor[string](), ""},
	{reflect.TypeFor[time.Time](), ",timestamp(millisecond)"},
	{reflect.TypeFor[string](), ""},
	{reflect.TypeFor[*string](), ",optional"},
	{reflect.TypeFor[*string](), ",optional"},
	{reflect.TypeFor[*string](), ",optional"},
	{reflect.TypeFor[*string](), ",optional"},
	{reflect.TypeFor[*string](), ",optional"},
	{reflect.TypeFor[[]string](), ",list"},
	{reflect.TypeFor[[]string](), ",list"},
	{reflect.TypeFor[[]string](), ",list"},
}

func newParquetEncoder(w io.Writer, models []string, rowGroup int) *parquetEncoder {
	if rowGroup <= 0 {
		rowGroup = RowGroupRows
	}
	return &parquetEncoder{out: w, models: models, group: rowGroup}
}

func (e *parquetEncoder) begin() error {
	fields := make([]reflect.StructField, 0, len(fieldColumns)+2*len(e.models))
	add := func(name string, typ reflect.Type, opts string) {
		fields = append(fields, reflect.StructField{
			Name: fmt.Sprintf("F%d", len(fields)), Type: typ,
			Tag: reflect.StructTag(`parquet:"` + name + opts + `"`),
		})
	}
	for i, c := range fieldColumns {
		add(c, parquetFieldTypes[i].typ, parquetFieldTypes[i].tag)
	}
	for _, m := range e.models {
		// Model names are identifiers (event.ValidModelName): nothing in
		// them can break the tag.
		add(m+"_value", reflect.TypeFor[*float64](), ",optional")
		add(m+"_label", reflect.TypeFor[*string](), ",optional")
	}
	e.typ = reflect.StructOf(fields)
	e.row = reflect.New(e.typ)
	schema := parquet.NewSchema("tweet", parquet.SchemaOf(e.row.Interface()))
	e.w = parquet.NewGenericWriter[any](e.out, schema,
		parquet.Compression(&parquet.Snappy),
		parquet.MaxRowsPerRowGroup(int64(e.group)),
		parquet.CreatedBy("tweetflow export", "", ""),
	)
	return nil
}

func (e *parquetEncoder) tweet(t sqlite.Tweet) error {
	v := e.row.Elem()
	v.SetZero()
	opt, ls := optionalFields(&t), lists(&t)
	optional := func(i int, s string) {
		if s != "" {
			v.Field(i).Set(reflect.ValueOf(&s))
		}
	}
	v.Field(0).SetString(t.ID)
	optional(1, opt[0])
	v.Field(2).SetString(t.User)
	v.Field(3).Set(reflect.ValueOf(t.CreatedAt.UTC()))
	v.Field(4).SetString(t.Text)
	for i, s := range opt[1:] {
		optional(5+i, s)
	}
	for i, l := range ls {
		v.Field(10 + i).Set(reflect.ValueOf(l))
	}
	for i, m := range e.models {
		if r, ok := t.Results[m]; ok {
			value := r.Value
			v.Field(len(fieldColumns) + 2*i).Set(reflect.ValueOf(&value))
			optional(len(fieldColumns)+2*i+1, r.Label)
		}
	}
	if _, err := e.w.Write([]any{e.row.Interface()}); err != nil {
		return fmt.Errorf("parquet: %w", err)
	}
	return nil
}

func (e *parquetEncoder) end() error {
	if err := e.w.Close(); err != nil {
		return fmt.Errorf("parquet: %w", err)
	}
	return nil
}
