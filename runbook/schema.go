package runbook

import (
	"encoding/json"
	"reflect"
	"strings"
)

// schemaer is implemented by types whose JSON Schema is not that of a plain struct.
type schemaer interface {
	jsonSchema(g *schemaGen) map[string]any
}

// schemaGen derives a JSON Schema from the document's Go types, the same types and tags the
// loader decodes with, so the schema cannot drift from what Load accepts.
type schemaGen struct {
	defs map[string]any
}

// Schema returns the JSON Schema (draft-07: what yaml-language-server validates) of a runbook
// file, for editors and
// yaml-language-server.
func Schema() ([]byte, error) {
	g := &schemaGen{defs: map[string]any{}}
	root := g.structSchema(reflect.TypeFor[Document]())
	root["$schema"] = "http://json-schema.org/draft-07/schema#"
	root["$id"] = "https://cutover.dev/schema/runbooks-v1.json"
	root["title"] = "cutover runbooks"
	root["definitions"] = g.defs
	root["properties"].(map[string]any)["version"] = map[string]any{"const": 1, "description": "format version; must be 1"}
	return json.MarshalIndent(root, "", "  ")
}

func (g *schemaGen) typeSchema(t reflect.Type) map[string]any {
	if s, ok := reflect.New(t).Elem().Interface().(schemaer); ok {
		return s.jsonSchema(g)
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.typeSchema(t.Elem())
	case reflect.Struct:
		name := t.Name()
		if _, ok := g.defs[name]; !ok {
			g.defs[name] = true // placeholder: breaks recursion (Step.Rollback is []Step)
			g.defs[name] = g.structSchema(t)
		}
		return map[string]any{"$ref": "#/definitions/" + name}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": g.typeSchema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.typeSchema(t.Elem())}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Int:
		return map[string]any{"type": "integer"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	}
	panic("runbook: no schema for " + t.String())
}

// structSchema is the object schema of a struct's yaml fields, ignoring any schemaer on t itself.
func (g *schemaGen) structSchema(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	g.addFields(t, props, &required)
	s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

func (g *schemaGen) addFields(t reflect.Type, props map[string]any, required *[]string) {
	for i := range t.NumField() {
		sf := t.Field(i)
		name, opts, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if opts == "inline" {
			g.addFields(sf.Type, props, required)
			continue
		}
		if name == "" || name == "-" {
			continue
		}
		p := g.typeSchema(sf.Type)
		if d := sf.Tag.Get("desc"); d != "" {
			p = withDescription(p, d)
		}
		props[name] = p
		if sf.Tag.Get("required") == "true" {
			*required = append(*required, name)
		}
	}
}

// withDescription adds a description without touching a shared $ref object.
func withDescription(s map[string]any, d string) map[string]any {
	out := make(map[string]any, len(s)+1)
	for k, v := range s {
		out[k] = v
	}
	out["description"] = d
	return out
}
