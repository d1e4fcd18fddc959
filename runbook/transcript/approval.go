package transcript

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"

	"github.com/cutover/cutover/runbook"
)

// ApprovalNamespace is the SSHSIG namespace of sign-offs, apart from the journal's own so that one
// kind of signature can never stand in for the other.
const ApprovalNamespace = "cutover-approval"

// approvalDir is where approvers drop their signatures for a running journal.
func approvalDir(journal string) string { return strings.TrimSuffix(journal, ".jsonl") + ".approvals" }

func messageID(msg string) string {
	sum := sha256.Sum256([]byte(msg))
	return hex.EncodeToString(sum[:6])
}

// Approve signs the pending approval request of step in a running journal with the approver's
// key and leaves the signature where the run picks it up. The run's own key cannot approve.
func Approve(journal, step string, signer *Signer) (string, error) {
	events, err := ReadEvents(journal)
	if err != nil {
		return "", err
	}
	msg := ""
	for _, ev := range events {
		switch d := ev.Data.(type) {
		case runbook.ApprovalRequest:
			if ev.Step == step {
				msg = d.Message
			}
		case runbook.CheckpointData:
			if d.Key != "" && d.Key == signer.PublicKey() {
				return "", fmt.Errorf("approve: %s signs this run's journal: an approval needs another person's key", signer.Fingerprint())
			}
		case runbook.RunEndData:
			return "", errors.New("approve: the run already ended")
		}
	}
	if msg == "" {
		return "", fmt.Errorf("approve: the run has not asked for approval of step %q", step)
	}
	sig, err := sshsig.Sign(bytes.NewReader([]byte(msg)), signer.key, sshsig.HashSHA512, ApprovalNamespace)
	if err != nil {
		return "", fmt.Errorf("approve with %s: %w", signer, err)
	}
	dir := approvalDir(journal)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", err
	}
	name := filepath.Join(dir, messageID(msg)+"-"+strings.NewReplacer("/", "_", "+", "-", ":", "_").Replace(signer.Fingerprint())+".sig")
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, sshsig.Armor(sig), 0o644); err != nil {
		return "", err
	}
	return name, os.Rename(tmp, name)
}

// Approvals collects sign-offs for a running journal from its approvals directory.
type Approvals struct {
	Journal  string
	Operator string // the run's signing key (authorized_keys form): it cannot approve
	Trust    *Trust // when set, approvers must be trusted for the approval namespace
	Poll     time.Duration
}

var _ runbook.Approvals = Approvals{}

// Wait returns once needed distinct keys have signed msg, each checked.
func (a Approvals) Wait(ctx context.Context, msg string, needed int) ([]runbook.ApprovalData, error) {
	poll := a.Poll
	if poll <= 0 {
		poll = 500 * time.Millisecond
	}
	pattern := filepath.Join(approvalDir(a.Journal), messageID(msg)+"-*.sig")
	seen := map[string]runbook.ApprovalData{}
	for {
		files, _ := filepath.Glob(pattern)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			d, err := checkApproval(msg, b, a.Operator, a.Trust)
			if err != nil {
				continue // a bad or foreign signature is not an approval; the run keeps waiting
			}
			seen[d.Fingerprint] = d
		}
		if len(seen) >= needed {
			var out []runbook.ApprovalData
			for _, d := range seen {
				out = append(out, d)
			}
			return out[:needed], nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(poll):
		}
	}
}

// checkApproval verifies one sign-off.
func checkApproval(msg string, armored []byte, operator string, trust *Trust) (runbook.ApprovalData, error) {
	sig, err := sshsig.Unarmor(armored)
	if err != nil {
		return runbook.ApprovalData{}, err
	}
	if err := sshsig.Verify(bytes.NewReader([]byte(msg)), sig, sig.PublicKey, sig.HashAlgorithm, ApprovalNamespace); err != nil {
		return runbook.ApprovalData{}, err
	}
	key := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sig.PublicKey)))
	if key == operator {
		return runbook.ApprovalData{}, errors.New("the operator cannot approve their own run")
	}
	if trust != nil {
		if _, err := trust.Check(sig.PublicKey, ApprovalNamespace); err != nil {
			return runbook.ApprovalData{}, fmt.Errorf("approver: %w", err)
		}
	}
	return runbook.ApprovalData{Message: msg, Key: key, Fingerprint: ssh.FingerprintSHA256(sig.PublicKey), Sig: string(armored)}, nil
}
