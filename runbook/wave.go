package runbook

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"
)

// Wave moves many VMs in one step: its steps run once per item, items in batches, with one rule
// for when the wave stops that counts failures over the whole wave (not per batch, the pitfall of
// Ansible's max_fail_percentage).
type Wave struct {
	Items              []Item     `yaml:"items" desc:"the VMs, each a name or a mapping with vm and more fields; every field is a var of that item's steps"`
	ItemsFile          string     `yaml:"items_file" desc:"a file of items instead: CSV with a header row (vm,...) or YAML (a list as in items); relative to the runbook file"`
	ItemsFrom          *ItemsFrom `yaml:"items_from" desc:"or find the VMs when the run starts: a vCenter folder or tag, or a NetBox query; what was found is journaled, and a resumed run moves those"`
	Serial             Amount     `yaml:"serial" desc:"items per batch: a number or a percentage of the wave (default: all in one batch)"`
	MaxParallelPerHost int        `yaml:"max_parallel_per_host" desc:"vMotions at once through one ESXi host, as source or destination (default 2, as vCenter's own limit per host is small)"`
	MaxFailures        Amount     `yaml:"max_failures" desc:"failed items the wave tolerates over the whole wave: a number or a percentage (default 0); one more stops it"`
	OnFailure          string     `yaml:"on_failure" desc:"what a failed item does: rollback_vm (default: that item's own rollback steps, the rest go on), rollback_batch (its whole batch), rollback_wave (every item moved so far) or stop (no rollback; no more batches)"`
	Steps              []Step     `yaml:"steps" required:"true" desc:"what each item goes through; {{ .vm }} and the item's other fields are vars here, and host: vm is the item's own guest"`
	Pos                Pos        `yaml:"-"`
}

// The failure rules of a wave.
const (
	RollbackVM    = "rollback_vm"
	RollbackBatch = "rollback_batch"
	RollbackWave  = "rollback_wave"
	WaveStop      = "stop"
)

// GuestHost names, in a wave's steps, the item's own guest: its host field (else vm) over SSH,
// with its user and port fields if given.
const GuestHost = "vm"

// Item is one VM of a wave. Key is its vm field, unique in the wave.
type Item struct {
	Key    string
	Fields map[string]string
	Source string // where it was written: runbook or items file, with line
	Pos    Pos
}

func (it *Item) decodeNode(d *decoder, n *yaml.Node, path string) {
	it.Pos = posOf(n)
	it.Fields = map[string]string{}
	switch n.Kind {
	case yaml.ScalarNode:
		if s, ok := d.scalar(n, path); ok {
			it.Fields["vm"] = s
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], d.resolve(n.Content[i+1])
			if v == nil {
				return
			}
			if _, dup := it.Fields[k.Value]; dup {
				d.fail(k, path+"."+k.Value, "field %q is given twice", k.Value)
				continue
			}
			if s, ok := d.scalar(v, path+"."+k.Value); ok {
				it.Fields[k.Value] = s
				it.Pos.Fields = append(it.Pos.Fields, FieldPos{Name: k.Value, Line: v.Line, Column: v.Column})
			}
		}
	default:
		d.fail(n, path, "want a VM name or a mapping with vm, got %s", describe(n))
		return
	}
	it.Key = it.Fields["vm"]
}

func (Item) jsonSchema(*schemaGen) map[string]any {
	return map[string]any{"oneOf": []any{
		map[string]any{"type": "string"},
		map[string]any{"type": "object", "required": []string{"vm"}, "additionalProperties": map[string]any{"type": []string{"string", "number", "boolean"}}},
	}}
}

// Amount is a count or a percentage of a wave's items.
type Amount struct {
	N       int
	Percent bool
	Set     bool
}

func (a *Amount) decodeNode(d *decoder, n *yaml.Node, path string) {
	s, ok := d.scalar(n, path)
	if !ok || isNull(n) {
		return
	}
	num, pct := strings.CutSuffix(strings.TrimSpace(s), "%")
	v, err := strconv.Atoi(num)
	if err != nil || v < 0 || (pct && v > 100) {
		d.fail(n, path, "want a number or a percentage such as 5 or 20%%, got %q", s)
		return
	}
	*a = Amount{N: v, Percent: pct, Set: true}
}

