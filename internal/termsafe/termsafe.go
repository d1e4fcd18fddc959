// Package termsafe makes text from hosts, vCenter, NetBox and journals safe to show: a control
// character becomes a visible escape, so output cannot move the cursor, overwrite a line, set the
// window title, write the clipboard (OSC 52) or reorder text (bidi overrides).
package termsafe

import (
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"
)

// Text returns s with every C0 control but tab, DEL, every C1 control, the bidi embedding and
// override characters and invalid UTF-8 written as escapes (\x1b, \n, \u202e, \xff).
func Text(s string) string {
	if clean(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case unsafe(r):
			if r < 0x100 {
				fmt.Fprintf(&b, `\x%02x`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func clean(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c >= 0x7f {
			return isCleanFrom(s, i)
		}
	}
	return true
}

// isCleanFrom checks the rest of s rune by rune once a byte outside printable ASCII is seen.
func isCleanFrom(s string, i int) bool {
	for _, r := range s[i:] {
		if r == utf8.RuneError || r == '\n' || r == '\r' || unsafe(r) {
			return false
		}
	}
	return utf8.ValidString(s[i:])
}

func unsafe(r rune) bool {
	return r < 0x20 && r != '\t' || r >= 0x7f && r < 0xa0 ||
		r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0x200e || r == 0x200f || r == 0x061c
}

// Value returns a copy of v with Text applied to every string in it: struct fields, slices, maps,
// through pointers and interfaces. It is for the data of events on their way to a screen.
func Value[T any](v T) T {
	rv := reflect.ValueOf(&v).Elem()
	out := reflect.New(rv.Type()).Elem()
	copyClean(out, rv)
	return out.Interface().(T)
}

func copyClean(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.String:
		dst.SetString(Text(src.String()))
	case reflect.Struct:
		dst.Set(src)
		for i := 0; i < src.NumField(); i++ {
			if dst.Field(i).CanSet() {
				copyClean(dst.Field(i), src.Field(i))
			}
		}
	case reflect.Slice:
		if src.IsNil() {
			return
		}
		dst.Set(reflect.MakeSlice(src.Type(), src.Len(), src.Len()))
		for i := 0; i < src.Len(); i++ {
			copyClean(dst.Index(i), src.Index(i))
		}
	case reflect.Array:
		for i := 0; i < src.Len(); i++ {
			copyClean(dst.Index(i), src.Index(i))
		}
	case reflect.Map:
		if src.IsNil() {
			return
		}
		dst.Set(reflect.MakeMapWithSize(src.Type(), src.Len()))
		it := src.MapRange()
		for it.Next() {
			k := reflect.New(src.Type().Key()).Elem()
			copyClean(k, it.Key())
			v := reflect.New(src.Type().Elem()).Elem()
			copyClean(v, it.Value())
			dst.SetMapIndex(k, v)
		}
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		p := reflect.New(src.Type().Elem())
		copyClean(p.Elem(), src.Elem())
		dst.Set(p)
	case reflect.Interface:
		if src.IsNil() {
			return
		}
		inner := reflect.New(src.Elem().Type()).Elem()
		copyClean(inner, src.Elem())
		dst.Set(inner)
	default:
		dst.Set(src)
	}
}
