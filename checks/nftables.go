package checks

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// nftables as nft -j list ruleset describes it: the base chains on the input hook and their rules.
// A packet is accepted only if every input base chain accepts it (a drop in any one drops it), so
// a port is allowed when each chain, rule by rule in order and then by its policy, lets it through.

// NFT is a parsed nft -j ruleset.
type NFT struct {
	Chains []NFTChain
}

// NFTChain is a base chain on the input hook, with its rules in order.
type NFTChain struct {
	Family, Table, Name, Policy string
	Rules                       []NFTRule
}

// NFTRule is a rule reduced to what decides a new inbound connection: the protocol and ports it
// matches, the other conditions it has (source address, interface…, shown, not judged), and its
// verdict.
type NFTRule struct {
	Handle     int
	Proto      string   // tcp, udp; "" for any
	Ports      [][2]int // dport ranges; nil for any
	Conditions []string // matches other than the protocol and port, e.g. "ip saddr == 10.0.0.0/8"
	Verdict    string   // accept, drop, reject, jump X, goto X; "" when the rule decides nothing
	NotNew     bool     // matches only established/related traffic
}

func (c NFTChain) String() string { return c.Family + " " + c.Table + " " + c.Name }

// ParseNFTJSON reads nft -j list ruleset.
func ParseNFTJSON(text string) (NFT, error) {
	var doc struct {
		Nftables []map[string]json.RawMessage `json:"nftables"`
	}
	if err := json.Unmarshal([]byte(text), &doc); err != nil {
		return NFT{}, fmt.Errorf("nft -j: %w", err)
	}
	var n NFT
	index := map[string]int{}
	for _, obj := range doc.Nftables {
		if raw, ok := obj["chain"]; ok {
			var ch struct {
				Family, Table, Name, Type, Hook, Policy string
			}
			if err := json.Unmarshal(raw, &ch); err != nil {
				return NFT{}, fmt.Errorf("nft -j chain: %w", err)
			}
			if ch.Hook != "input" || ch.Type != "filter" || !slices.Contains([]string{"inet", "ip", "ip6"}, ch.Family) {
				continue
			}
			if ch.Policy == "" {
				ch.Policy = "accept" // nft's default policy
			}
			index[ch.Family+"\x00"+ch.Table+"\x00"+ch.Name] = len(n.Chains)
			n.Chains = append(n.Chains, NFTChain{Family: ch.Family, Table: ch.Table, Name: ch.Name, Policy: ch.Policy})
		}
		if raw, ok := obj["rule"]; ok {
			var r struct {
				Family, Table, Chain string
				Handle               int
				Expr                 []map[string]json.RawMessage
			}
			if err := json.Unmarshal(raw, &r); err != nil {
				return NFT{}, fmt.Errorf("nft -j rule: %w", err)
			}
			i, ok := index[r.Family+"\x00"+r.Table+"\x00"+r.Chain]
			if !ok {
				continue // a rule of a chain that is not an input base chain (nft lists chains first)
			}
			n.Chains[i].Rules = append(n.Chains[i].Rules, parseNFTRule(r.Handle, r.Expr))
		}
	}
	return n, nil
}

func parseNFTRule(handle int, exprs []map[string]json.RawMessage) NFTRule {
	r := NFTRule{Handle: handle}
	for _, e := range exprs {
		for kind, raw := range e {
			switch kind {
			case "match":
				r.match(raw)
			case "accept", "drop":
				r.Verdict = kind
			case "reject":
				r.Verdict = "reject"
			case "jump", "goto":
				var t struct{ Target string }
				json.Unmarshal(raw, &t)
				r.Verdict = kind + " " + t.Target
			case "counter", "log", "limit", "meter", "notrack", "mangle", "quota":
				// statements that decide nothing about a new connection's fate
			default:
				r.Conditions = append(r.Conditions, kind)
			}
		}
	}
	return r
}

