package runbook

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"
)

// maxNodes bounds how many YAML nodes one file may expand to, so aliases cannot blow up memory.
const maxNodes = 1 << 20

// nodeDecoder is implemented by types whose YAML form is not a plain struct (a value that may be a
// scalar or a mapping, a mapping whose fields depend on its kind).
type nodeDecoder interface {
	decodeNode(d *decoder, n *yaml.Node, path string)
}

// decoder walks a yaml.Node tree into Go values strictly: unknown fields, wrong types, duplicate
// keys and missing required fields are all collected, each with its position, instead of stopping
// at the first.
type decoder struct {
	errorList
	nodes  int
	fields map[reflect.Type]*fieldSet // per struct type, worked out once: a file may hold 100,000 steps
}

// fieldSet is a struct type's yaml fields, by name.
type fieldSet struct {
	list   []field
	byName map[string]field
}

func (d *decoder) fieldsOf(t reflect.Type) *fieldSet {
	if fs, ok := d.fields[t]; ok {
		return fs
	}
	if d.fields == nil {
		d.fields = map[reflect.Type]*fieldSet{}
	}
	fs := &fieldSet{list: structFields(t), byName: map[string]field{}}
	for _, f := range fs.list {
		fs.byName[f.name] = f
	}
	d.fields[t] = fs
	return fs
}

func posOf(n *yaml.Node) Pos { return Pos{Line: n.Line, Column: n.Column} }

func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	d.add(posOf(n), path, format, args...)
}

// resolve follows aliases and counts nodes; it returns nil once the file is too large.
func (d *decoder) resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	d.nodes++
	if d.nodes == maxNodes {
		d.fail(n, "", "document expands to more than %d nodes (alias loop?)", maxNodes)
	}
	if d.nodes >= maxNodes {
		return nil
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// decode fills v from n.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if n = d.resolve(n); n == nil {
		return
	}
	if v.CanAddr() {
		if nd, ok := v.Addr().Interface().(nodeDecoder); ok {
			nd.decodeNode(d, n, path)
			return
		}
	}
	if isNull(n) && v.Kind() != reflect.Pointer {
		return // an empty value leaves the zero value; required fields are checked by the mapping
	}
	switch v.Kind() {
	case reflect.Pointer:
		if isNull(n) {
			return
		}
		p := reflect.New(v.Type().Elem())
		d.decode(n, p.Elem(), path)
		v.Set(p)
	case reflect.Struct:
		d.decodeStruct(n, path, v)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(n, path, "want a list, got %s", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.Map:
		d.decodeMap(n, v, path)
	case reflect.String:
		if s, ok := d.scalar(n, path); ok {
			v.SetString(s)
		}
	case reflect.Int:
		if s, ok := d.scalar(n, path); ok {
			i, err := strconv.Atoi(s)
			if err != nil || n.Tag != "!!int" {
				d.fail(n, path, "want a whole number, got %s", describe(n))
				return
			}
			v.SetInt(int64(i))
		}
	case reflect.Bool:
		if s, ok := d.scalar(n, path); ok {
			if n.Tag != "!!bool" {
				d.fail(n, path, "want true or false, got %s", describe(n))
				return
			}
			v.SetBool(s == "true" || s == "True" || s == "TRUE")
		}
	default:
		panic(fmt.Sprintf("runbook: cannot decode into %s", v.Type()))
	}
}

// scalar returns a scalar's text, or records an error for a list or mapping.
func (d *decoder) scalar(n *yaml.Node, path string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, path, "want a single value, got %s", describe(n))
		return "", false
	}
	return n.Value, true
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	if n.Tag == "!!null" {
		return "nothing"
	}
	return strconv.Quote(n.Value)
}

// decodeMap fills a map[string]T, refusing duplicate keys.
func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "want a mapping, got %s", describe(n))
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key, ok := d.scalar(k, path)
		if !ok {
			continue
		}
		sub := path + "." + key
		if seen[key] {
			d.fail(k, sub, "defined twice")
			continue
		}
		seen[key] = true
		e := reflect.New(v.Type().Elem()).Elem()
		d.decode(val, e, sub)
		m.SetMapIndex(reflect.ValueOf(key), e)
	}
	v.Set(m)
}

// field is one YAML key of a struct, found through its yaml tag; embedded ",inline" structs
// contribute their fields.
type field struct {
	name     string
	index    []int
	required bool
}