func (Amount) jsonSchema(*schemaGen) map[string]any {
	return map[string]any{"oneOf": []any{
		map[string]any{"type": "integer", "minimum": 0},
		map[string]any{"type": "string", "pattern": `^(100|[1-9]?[0-9])%$`},
	}}
}

// Of is the amount for a wave of n items: a percentage rounds down, as Ansible's serial does, but
// never below 1 for a batch.
func (a Amount) Of(n int) int {
	if !a.Percent {
		return a.N
	}
	return a.N * n / 100
}

func (a Amount) String() string {
	if a.Percent {
		return fmt.Sprintf("%d%%", a.N)
	}
	return strconv.Itoa(a.N)
}

// BatchSize is the wave's batch size for its items.
func (w *Wave) BatchSize() int {
	n := len(w.Items)
	if !w.Serial.Set {
		return max(n, 1)
	}
	return min(max(w.Serial.Of(n), 1), max(n, 1))
}

// FailureBudget is how many items may fail before the wave stops.
func (w *Wave) FailureBudget() int { return w.MaxFailures.Of(len(w.Items)) }

// Rule is the wave's failure rule.
func (w *Wave) Rule() string {
	if w.OnFailure == "" {
		return RollbackVM
	}
	return w.OnFailure
}

// ParallelPerHost is the vMotions allowed at once through one ESXi host.
func (w *Wave) ParallelPerHost() int {
	if w.MaxParallelPerHost <= 0 {
		return 2
	}
	return w.MaxParallelPerHost
}

// loadItems reads a wave's items_file, relative to the runbook file: CSV with a header row, or a
// YAML list. Errors name the items file and its line.
func loadItems(runbookFile string, w *Wave, l *errorList, path string) {
	if w.ItemsFile == "" {
		return
	}
	if w.Items != nil {
		l.add(w.Pos.Field("items_file"), path+".items_file", "give items or items_file, not both")
		return
	}
	p := w.ItemsFile
	if !filepath.IsAbs(p) {
		p = filepath.Join(filepath.Dir(runbookFile), p)
	}
	f, err := os.Open(p)
	if err != nil {
		l.add(w.Pos.Field("items_file"), path+".items_file", "%v", err)
		return
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil || len(data) > maxFile {
		l.add(w.Pos.Field("items_file"), path+".items_file", "%s: unreadable or larger than %d MiB", p, maxFile>>20)
		return
	}
	switch strings.ToLower(filepath.Ext(p)) {
	case ".csv":
		items, err := csvItems(p, data)
		if err != nil {
			l.add(w.Pos.Field("items_file"), path+".items_file", "%v", err)
			return
		}
		w.Items = items
	case ".yaml", ".yml":
		var root yaml.Node
		if err := yaml.Unmarshal(data, &root); err != nil {
			pos, msg := syntaxError(err)
			l.add(w.Pos.Field("items_file"), path+".items_file", "%s:%d:%d: %s", p, pos.Line, pos.Column, msg)
			return
		}
		n := &root
		if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
			n = n.Content[0]
		}
		sub := &decoder{errorList: errorList{file: p}}
		sub.decode(n, reflectOf(&w.Items), "items")
		for _, e := range sub.errs {
			l.add(w.Pos.Field("items_file"), path+".items_file", "%s:%d:%d: %s: %s", p, e.Line, e.Column, e.Field, e.Msg)
		}
		for i := range w.Items {
			w.Items[i].Source = fmt.Sprintf("%s:%d", p, w.Items[i].Pos.Line)
		}
	default:
		l.add(w.Pos.Field("items_file"), path+".items_file", "%s: want a .csv or .yaml file", p)
	}
}

// csvItems reads items from CSV: a header row naming the fields (vm among them), one item a row.
func csvItems(file string, data []byte) ([]Item, error) {
	r := csv.NewReader(strings.NewReader(string(data)))
	r.TrimLeadingSpace = true
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: no header row: %w", file, err)
	}
	for i, h := range header {
		header[i] = strings.TrimSpace(h)
	}
	if !slices.Contains(header, "vm") {
		return nil, fmt.Errorf("%s:1: the header row names no vm column (it has %s)", file, strings.Join(header, ", "))
	}
	var items []Item
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return items, nil
		}
		line, _ := r.FieldPos(0)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		it := Item{Fields: map[string]string{}, Source: fmt.Sprintf("%s:%d", file, line), Pos: Pos{Line: line, Column: 1}}
		for i, v := range rec {
			it.Fields[header[i]] = strings.TrimSpace(v)
		}
		it.Key = it.Fields["vm"]
		items = append(items, it)
	}
}

