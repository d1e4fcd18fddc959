package remote

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// The ssh_config reader follows OpenSSH 9.2's readconf.c, not a model of it: the same tokenizer,
// Include rules, permission checks and keyword set, so that a file ssh accepts is read the same way
// and a file ssh refuses is refused here, naming file and line.

// directive is one line of an ssh_config file.
type directive struct {
	key  string   // lower case
	args []string // split as OpenSSH splits: quotes, backslash escapes, # ends the line
	raw  string   // the text after the keyword, for ProxyCommand which takes it whole
	// unknown is a keyword OpenSSH does not know: an error where it is read, unless IgnoreUnknown
	// names it.
	unknown bool
	file    string
	line    int
	incl    []*cfgFile // for Include: the files it names, in glob order
}

func (d directive) where() string { return fmt.Sprintf("%s line %d", d.file, d.line) }

// cfgFile is one parsed file; Include directives carry the files they name.
type cfgFile struct {
	path string
	dirs []directive
}

// maxIncludeDepth is OpenSSH's READCONF_MAX_DEPTH.
const maxIncludeDepth = 16

// cfgReader reads a config tree: user files may use ~ and resolve relative Includes in ~/.ssh,
// system files in /etc/ssh (sysDir).
type cfgReader struct {
	home, sysDir string
	uid          int
	files        *int // read so far: Includes that include each other stop at maxConfigFiles
}

// maxConfigFiles bounds the files one config tree reads: a glob that includes itself would
// otherwise read its folder's files to the 16th power.
const maxConfigFiles = 256

// maxConfigBytes bounds one config file.
const maxConfigBytes = 4 << 20

// read parses path; a missing file is nil, like ssh. checkPerm refuses a file another user could
// have written (ssh: "Bad owner or permissions").
func (r cfgReader) read(path string, user, checkPerm bool, depth int) (*cfgFile, error) {
	if depth > maxIncludeDepth {
		return nil, fmt.Errorf("ssh config %s: too many nested Includes (more than %d)", path, maxIncludeDepth)
	}
	if *r.files++; *r.files > maxConfigFiles {
		return nil, fmt.Errorf("ssh config %s: more than %d files read through Include: do the Includes include each other?", path, maxConfigFiles)
	}
	// A FIFO or device would hang or never end: only regular files, and not huge ones.
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ssh config: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("ssh config %s: not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("ssh config: %w", err)
	}
	defer f.Close()
	if checkPerm {
		if err := checkOwner(f, path, r.uid); err != nil {
			return nil, err
		}
	}
	data, err := io.ReadAll(io.LimitReader(f, maxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("ssh config: %w", err)
	}
	if len(data) > maxConfigBytes {
		return nil, fmt.Errorf("ssh config %s: larger than %d MiB", path, maxConfigBytes>>20)
	}
	cf := &cfgFile{path: path}
	for i, line := range strings.Split(string(data), "\n") {
		d, ok, err := parseLine(line)
		if err != nil {
			return nil, fmt.Errorf("ssh config %s line %d: %w", path, i+1, err)
		}
		if !ok {
			continue
		}
		d.file, d.line = path, i+1
		if d.key == "include" {
			if d.incl, err = r.include(d, user, depth); err != nil {
				return nil, err
			}
		}
		cf.dirs = append(cf.dirs, d)
	}
	return cf, nil
}

// include reads the files an Include names: relative to ~/.ssh in a user file, /etc/ssh in a
// system file; globbed; a pattern matching nothing is not an error.
func (r cfgReader) include(d directive, user bool, depth int) ([]*cfgFile, error) {
	var out []*cfgFile
	for _, arg := range d.args {
		p := arg
		switch {
		case strings.HasPrefix(p, "~") && !user:
			return nil, fmt.Errorf("ssh config %s: bad include path %s (~ only in a user's config)", d.where(), arg)
		case strings.HasPrefix(p, "~"):
			p = expandTilde(p, r.home)
		case !filepath.IsAbs(p) && user:
			p = filepath.Join(r.home, ".ssh", p)
		case !filepath.IsAbs(p):
			p = filepath.Join(r.sysDir, p)
		}
		matches, err := filepath.Glob(p)
		if err != nil {
			return nil, fmt.Errorf("ssh config %s: Include %s: %w", d.where(), arg, err)
		}
		for _, m := range matches {
			f, err := r.read(m, user, true, depth+1)
			if err != nil {
				return nil, err
			}
			if f != nil {
				out = append(out, f)
			}
		}
	}
	return out, nil
}

// parseLine splits one line into keyword and arguments; ok is false for blank lines and comments.
func parseLine(line string) (directive, bool, error) {
	line = strings.TrimRight(line, " \t\r\n\f")
	line = strings.TrimLeft(line, " \t")
	if line == "" || line[0] == '#' {
		return directive{}, false, nil
	}
	// The keyword ends at whitespace or a single '=' (OpenSSH's strdelim).
	end := strings.IndexAny(line, " \t=")
	if end < 0 {
		return directive{}, false, fmt.Errorf("no argument after keyword %q", line)
	}
	key := strings.ToLower(line[:end])
	rest := strings.TrimLeft(line[end:], " \t")
	if strings.HasPrefix(rest, "=") {
		rest = strings.TrimLeft(rest[1:], " \t")
	}
	if rest == "" {
		return directive{}, false, fmt.Errorf("no argument after keyword %q", key)
	}
	args, err := splitArgs(rest)
	if err != nil {
		return directive{}, false, err
	}
	if len(args) == 0 {
		return directive{}, false, fmt.Errorf("no argument after keyword %q", key)
	}
	return directive{key: key, args: args, raw: rest, unknown: !knownKeyword[key]}, true, nil
}

// splitArgs is OpenSSH's argv_split: quotes group, backslash escapes a quote, a backslash or (outside
// quotes) a space, and an unquoted # at a word's start ends the line.
func splitArgs(s string) ([]string, error) {
	var out []string
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' || s[i] == '\t' {
			continue
		}
		if s[i] == '#' {
			break
		}
		var b strings.Builder
		var quote byte
		for ; i < len(s); i++ {
			c := s[i]
			switch {
			case c == '\\' && i+1 < len(s) && (s[i+1] == '\'' || s[i+1] == '"' || s[i+1] == '\\' || (quote == 0 && s[i+1] == ' ')):
				i++
				b.WriteByte(s[i])
				continue
			case quote == 0 && (c == ' ' || c == '\t'):
			case quote == 0 && (c == '"' || c == '\''):
				quote = c
				continue
			case quote != 0 && c == quote:
				quote = 0
				continue
			default:
				b.WriteByte(c)
				continue
			}
			break
		}
		if quote != 0 {
			return nil, errors.New("invalid quotes")
		}
		out = append(out, b.String())
	}
	return out, nil
}