// match reads one match expression into the rule.
func (r *NFTRule) match(raw json.RawMessage) {
	var m struct {
		Op    string
		Left  map[string]json.RawMessage
		Right json.RawMessage
	}
	if json.Unmarshal(raw, &m) != nil {
		r.Conditions = append(r.Conditions, "an unreadable match")
		return
	}
	if p, ok := m.Left["payload"]; ok {
		var pl struct{ Protocol, Field string }
		json.Unmarshal(p, &pl)
		if pl.Field == "dport" && (pl.Protocol == "tcp" || pl.Protocol == "udp" || pl.Protocol == "th") && (m.Op == "==" || m.Op == "in") {
			if pl.Protocol != "th" {
				r.Proto = pl.Protocol
			}
			if ports, ok := portRanges(m.Right); ok {
				r.Ports = append(r.Ports, ports...)
				return
			}
		}
		if (pl.Protocol == "tcp" || pl.Protocol == "udp") && pl.Field != "dport" {
			r.Proto = pl.Protocol
		}
		r.Conditions = append(r.Conditions, fmt.Sprintf("%s %s %s %s", pl.Protocol, pl.Field, m.Op, compact(m.Right)))
		return
	}
	if k, ok := m.Left["meta"]; ok {
		var mk struct{ Key string }
		json.Unmarshal(k, &mk)
		var v string
		if mk.Key == "l4proto" && json.Unmarshal(m.Right, &v) == nil && m.Op == "==" && (v == "tcp" || v == "udp") {
			r.Proto = v
			return
		}
		r.Conditions = append(r.Conditions, fmt.Sprintf("meta %s %s %s", mk.Key, m.Op, compact(m.Right)))
		return
	}
	if k, ok := m.Left["ct"]; ok {
		var ck struct{ Key string }
		json.Unmarshal(k, &ck)
		if ck.Key == "state" {
			var states []string
			var one string
			if json.Unmarshal(m.Right, &states) != nil && json.Unmarshal(m.Right, &one) == nil {
				states = []string{one}
			}
			if (m.Op == "==" || m.Op == "in") && !slices.Contains(states, "new") && len(states) > 0 {
				r.NotNew = true
				return
			}
		}
		r.Conditions = append(r.Conditions, fmt.Sprintf("ct %s %s %s", ck.Key, m.Op, compact(m.Right)))
		return
	}
	r.Conditions = append(r.Conditions, fmt.Sprintf("%s %s %s", compactMap(m.Left), m.Op, compact(m.Right)))
}

// portRanges reads a dport match's right side: a number, a range, or a set of either.
func portRanges(raw json.RawMessage) ([][2]int, bool) {
	var n int
	if json.Unmarshal(raw, &n) == nil {
		return [][2]int{{n, n}}, true
	}
	var rg struct{ Range [2]int }
	if json.Unmarshal(raw, &rg) == nil && rg.Range != [2]int{} {
		return [][2]int{rg.Range}, true
	}
	var set struct{ Set []json.RawMessage }
	if json.Unmarshal(raw, &set) == nil && set.Set != nil {
		var out [][2]int
		for _, item := range set.Set {
			p, ok := portRanges(item)
			if !ok {
				return nil, false
			}
			out = append(out, p...)
		}
		return out, true
	}
	return nil, false
}

func compact(raw json.RawMessage) string {
	s := strings.Join(strings.Fields(string(raw)), "")
	if len(s) > 60 {
		s = s[:57] + "…"
	}
	return s
}

func compactMap(m map[string]json.RawMessage) string {
	b, _ := json.Marshal(m)
	return compact(b)
}

// applies tells whether the rule's protocol and port matches take a new connection to port/proto.
func (r NFTRule) applies(port int, proto string) bool {
	if r.NotNew || (r.Proto != "" && r.Proto != proto) {
		return false
	}
	if r.Ports == nil {
		return true
	}
	for _, p := range r.Ports {
		if port >= p[0] && port <= p[1] {
			return true
		}
	}
	return false
}

// Decide follows a new inbound connection to port/proto through every input base chain. It is
// allowed when every chain accepts it; how says which rule or policy decided in each chain, and
// names conditions (source addresses, interfaces) that were shown, not judged. A jump it cannot
// follow is an error: no verdict rather than a guess.
func (n NFT) Decide(port int, proto string) (bool, string, error) {
	if len(n.Chains) == 0 {
		return true, "no nftables input chain: nothing is filtered", nil
	}
	allowed := true
	var how []string
	for _, c := range n.Chains {
		verdict, why := "", ""
		var notes []string
		for _, r := range c.Rules {
			if r.Verdict == "" || !r.applies(port, proto) {
				continue
			}
			if strings.HasPrefix(r.Verdict, "jump ") || strings.HasPrefix(r.Verdict, "goto ") {
				return false, "", fmt.Errorf("firewall: %s rule %d %ss for %d/%s; cutover does not follow jumps: check it by hand", c, r.Handle, r.Verdict, port, proto)
			}
			if len(r.Conditions) > 0 {
				// It decides for some traffic only (a source, an interface): the rest goes on to
				// the next rules. Allowed means allowed for any source, so a conditional accept
				// is named, not counted.
				notes = append(notes, fmt.Sprintf("rule %d %ss it only where %s", r.Handle, r.Verdict, strings.Join(r.Conditions, " and ")))
				continue
			}
			verdict, why = r.Verdict, fmt.Sprintf("rule %d %ss", r.Handle, r.Verdict)
			break
		}
		if verdict == "" {
			verdict, why = c.Policy, "policy "+c.Policy
		}
		if verdict != "accept" {
			allowed = false
		}
		line := fmt.Sprintf("%s: %s", c, why)
		if len(notes) > 0 {
			line += " (" + strings.Join(notes, "; ") + ")"
		}
		how = append(how, line)
	}
	return allowed, strings.Join(how, "; "), nil
}
