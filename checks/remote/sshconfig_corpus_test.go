package remote

import "os"

// oracleCorpus: each case is a small world of ssh_config files; OpenSSH decides what it means.
var oracleCorpus = []oracleCase{
	{name: "plain", files: map[string]string{"home/.ssh/config": `
Host web
  HostName web-01.example
  User deploy
  Port 2222
`}, aliases: []string{"web", "other"}},
	{name: "first value wins", files: map[string]string{"home/.ssh/config": `
Host web
  User first
Host web *.example
  User second
  Port 2200
Host *
  Port 2201
  User = last
`}, aliases: []string{"web", "db.example", "x"}},
	{name: "patterns and negation", files: map[string]string{"home/.ssh/config": `
Host * !bastion
  ProxyJump bastion
Host bastion
  HostName 10.0.0.1
  User jump
Host app-? db-*
  User app
`}, aliases: []string{"bastion", "app-1", "app-12", "db-main", "solo"}},
	{name: "identity files, certificates, IdentitiesOnly", files: map[string]string{"home/.ssh/config": `
Host web
  HostName web-01.example
  User deploy
  IdentityFile ~/.ssh/id_%h
  IdentityFile ~/.ssh/id_%r_as_%u
  IdentityFile "~/.ssh/with space"
  IdentityFile ~/.ssh/id_%h
  CertificateFile ~/.ssh/id_%h-cert.pub
  IdentitiesOnly yes
Host *
  IdentityFile ~/.ssh/common
  IdentitiesOnly no
`}, aliases: []string{"web", "other"}},
	{name: "every token", files: map[string]string{"home/.ssh/config": `
Host t
  HostName Target.Example
  User ops
  Port 2022
  HostKeyAlias Alias-T
  UserKnownHostsFile ~/.ssh/kh_%h_%p_%r_%u_%n_%C_%d_%i_%L_%l_%k_%% /var/kh/${CUTOVER_T}
  IdentityAgent ~/.ssh/agent.%h.%r.${CUTOVER_T}
  GlobalKnownHostsFile /etc/ssh/global_%h
Host u
  IdentityAgent SSH_AUTH_SOCK
Host v
  IdentityAgent none
  UserKnownHostsFile none
`}, aliases: []string{"t", "u", "v"}},
	{name: "unknown token refused", files: map[string]string{"home/.ssh/config": `
Host bad
  UserKnownHostsFile ~/.ssh/kh_%Q
`}, aliases: []string{"bad", "fine"}},
	{name: "hostname token and case", files: map[string]string{"home/.ssh/config": `
Host *.inner
  HostName %h.Example.NET
  ProxyJump j1,deploy@j2:2222
Host WEB
  User upper
Host ip
  HostName 10.1.2.3
Host v6
  HostName fd00::1
`}, aliases: []string{"a.inner", "WEB", "web", "ip", "v6"}},
	{name: "jump and proxy command", files: map[string]string{"home/.ssh/config": `
Host pc
  ProxyCommand nc -X connect -x proxy:3128 %h %p   # keeps the comment too
  ProxyJump later
Host pj
  ProxyJump ssh://ops@j1.example:2200
  ProxyCommand never
Host none
  ProxyJump none
  ProxyCommand also-never
Host ipjump
  ProxyJump first,root@10.0.0.9:22
Host v6jump
  ProxyJump [fd00::9]:2222
`}, aliases: []string{"pc", "pj", "none", "ipjump", "v6jump"}},
	{name: "include", files: map[string]string{
		"home/.ssh/config": `
Include conf.d/*.conf
Host web
  Include web.d/extra
  User from-main
Host *
  Port 2000
`,
		"home/.ssh/conf.d/10-a.conf": `
Host db
  User from-10
`,
		"home/.ssh/conf.d/20-b.conf": `
Host db web
  User from-20
  Port 2020
Match user nobody
  Port 1
`,
		"home/.ssh/web.d/extra": `
IdentityFile ~/.ssh/web
Host db
  IdentityFile ~/.ssh/db-from-web-include
`,
	}, aliases: []string{"db", "web", "other"}},
	{name: "system file after user file", files: map[string]string{
		"home/.ssh/config": `
Host web
  User mine
`,
		"etc/ssh_config": `
Include /etc/ssh/ssh_config.d/*.conf
Host *
  User system
  Port 2201
  GlobalKnownHostsFile /etc/ssh/known_global
`,
		"etc/ssh_config.d/site.conf": `
Host db
  HostName db.site.example
`,
	}, aliases: []string{"web", "db", "x"}},
	{name: "explicit file skips the system file", explicit: "alt.conf", files: map[string]string{
		"home/alt.conf": `
Host web
  User alt
`,
		"etc/ssh_config": `
Host *
  User system
  Port 2201
`,
	}, aliases: []string{"web", "x"}},
	{name: "match", files: map[string]string{"home/.ssh/config": `
Host a
  HostName a.example
Match host a.example
  User matched-by-hostname
Match originalhost a
  Port 2001
Match host b !originalhost c
  User b-not-c
Match user ops
  IdentityFile ~/.ssh/ops
Match localuser root,nobody
  IdentityFile ~/.ssh/local
Match exec "test %h = a.example"
  IdentityAgent /run/agent-exec-%n
Match !host a.example exec "false"
  Port 9
Host x
  User ops
Match final all
  CertificateFile ~/.ssh/final-%h
Match canonical host a.example
  HostKeyAlias canon
Match all
  IdentitiesOnly yes
`}, aliases: []string{"a", "b", "c", "x"}},
	{name: "final pass sees the resolved name", files: map[string]string{"home/.ssh/config": `
Host short
  HostName long.example
Host long.example
  User by-host-line-in-final-pass
Match final host long.example
  Port 2345
`}, aliases: []string{"short", "long.example"}},
	{name: "syntax", files: map[string]string{"home/.ssh/config": `
# comment
Host=eq
	HostName=eq.example
  Port = 2121
HOST Quoted
  USER "a b"
Host bad-port
  Port 70000
`}, aliases: []string{"eq", "Quoted", "bad-port"}},
	{name: "unknown keyword refused", files: map[string]string{"home/.ssh/config": `
Host a
  HostNmae typo.example
`}, aliases: []string{"a"}},
	{name: "IgnoreUnknown", files: map[string]string{"home/.ssh/config": `
IgnoreUnknown UseKeychain,Frob*
Host a
  UseKeychain yes
  FrobNicate 1
  User ok
`}, aliases: []string{"a"}},
	{name: "group-writable include refused", files: map[string]string{
		"home/.ssh/config": "Include ~/.ssh/loose\n",
		"home/.ssh/loose":  "Host a\n  User loose\n",
	}, modes: map[string]os.FileMode{"home/.ssh/loose": 0o666}, aliases: []string{"a"}},
	{name: "group-writable user config refused", files: map[string]string{
		"home/.ssh/config": "Host a\n  User loose\n",
	}, modes: map[string]os.FileMode{"home/.ssh/config": 0o664}, aliases: []string{"a"}},
}
