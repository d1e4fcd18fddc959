package shellctx

import (
	"regexp"
	"strings"
	"testing"
)

var ref = regexp.MustCompile(`\{\{ \.[a-z] \}\}`)

// contexts names the context of each reference in script, in order.
func contexts(script string) string {
	var spans [][2]int
	for _, l := range ref.FindAllStringIndex(script, -1) {
		spans = append(spans, [2]int{l[0], l[1]})
	}
	var out []string
	for _, r := range Analyze(script, spans) {
		out = append(out, names[r.Context])
	}
	return strings.Join(out, ",")
}

var names = map[Context]string{Word: "word", DoubleQuoted: "dq", Comment: "comment", Arithmetic: "arith",
	SingleQuoted: "sq", QuotedHeredoc: "qheredoc", Evaluated: "eval", Unsupported: "unsupported"}

func TestAnalyze(t *testing.T) {
	tests := []struct{ script, want string }{
		{`echo {{ .a }}`, "word"},
		{`echo x{{ .a }}y`, "word"},
		{`echo '{{ .a }}'`, "sq"},
		{`echo $'x{{ .a }}'`, "sq"},
		{`echo "x{{ .a }}"`, "dq"},
		{`echo 'it''s' {{ .a }}`, "word"},
		{`echo "say \"hi\"" {{ .a }}`, "word"},
		{`echo \' {{ .a }}`, "word"},
		{`echo \{{ .a }}`, "unsupported"},
		{`echo ${{ .a }}`, "unsupported"},
		{`echo "{{ .a }}" {{ .b }} '{{ .c }}'`, "dq,word,sq"},
		{`test "$(df -P {{ .a }} | awk '{print $4}')" -ge {{ .b }}`, "word,word"},
		{`echo "$(cat "{{ .a }}")"`, "dq"},
		{"echo \"`cat {{ .a }}`\"", "word"},
		{`echo "$( (cd {{ .a }}) )"`, "word"},
		{`echo '$({{ .a }})'`, "sq"},
		// comments
		{"# {{ .a }}\necho {{ .b }}", "comment,word"},
		{"echo x # {{ .a }}\n{{ .b }}", "comment,word"},
		{"echo x#{{ .a }}", "word"},
		// here-documents
		{"cat <<EOF\nbody {{ .a }}\nEOF\necho {{ .b }}", "dq,word"},
		{"cat <<-EOF\n\tbody {{ .a }}\n\tEOF\necho {{ .b }}", "dq,word"},
		{"cat <<'EOF'\nbody {{ .a }}\nEOF\necho {{ .b }}", "qheredoc,word"},
		{"cat <<\"EOF\"\n{{ .a }}\nEOF", "qheredoc"},
		{"cat <<\\EOF\n{{ .a }}\nEOF", "qheredoc"},
		{"cat <<E{{ .a }}\nx\nE", "unsupported"},
		{"cat <<EOF | sh\necho {{ .a }}\nEOF", "eval"},
		{"bash <<EOF\necho {{ .a }}\nEOF", "eval"},
		{"cat <<EOF\n$(echo {{ .a }})\nEOF", "word"},
		{"cat <<A; cat <<B\n{{ .a }}\nA\n{{ .b }}\nB\n{{ .c }}", "dq,dq,word"},
		{"cat <<<{{ .a }}", "word"},
		// arithmetic
		{`echo $(( {{ .a }} * 1024 ))`, "arith"},
		{`(( n = {{ .a }} + 1 ))`, "arith"},
		{`echo $[ {{ .a }} ]`, "arith"},
		{`let n={{ .a }}`, "arith"},
		{`declare -i n={{ .a }}`, "arith"},
		{`[[ {{ .a }} -eq 3 ]]`, "arith"},
		{`[[ {{ .a }} == x* && -n {{ .b }} ]]; echo {{ .c }}`, "word,word,word"},
		{`echo ${x:{{ .a }}:2}`, "arith"},
		{`echo ${x[{{ .a }}]}`, "arith"},
		{`a[{{ .a }}]=1`, "arith"},
		{`echo $(( $(echo {{ .a }}) + 1 ))`, "arith"},
		{`for (( i = 0; i < {{ .a }}; i++ )); do echo {{ .b }}; done`, "arith,word"},
		// parameter expansions
		{`echo ${x:-{{ .a }}} "${x#{{ .b }}}"`, "word,word"},
		{`echo ${{{ .a }}} ${!{{ .b }}}`, "unsupported,unsupported"},
		// evaluated strings
		{`eval {{ .a }}`, "eval"},
		{`eval "echo {{ .a }}"`, "eval"},
		{`trap "echo {{ .a }}" EXIT`, "eval"},
		{`sh -c "echo {{ .a }}"`, "eval"},
		{`/bin/bash -c {{ .a }}`, "eval"},
		{`sudo -u x bash -c {{ .a }}`, "eval"},
		{`echo {{ .a }} | sh`, "eval"},
		{`echo {{ .a }} | ssh host`, "eval"},
		{`eval "$(echo {{ .a }})"`, "eval"},
		{`awk "/{{ .a }}/"`, "eval"},
		{`sed -e "s/x/{{ .a }}/"`, "eval"},
		{`X={{ .a }} bash -c 'echo "$X"'`, "word"},
		{`find /var/log -name {{ .a }}`, "word"},
		{`xargs -n1 echo {{ .a }}`, "word"},
		{`python3 check.py {{ .a }}`, "word"},
		{`python3 -c "print('{{ .a }}')"`, "eval"},
		{`perl -ne "print if /{{ .a }}/" f`, "eval"},
		{`echo {{ .a }} | python3`, "eval"},
		{`echo {{ .a }} | python3 parse.py`, "word"},
		{"python3 - <<EOF\nprint('{{ .a }}')\nEOF", "eval"},
		{`env X={{ .a }} bash -c 'echo "$X"'`, "word"},
		{`export X={{ .a }}; bash -c 'echo "$X"'`, "word"},
		{`grep {{ .a }} f; sh -c 'true'`, "word"},
		{"grep {{ .a }} f\nsh -c true", "word"},
		{`grep {{ .a }} f && sh -c true`, "word"},
		// a value assigned to a variable, and the variable used where text runs or counts
		{`n={{ .a }}; echo $(( n + 1 ))`, "arith"},
		{`n={{ .a }}; echo $(( $n + 1 ))`, "arith"},
		{`n={{ .a }}; (( n > 3 ))`, "arith"},
		{`n={{ .a }}; let m=n+1`, "arith"},
		{`x={{ .a }}; [[ $x -gt 3 ]]`, "arith"},
		{`x={{ .a }}; echo ${y:x}`, "arith"},
		{`x={{ .a }}; eval "$x"`, "eval"},
		{`x={{ .a }}; echo "$x" | sh`, "eval"},
		{`export x={{ .a }}; bash -c "echo $x"`, "eval"},
		{`for f in {{ .a }}; do eval "$f"; done`, "eval"},
		{`read -r line <<< {{ .a }}; eval "$line"`, "eval"},
		{`x={{ .a }}; echo "$x" "${x}"; printf '%s' $x`, "word"},
		{`x={{ .a }}; bash -c 'echo "$x"'`, "word"},
		// a value naming a variable, or becoming an alias, a name reference, a sourced file
		{`read {{ .a }}`, "unsupported"},
		{`read -r x {{ .a }} <<< y`, "unsupported"},
		{`printf -v {{ .a }} %s x`, "unsupported"},
		{`read -p {{ .a }} -r x`, "word"},
		{"case x in y) read -r {{ .a }};; esac", "unsupported"},
		{"case {{ .a }} in y) read -r z;; esac", "word"},
		{`printf -v x %s {{ .a }}`, "word"},
		{`unset {{ .a }}`, "unsupported"},
		{`[[ -v {{ .a }} ]]`, "unsupported"},
		{`declare -n r={{ .a }}`, "eval"},
		{`alias x="{{ .a }}"`, "eval"},
		{`. {{ .a }}`, "eval"},
		{`source <(echo {{ .a }})`, "eval"},
		{`export X={{ .a }}`, "word"},
		// case
		{"case {{ .a }} in\n{{ .b }}) sh -c true;;\n(x|{{ .c }}) echo {{ .d }};;\nesac; echo {{ .e }}", "word,word,word,word,word"},
		{`echo $(case x in a) echo {{ .a }};; esac) {{ .b }}`, "word,word"},
		// unclosed
		{`echo "{{ .a }}`, "dq"},
		{`echo $(( {{ .a }}`, "arith"},
	}
	for _, tt := range tests {
		if got := contexts(tt.script); got != tt.want {
			t.Errorf("%q: got %s, want %s", tt.script, got, tt.want)
		}
	}
}

// Every span gets exactly one context, in order, whatever the script.
func FuzzAnalyze(f *testing.F) {
	for _, s := range []string{"echo {{ .a }}", "cat <<'E'\n{{ .a }}\nE", `$(( {{ .a }} ))`, `${x:-"{{ .a }}"}`, "case {{ .a }} in x) ;; esac"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, script string) {
		var spans [][2]int
		for _, l := range ref.FindAllStringIndex(script, -1) {
			spans = append(spans, [2]int{l[0], l[1]})
		}
		refs := Analyze(script, spans)
		if len(refs) != len(spans) {
			t.Fatalf("%d spans, %d refs", len(spans), len(refs))
		}
		for i, r := range refs {
			if r.Start != spans[i][0] || r.End != spans[i][1] {
				t.Fatalf("ref %d at %d-%d, span %v", i, r.Start, r.End, spans[i])
			}
		}
	})
}
