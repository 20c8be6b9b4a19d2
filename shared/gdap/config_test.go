package gdap

import (
	"strings"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/config"
)

func TestParseDuration(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"P730D", 730 * day, true},
		{"P2Y", 730 * day, true},
		{"P1D", day, true},
		{"P180D", 180 * day, true},
		{"PT0S", 0, true},
		{"P0D", 0, true},
		{"P1Y6M", 545 * day, true},
		{"P2W", 14 * day, true},
		{"P1DT12H", 36 * time.Hour, true},
		{"PT36H30M15S", 36*time.Hour + 30*time.Minute + 15*time.Second, true},
		{"", 0, false},
		{"P", 0, false},
		{"PT", 0, false},
		{"730D", 0, false},
		{"P1DT", 0, false},
		{"PD", 0, false},
		{"P1D1Y", 0, false}, // designators out of order
		{"P1D1D", 0, false},
		{"P-1D", 0, false},
		{"P1.5D", 0, false},
		{"P1H", 0, false}, // hours belong after T
		{"P9999999D", 0, false},
		{"p730d", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestConfigFromEnv(t *testing.T) {
	const group = "869713c9-0b28-4d08-8949-ae07ae1bf528"
	tests := []struct {
		name    string
		env     map[string]string
		wantErr []string // variables the error must name; none: valid
		check   func(t *testing.T, c Config)
	}{
		{"defaults", map[string]string{}, nil, func(t *testing.T, c Config) {
			if strings.Join(c.Roles, ",") != DirectoryReaders+","+ServiceSupportAdmin || c.Duration != "P730D" || c.AutoExtend != "P180D" ||
				c.SecurityGroupID != "" || len(c.AssignmentRoles()) != 2 || !c.AutoExtends() {
				t.Fatalf("%+v", c)
			}
		}},
		{"everything set", map[string]string{
			"GDAP_ROLES": " 88D8E3E3-8F55-4A1E-953A-9B9898B8876B , " + GlobalAdministrator, "GDAP_DURATION": "P2Y", "GDAP_AUTO_EXTEND": "PT0S",
			"GDAP_SECURITY_GROUP_ID": group, "GDAP_ACCESS_ROLES": DirectoryReaders,
		}, nil, func(t *testing.T, c Config) {
			if len(c.Roles) != 2 || c.Roles[0] != DirectoryReaders || c.AutoExtends() || c.SecurityGroupID != group ||
				len(c.AssignmentRoles()) != 1 || c.AssignmentRoles()[0] != DirectoryReaders {
				t.Fatalf("%+v", c)
			}
		}},
		{"Global Administrator with auto-extend", map[string]string{"GDAP_ROLES": DirectoryReaders + "," + GlobalAdministrator}, []string{"GDAP_ROLES", "Global Administrator"}, nil},
		{"a role that is not a GUID", map[string]string{"GDAP_ROLES": "Directory Readers"}, []string{"GDAP_ROLES"}, nil},
		{"only commas", map[string]string{"GDAP_ROLES": " , "}, nil, func(t *testing.T, c Config) {
			if len(c.Roles) != 2 {
				t.Fatalf("roles %v, want the default", c.Roles)
			}
		}},
		{"duration too long", map[string]string{"GDAP_DURATION": "P731D"}, []string{"GDAP_DURATION"}, nil},
		{"duration too short", map[string]string{"GDAP_DURATION": "PT23H"}, []string{"GDAP_DURATION"}, nil},
		{"duration not ISO 8601", map[string]string{"GDAP_DURATION": "730d"}, []string{"GDAP_DURATION"}, nil},
		{"auto-extend Graph does not allow", map[string]string{"GDAP_AUTO_EXTEND": "P90D"}, []string{"GDAP_AUTO_EXTEND"}, nil},
		{"group not a GUID", map[string]string{"GDAP_SECURITY_GROUP_ID": "admins"}, []string{"GDAP_SECURITY_GROUP_ID"}, nil},
		{"access roles outside the relationship", map[string]string{"GDAP_ACCESS_ROLES": GlobalAdministrator}, []string{"GDAP_ACCESS_ROLES"}, nil},
		{"several problems at once", map[string]string{"GDAP_DURATION": "P3Y", "GDAP_AUTO_EXTEND": "yes"}, []string{"GDAP_DURATION", "GDAP_AUTO_EXTEND"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := config.FromMap(tt.env)
			c := ConfigFromEnv(env)
			err := env.Err()
			if len(tt.wantErr) == 0 {
				if err != nil || c.Validate() != nil {
					t.Fatalf("unexpected error: %v / %v", err, c.Validate())
				}
				tt.check(t, c)
				return
			}
			if err == nil || c.Validate() == nil {
				t.Fatal("accepted")
			}
			for _, v := range tt.wantErr {
				if !strings.Contains(err.Error(), v) {
					t.Errorf("error %q does not name %s", err, v)
				}
			}
		})
	}
}

func TestFromEnv(t *testing.T) {
	env := config.FromMap(map[string]string{"GRAPH_ENDPOINT": "http://graph.local"})
	FromEnv(env, nil)
	if err := env.Err(); err == nil || !strings.Contains(err.Error(), "GRAPH_ENDPOINT") {
		t.Fatalf("err %v", err)
	}
	env = config.FromMap(map[string]string{})
	if c := FromEnv(env, nil); env.Err() != nil || c.Endpoint != DefaultEndpoint {
		t.Fatalf("%v, %s", env.Err(), c.Endpoint)
	}
}

func TestDisplayName(t *testing.T) {
	a, b := DisplayName("prv_01hx9z8y7w6v5t4s3r2q1p0n9m"), DisplayName("prv_01hx9z8y7w6v5t4s3r2q1p0n9n")
	if a != "Partner Cloud prv_01hx9z8y7w6v5t4s3r2q1p0n9m" || a == b || DisplayName("prv_01hx9z8y7w6v5t4s3r2q1p0n9m") != a {
		t.Fatalf("%q / %q", a, b)
	}
	long := DisplayName(strings.Repeat("x", 60))
	odd := DisplayName("it's <odd>")
	if len(long) > MaxDisplayName || !strings.HasPrefix(long, DisplayNamePrefix) || long == DisplayName(strings.Repeat("x", 61)) ||
		len(odd) > MaxDisplayName || strings.ContainsAny(odd, "'<>") {
		t.Fatalf("%q / %q", long, odd)
	}
}

func TestLinks(t *testing.T) {
	l := Links{PartnerTenantID: "8777b240-c6f0-4469-9e98-a3205431b836"}
	if got := l.Approval("5d027261-d21f-4aa9-b7db-7fa1f56fb163-8777b240-c6f0-4469-9e98-a3205431b836"); got !=
		"https://admin.microsoft.com/AdminPortal/Home#/partners/invitation/granularAdminRelationships/5d027261-d21f-4aa9-b7db-7fa1f56fb163-8777b240-c6f0-4469-9e98-a3205431b836" {
		t.Fatal(got)
	}
	if got := l.ResellerInvitation(); got !=
		"https://admin.microsoft.com/Adminportal/Home?invType=ResellerRelationship&partnerId=8777b240-c6f0-4469-9e98-a3205431b836&msppId=0&DAP=false#/BillingAccounts/partner-invitation" {
		t.Fatal(got)
	}
	env := config.FromMap(map[string]string{"ADMIN_CENTER_URL": "https://127.0.0.1:8443/", "PARTNER_TENANT_ID": "p"})
	l = LinksFromEnv(env)
	if env.Err() != nil || l.Approval("r/1") != "https://127.0.0.1:8443/AdminPortal/Home#/partners/invitation/granularAdminRelationships/r%2F1" {
		t.Fatalf("%v %s", env.Err(), l.Approval("r/1"))
	}
	env = config.FromMap(map[string]string{"ADMIN_CENTER_URL": "admin.microsoft.com"})
	LinksFromEnv(env)
	if err := env.Err(); err == nil || !strings.Contains(err.Error(), "ADMIN_CENTER_URL") || !strings.Contains(err.Error(), "PARTNER_TENANT_ID") {
		t.Fatalf("err %v", err)
	}
}