func structFields(t reflect.Type) []field {
	var out []field
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if opts == "inline" {
			for _, f := range structFields(sf.Type) {
				f.index = append([]int{i}, f.index...)
				out = append(out, f)
			}
			continue
		}
		if name == "" || name == "-" || !sf.IsExported() {
			continue
		}
		out = append(out, field{name: name, index: []int{i}, required: sf.Tag.Get("required") == "true"})
	}
	return out
}

// decodeStruct fills v's yaml-tagged fields from a mapping.
func (d *decoder) decodeStruct(n *yaml.Node, path string, v reflect.Value) {
	d.decodeFields(n, path, []reflect.Value{v}, nil)
}

// decodeFields fills the fields of several structs from one mapping: a key may belong to any of
// them, and a key that belongs to none is an error. skip names keys handled by the caller. The
// first struct's Pos field, if any, receives the positions.
func (d *decoder) decodeFields(n *yaml.Node, path string, targets []reflect.Value, skip []string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "want a mapping, got %s%s", describe(n), d.mappingHint(n, targets))
		return
	}
	sets := make([]*fieldSet, len(targets))
	for i, t := range targets {
		sets[i] = d.fieldsOf(t.Type())
	}
	// lookup finds the struct a key belongs to; the last target wins, as a later one may refine.
	lookup := func(key string) (reflect.Value, field, bool) {
		for i := len(sets) - 1; i >= 0; i-- {
			if f, ok := sets[i].byName[key]; ok {
				return targets[i], f, true
			}
		}
		return reflect.Value{}, field{}, false
	}
	pos := posOf(n)
	pos.Fields = make([]FieldPos, 0, len(n.Content)/2)
	var seen map[string]bool // a hostile mapping may hold 100,000 keys: look them up in a map then
	if len(n.Content) > 64 {
		seen = map[string]bool{}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key, ok := d.scalar(k, path)
		if !ok {
			continue
		}
		sub := joinPath(path, key)
		if dup := seen[key]; dup || seen == nil && hasField(pos.Fields, key) {
			d.fail(k, sub, "defined twice")
			continue
		}
		pos.Fields = append(pos.Fields, FieldPos{Name: key, Line: val.Line, Column: val.Column})
		if seen != nil {
			seen[key] = true
		}
		if slices.Contains(skip, key) {
			continue
		}
		tv, f, ok := lookup(key)
		if !ok {
			if key == "<<" {
				d.fail(k, sub, "merge keys are not supported; repeat the fields or use a var")
				continue
			}
			var names []string
			for _, fs := range sets {
				for _, f := range fs.list {
					names = append(names, f.name)
				}
			}
			d.fail(k, sub, "unknown field%s", didYouMean(key, names))
			continue
		}
		d.decode(val, tv.FieldByIndex(f.index), sub)
	}
	for i, fs := range sets {
		for _, f := range fs.list {
			if tv, owner, _ := lookup(f.name); f.required && owner.name == f.name && tv == targets[i] {
				if _, ok := pos.lookup(f.name); !ok {
					d.fail(n, joinPath(path, f.name), "required field is missing")
				}
			}
		}
	}
	if p := targets[0].FieldByName("Pos"); p.IsValid() && p.Type() == reflect.TypeFor[Pos]() {
		p.Set(reflect.ValueOf(pos))
	}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func hasField(fields []FieldPos, name string) bool {
	for _, f := range fields {
		if f.Name == name {
			return true
		}
	}
	return false
}

// mappingHint says, for a lone value where a mapping is wanted, which fields the mapping takes
// and how the value was likely meant: command: "echo hi" is command: {run: "echo hi"}.
func (d *decoder) mappingHint(n *yaml.Node, targets []reflect.Value) string {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" || len(targets) == 0 {
		return ""
	}
	var names []string
	first := ""
	for _, t := range targets {
		for _, f := range d.fieldsOf(t.Type()).list {
			names = append(names, f.name)
			if f.required && first == "" {
				first = f.name
			}
		}
	}
	if len(names) == 0 {
		return ""
	}
	hint := "; its fields: " + strings.Join(names, ", ")
	if first != "" {
		hint += fmt.Sprintf(" (did you mean {%s: %s}?)", first, strconv.Quote(n.Value))
	}
	return hint
}
