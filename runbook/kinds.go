package runbook

import (
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/cutover/cutover/checks"
)

// kindSpec is the kind-specific part of a check: its fields, their validation, and how to build
// the runnable check once vars are known.
type kindSpec interface {
	validate(v *validator, c *CheckSpec, path string)
	build(c *CheckSpec, vals Values) (checks.Check, error)
}

// checkKind describes one check kind of the document.
type checkKind struct {
	doc string
	new func() kindSpec
}

// checkKinds is the catalogue of check kinds, built on each call so there is no shared state.
func checkKinds() map[string]checkKind {
	return map[string]checkKind{
		"command": {doc: "run a command; pass on the expected exit code and output patterns", new: func() kindSpec { return &commandKind{} }},
	}
}

func kindNames() []string {
	names := make([]string, 0, 8)
	for k := range checkKinds() {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

func (c *CheckSpec) decodeNode(d *decoder, n *yaml.Node, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "want a mapping, got %s", describe(n))
		return
	}
	var kindNode *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "kind" {
			kindNode = n.Content[i+1]
		}
	}
	if kindNode == nil {
		// Without a kind, other fields cannot be judged; decode the common ones for their errors.
		var others []string
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i].Value; !slices.ContainsFunc(structFields(reflect.TypeFor[CheckSpec]()), func(f field) bool { return f.name == k }) {
				others = append(others, k)
			}
		}
		d.decodeFields(n, path, []reflect.Value{reflectOf(c)}, others)
		return
	}
	kind, ok := d.scalar(kindNode, joinPath(path, "kind"))
	if !ok {
		return
	}
	k, ok := checkKinds()[kind]
	if !ok {
		d.fail(kindNode, joinPath(path, "kind"), "unknown check kind %q%s; known kinds: %s", kind, didYouMean(kind, kindNames()), strings.Join(kindNames(), ", "))
		return
	}
	c.Spec = k.new()
	d.decodeFields(n, path, []reflect.Value{reflectOf(c), reflect.ValueOf(c.Spec).Elem()}, nil)
}

func (CheckSpec) jsonSchema(g *schemaGen) map[string]any {
	var variants []any
	common := g.structSchema(reflect.TypeFor[CheckSpec]())
	for _, name := range kindNames() {
		k := checkKinds()[name]
		s := g.structSchema(reflect.TypeOf(k.new()).Elem())
		props := map[string]any{}
		for p, v := range common["properties"].(map[string]any) {
			props[p] = v
		}
		for p, v := range s["properties"].(map[string]any) {
			props[p] = v
		}
		props["kind"] = map[string]any{"const": name, "description": k.doc}
		required := []string{"kind"}
		if r, ok := s["required"].([]string); ok {
			required = append(required, r...)
		}
		variants = append(variants, map[string]any{
			"type": "object", "properties": props, "required": required, "additionalProperties": false,
		})
	}
	return map[string]any{"oneOf": variants}
}

func reflectOf(p any) reflect.Value { return reflect.ValueOf(p).Elem() }

// commandKind is the "command" check: a command with expected exit codes and output patterns.
type commandKind struct {
	CommandSpec `yaml:",inline"`
}
