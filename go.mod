module github.com/cutover/cutover

go 1.26.0

require (
	github.com/gliderlabs/ssh v0.3.8
	github.com/hiddeco/sshsig v0.2.0
	github.com/kevinburke/ssh_config v1.6.0
	github.com/prometheus-community/pro-bing v0.9.1
	github.com/spf13/cobra v1.10.2
	github.com/vmware/govmomi v0.56.0
	golang.org/x/crypto v0.59.0
	golang.org/x/sys v0.50.0
	gopkg.in/yaml.v3 v3.0.1
)

require (
	github.com/anmitsu/go-shlex v0.0.0-20200514113438-38f4b401e2be // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/spf13/pflag v1.0.9 // indirect
	golang.org/x/net v0.62.0 // indirect
	golang.org/x/sync v0.21.0 // indirect
)
