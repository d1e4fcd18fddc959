// Package vcsimtest starts govmomi's vCenter simulator for tests, served over https with a
// self-signed certificate and a password, as a fresh vCenter is, and stops it when the test ends.
package vcsimtest

import (
	"crypto/tls"
	"net/url"
	"testing"

	"github.com/vmware/govmomi/simulator"
)

// VCenter is a running simulator and how to reach it, as govc's GOVC_* variables say it.
type VCenter struct {
	Model    *simulator.Model
	Server   *simulator.Server
	Host     string // host:port, GOVC_URL
	Username string
	Password string
	CACerts  string // PEM file of its certificate, GOVC_TLS_CA_CERTS
}

// Start runs a VPX model: datacenters, each with clusters of hostsPerCluster hosts and one VM per
// host (every cluster's root pool is named "Resources").
func Start(t testing.TB, datacenters, clusters, hostsPerCluster int) *VCenter {
	t.Helper()
	return StartVMs(t, datacenters, clusters, hostsPerCluster, 1)
}

// StartVMs is Start with vms VMs in each cluster.
func StartVMs(t testing.TB, datacenters, clusters, hostsPerCluster, vms int) *VCenter {
	t.Helper()
	m := simulator.VPX()
	m.Datacenter, m.Cluster, m.ClusterHost, m.Host, m.Machine = datacenters, clusters, hostsPerCluster, 0, vms
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	m.Service.TLS = new(tls.Config)
	m.Service.RegisterEndpoints = true // the tag API, where a test imports vapi/simulator
	m.Service.Listen = &url.URL{User: url.UserPassword("administrator@vsphere.local", "VMware1!-test")}
	s := m.Service.NewServer()
	t.Cleanup(func() { s.Close(); m.Remove() })
	ca, err := s.CertificateFile()
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := s.URL.User.Password()
	return &VCenter{Model: m, Server: s, Host: s.URL.Host, Username: s.URL.User.Username(), Password: pw, CACerts: ca}
}