// wave checks a wave step's own rules; its steps are checked as steps, with the item's fields in
// scope.
func (v *validator) wave(s *Step, path string, rollback bool) {
	w := s.Wave
	wp := path + ".wave"
	if rollback {
		v.add(s.Pos.Field("wave"), wp, "a rollback step cannot be a wave")
		return
	}
	if v.inWave != nil {
		v.add(s.Pos.Field("wave"), wp, "a wave cannot hold a wave")
		return
	}
	if s.hasAction() || s.Watch != nil {
		v.add(s.Pos.Field("wave"), wp, "a wave step's action is its items' steps: move the %s into wave.steps", strings.Join(s.actionFields(), " and "))
	}
	if len(s.Rollback) > 0 {
		v.add(s.Pos.Field("rollback"), path+".rollback", "a wave is rolled back item by item: put rollback steps on the steps in wave.steps")
	}
	if w.ItemsFile == "" && len(w.Items) == 0 && w.ItemsFrom == nil {
		v.add(w.Pos, wp+".items", "a wave needs items (or items_file, or items_from)")
	}
	fields := map[string]bool{}
	if w.ItemsFrom != nil {
		v.itemsFrom(w, wp)
		for _, k := range w.ItemsFrom.fields() {
			fields[k] = true
		}
	}
	seen := map[string]string{}
	for i, it := range w.Items {
		ip := fmt.Sprintf("%s.items[%d]", wp, i)
		if msg := itemKeyProblem(it, seen); msg != "" {
			v.add(it.Pos, ip+".vm", "%s", msg)
		}
		where := it.where()
		for _, k := range slices.Sorted(maps.Keys(it.Fields)) {
			switch {
			case !identPattern.MatchString(k):
				v.add(it.Pos.Field(k), ip+"."+k, "item %s (%s): field %q: letters, digits and '_' only", it.Key, where, k)
			case v.declared(k) || slices.Contains(builtinVars, k) || slices.Contains(runtimeVars, k):
				v.add(it.Pos.Field(k), ip+"."+k, "item %s (%s): field %q would hide the runbook's own %s", it.Key, where, k, k)
			}
			fields[k] = true
		}
	}
	if w.ItemsFrom != nil {
		for _, k := range w.ItemsFrom.fields() {
			if v.declared(k) {
				v.add(w.ItemsFrom.Pos, wp+".items_from", "its items' field %s would hide the runbook's own var %s: rename the var", k, k)
			}
		}
	}
	if w.Serial.Set && w.Serial.N == 0 {
		v.add(w.Pos.Field("serial"), wp+".serial", "a batch of none moves nothing: want 1 or more, or a percentage")
	}
	if w.MaxParallelPerHost < 0 {
		v.add(w.Pos.Field("max_parallel_per_host"), wp+".max_parallel_per_host", "want 1 or more, got %d", w.MaxParallelPerHost)
	}
	switch w.OnFailure {
	case "", RollbackVM, RollbackBatch, RollbackWave, WaveStop:
	default:
		v.add(w.Pos.Field("on_failure"), wp+".on_failure", "want rollback_vm, rollback_batch, rollback_wave or stop, got %q%s", w.OnFailure,
			didYouMean(w.OnFailure, []string{RollbackVM, RollbackBatch, RollbackWave, WaveStop}))
	}
	if w.Steps != nil && len(w.Steps) == 0 {
		v.add(w.Pos.Field("steps"), wp+".steps", "no steps for the items")
	}
	v.inWave = fields
	for j := range w.Steps {
		v.step(&w.Steps[j], fmt.Sprintf("%s.steps[%d]", wp, j), j, false)
	}
	v.inWave = nil
}

func (v *validator) declared(name string) bool {
	_, ok := v.rb.Vars[name]
	return ok
}

// actionFields names the action fields a step has, for messages.
func (s *Step) actionFields() []string {
	var out []string
	for name, set := range map[string]bool{"command": s.Command != nil, "staged_restart": s.Restart != nil, "migrate": s.Migrate != nil, "watch": s.Watch != nil} {
		if set {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