// knownKeyword is OpenSSH's keyword table (current portable, a superset of 9.2's): a config that a
// newer ssh accepts is not refused here; a typo is, as ssh refuses it.
var knownKeyword = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range strings.Fields(`protocol cipher fallbacktorsh globalknownhostsfile2 rhostsauthentication
		userknownhostsfile2 useroaming usersh useprivilegedport afstokenpassing kerberosauthentication
		kerberostgtpassing rsaauthentication rhostsrsaauthentication compressionlevel gssapiauthentication
		gssapidelegatecredentials pkcs11provider smartcarddevice forwardagent forwardx11 forwardx11trusted
		forwardx11timeout exitonforwardfailure xauthlocation gatewayports passwordauthentication
		kbdinteractiveauthentication kbdinteractivedevices challengeresponseauthentication
		skeyauthentication tisauthentication pubkeyauthentication dsaauthentication
		hostbasedauthentication identityfile identityfile2 identitiesonly certificatefile addkeystoagent
		identityagent hostname hostkeyalias proxycommand port ciphers macs remoteforward localforward
		permitremoteopen user host match tag escapechar globalknownhostsfile userknownhostsfile
		connectionattempts batchmode checkhostip stricthostkeychecking compression tcpkeepalive keepalive
		numberofpasswordprompts syslogfacility loglevel logverbose dynamicforward preferredauthentications
		hostkeyalgorithms casignaturealgorithms bindaddress bindinterface clearallforwardings
		enablesshkeysign verifyhostkeydns nohostauthenticationforlocalhost rekeylimit connecttimeout
		addressfamily serveraliveinterval serveralivecountmax sendenv setenv controlpath controlmaster
		controlpersist hashknownhosts include tunnel tunneldevice localcommand permitlocalcommand
		remotecommand visualhostkey kexalgorithms ipqos requesttty sessiontype stdinnull
		forkafterauthentication proxyusefdpass canonicaldomains canonicalizefallbacklocal
		canonicalizehostname canonicalizemaxdots canonicalizepermittedcnames streamlocalbindmask
		streamlocalbindunlink revokedhostkeys fingerprinthash updatehostkeys hostbasedacceptedalgorithms
		hostbasedkeytypes pubkeyacceptedalgorithms pubkeyacceptedkeytypes ignoreunknown proxyjump
		securitykeyprovider knownhostscommand requiredrsasize enableescapecommandline
		obscurekeystroketiming channeltimeout versionaddendum refuseconnection warnweakcrypto`) {
		m[k] = true
	}
	return m
}()

// expandTilde expands ~ and ~/ against home and ~user/ against that user's home.
func expandTilde(p, home string) string {
	if p == "~" {
		return home
	}
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		return filepath.Join(home, rest)
	}
	if strings.HasPrefix(p, "~") {
		name, rest, _ := strings.Cut(p[1:], "/")
		if h := userHome(name); h != "" {
			return filepath.Join(h, rest)
		}
	}
	return p
}
