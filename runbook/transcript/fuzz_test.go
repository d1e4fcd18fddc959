package transcript

import (
	"bytes"
	"os"
	"testing"
)

// FuzzVerifyReader feeds arbitrary bytes to the verifier, which reads journals handed over by
// other people: it must never panic, and a report must be consistent.
func FuzzVerifyReader(f *testing.F) {
	_, signer := newKey(f)
	data, err := os.ReadFile(writeJournal(f, f.TempDir(), signer))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add(data[:len(data)/2])
	f.Add([]byte(`{"seq":1,"time":"","run":"r","type":"checkpoint","step":"","data":{},"prev":"` + string(bytes.Repeat([]byte("0"), 64)) + `","hash":"` + string(bytes.Repeat([]byte("0"), 64)) + `"}` + "\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := VerifyReader(bytes.NewReader(b), VerifyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Problem != nil && rep.Problem.Line != rep.Lines+1 {
			t.Fatalf("problem at line %d after %d good lines", rep.Problem.Line, rep.Lines)
		}
		if rep.OK() && !bytes.Equal(b, data) && rep.Lines > 0 && bytes.Contains(b, []byte(`"sig":"-----BEGIN`)) && rep.Checkpoints == 0 {
			t.Fatal("a journal with signatures passed without verifying any")
		}
	})
}
