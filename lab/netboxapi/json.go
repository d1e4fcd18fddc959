package netboxapi

import "strings"

// The answers' shapes: NetBox 4.3's, with every field its OpenAPI schema requires (nullable ones
// sent as null, as NetBox sends them). TestAnswersMatchNetBoxSchema holds them to the schema.

type list[T any] struct {
	Count    int     `json:"count"`
	Next     *string `json:"next"`
	Previous *string `json:"previous"`
	Results  []T     `json:"results"`
}

type object struct {
	ID         int    `json:"id"`
	URL        string `json:"url"`
	DisplayURL string `json:"display_url,omitempty"`
	Display    string `json:"display"`
}

// meta is what every full object ends with.
type meta struct {
	Description  string         `json:"description"`
	Comments     string         `json:"comments"`
	Tags         []any          `json:"tags"`
	CustomFields map[string]any `json:"custom_fields"`
	Created      *string        `json:"created"`
	LastUpdated  *string        `json:"last_updated"`
}

func newMeta() meta { return meta{Tags: []any{}, CustomFields: map[string]any{}} }

type choiceJSON struct {
	Value string `json:"value"`
	Label string `json:"label"`
}

// choice is a status as NetBox writes it: the value and its label ("dhcp" is "DHCP").
func choice(v string) choiceJSON {
	labels := map[string]string{"dhcp": "DHCP", "slaac": "SLAAC"}
	label, ok := labels[v]
	if !ok && v != "" {
		label = strings.ToUpper(v[:1]) + v[1:]
	}
	return choiceJSON{Value: v, Label: label}
}

type familyJSON struct {
	Value int    `json:"value"`
	Label string `json:"label"`
}

type vlanJSON struct {
	object
	VID         int    `json:"vid"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

// slugJSON is a brief object with a slug: tenant, site, cluster type.
type slugJSON struct {
	object
	Name        string `json:"name"`
	Slug        string `json:"slug"`
	Description string `json:"description"`
}

type nameJSON struct {
	object
	Name        string `json:"name"`
	Description string `json:"description"`
}

type prefixJSON struct {
	object
	meta
	Family       familyJSON     `json:"family"`
	Prefix       string         `json:"prefix"`
	VRF          any            `json:"vrf"`
	ScopeType    *string        `json:"scope_type"`
	ScopeID      *int           `json:"scope_id"`
	Scope        map[string]any `json:"scope"`
	Tenant       *slugJSON      `json:"tenant"`
	VLAN         *vlanJSON      `json:"vlan"`
	Status       choiceJSON     `json:"status"`
	Role         any            `json:"role"`
	IsPool       bool           `json:"is_pool"`
	MarkUtilized bool           `json:"mark_utilized"`
	Children     int            `json:"children"`
	Depth        int            `json:"_depth"`
}

type addressJSON struct {
	object
	meta
	Family             familyJSON     `json:"family"`
	Address            string         `json:"address"`
	VRF                any            `json:"vrf"`
	Tenant             any            `json:"tenant"`
	Status             choiceJSON     `json:"status"`
	Role               any            `json:"role"`
	AssignedObjectType *string        `json:"assigned_object_type"`
	AssignedObjectID   *int           `json:"assigned_object_id"`
	AssignedObject     map[string]any `json:"assigned_object"`
	NATInside          any            `json:"nat_inside"`
	NATOutside         []any          `json:"nat_outside"`
	DNSName            string         `json:"dns_name"`
}

type vmJSON struct {
	object
	meta
	Name             string         `json:"name"`
	Status           choiceJSON     `json:"status"`
	Site             *slugJSON      `json:"site"`
	Cluster          *nameJSON      `json:"cluster"`
	Device           any            `json:"device"`
	Serial           string         `json:"serial"`
	Role             any            `json:"role"`
	Tenant           any            `json:"tenant"`
	Platform         any            `json:"platform"`
	PrimaryIP        any            `json:"primary_ip"`
	PrimaryIP4       any            `json:"primary_ip4"`
	PrimaryIP6       any            `json:"primary_ip6"`
	VCPUs            *float64       `json:"vcpus"`
	Memory           *int           `json:"memory"`
	Disk             *int           `json:"disk"`
	ConfigTemplate   any            `json:"config_template"`
	LocalContextData any            `json:"local_context_data"`
	ConfigContext    map[string]any `json:"config_context"`
	InterfaceCount   int            `json:"interface_count"`
	VirtualDiskCount int            `json:"virtual_disk_count"`
}

type siteJSON struct {
	object
	meta
	Name                string         `json:"name"`
	Slug                string         `json:"slug"`
	Status              choiceJSON     `json:"status"`
	Region              any            `json:"region"`
	Group               map[string]any `json:"group"`
	Tenant              any            `json:"tenant"`
	Facility            string         `json:"facility"`
	TimeZone            *string        `json:"time_zone"`
	PhysicalAddress     string         `json:"physical_address"`
	ShippingAddress     string         `json:"shipping_address"`
	Latitude            *float64       `json:"latitude"`
	Longitude           *float64       `json:"longitude"`
	ASNs                []any          `json:"asns"`
	CircuitCount        int            `json:"circuit_count"`
	DeviceCount         int            `json:"device_count"`
	PrefixCount         int            `json:"prefix_count"`
	RackCount           int            `json:"rack_count"`
	VirtualMachineCount int            `json:"virtualmachine_count"`
	VLANCount           int            `json:"vlan_count"`
}

type clusterJSON struct {
	object
	meta
	Name                string         `json:"name"`
	Type                slugJSON       `json:"type"`
	Group               any            `json:"group"`
	Status              choiceJSON     `json:"status"`
	Tenant              any            `json:"tenant"`
	ScopeType           *string        `json:"scope_type"`
	ScopeID             *int           `json:"scope_id"`
	Scope               map[string]any `json:"scope"`
	DeviceCount         int            `json:"device_count"`
	VirtualMachineCount int            `json:"virtualmachine_count"`
	AllocatedVCPUs      *float64       `json:"allocated_vcpus"`
	AllocatedMemory     *int           `json:"allocated_memory"`
	AllocatedDisk       *int           `json:"allocated_disk"`
}
